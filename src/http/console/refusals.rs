//! Webhooks refused for their signature, per store and per hour, for the last day: what the
//! stores overview shows and reads "rising" from. In this process's memory, like the admin
//! API's since-start counter (each replica counts what it received).

use std::collections::HashMap;
use std::sync::Mutex;

const HOUR_MS: i64 = 3_600_000;
/// Hours kept: a day, and the current hour.
const SLOTS: usize = 25;

/// Per store: (hour number since the epoch, refusals in it), one slot per hour of the day.
#[derive(Default)]
pub struct RecentRefusals {
    by_store: Mutex<HashMap<String, [(i64, u32); SLOTS]>>,
}

impl RecentRefusals {
    /// Counts one refusal for `store` at `now_ms`. Only configured stores get here (an unknown
    /// store id is a 404 before any signature is checked), so the map stays small.
    pub fn record(&self, store: &str, now_ms: i64) {
        let hour = now_ms.div_euclid(HOUR_MS);
        let mut map = self.by_store.lock().unwrap_or_else(|e| e.into_inner());
        let slots = map
            .entry(store.to_owned())
            .or_insert([(i64::MIN, 0); SLOTS]);
        let slot = &mut slots[hour.rem_euclid(SLOTS as i64) as usize];
        if slot.0 != hour {
            *slot = (hour, 0);
        }
        slot.1 = slot.1.saturating_add(1);
    }

    /// Refusals in the `hours` hours ending with the current one (`hours` ≤ 25), skipping the
    /// `skip` most recent hours: `between(s, now, 0, 24)` is the last day, to the hour.
    pub fn between(&self, store: &str, now_ms: i64, skip: i64, hours: i64) -> u64 {
        let hour = now_ms.div_euclid(HOUR_MS);
        let map = self.by_store.lock().unwrap_or_else(|e| e.into_inner());
        let Some(slots) = map.get(store) else {
            return 0;
        };
        let newest = hour - skip;
        let oldest = newest - hours.clamp(0, SLOTS as i64) + 1;
        slots
            .iter()
            .filter(|(h, _)| (oldest..=newest).contains(h))
            .map(|(_, n)| u64::from(*n))
            .sum()
    }

    /// The last 24 hours.
    pub fn last_day(&self, store: &str, now_ms: i64) -> u64 {
        self.between(store, now_ms, 0, 24)
    }

    /// More refusals in the last 3 hours than in the 3 before: a secret rotated on one side
    /// only, or someone probing.
    pub fn rising(&self, store: &str, now_ms: i64) -> bool {
        self.between(store, now_ms, 0, 3) > self.between(store, now_ms, 3, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_of_hours_is_counted_and_older_ones_forgotten() {
        let r = RecentRefusals::default();
        let t0 = 1_000 * HOUR_MS;
        r.record("acme", t0 - 30 * HOUR_MS);
        r.record("acme", t0 - 5 * HOUR_MS);
        r.record("acme", t0 - 5 * HOUR_MS);
        r.record("acme", t0);
        assert_eq!(r.last_day("acme", t0), 3, "the 30-hour-old one is out");
        assert_eq!(r.last_day("atlas", t0), 0);
        // Last 3 hours: 1; the 3 before: 2.
        assert!(!r.rising("acme", t0));
        r.record("acme", t0 + 1);
        r.record("acme", t0 + 2);
        assert!(r.rising("acme", t0));
        // A day later, all of it is gone, even where a slot is reused.
        let later = t0 + 25 * HOUR_MS;
        r.record("acme", later);
        assert_eq!(r.last_day("acme", later), 1);
    }
}
