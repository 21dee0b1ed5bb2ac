//! Per Buzzbip account pacing: a token bucket per account, so a burst of orders drains at the
//! configured rate instead of drawing 429s.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::jobs::{SendSlots, SlotWait};
use crate::stores::Store;

/// Waits longer than this go back to the queue rather than holding a worker slot.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(2);

/// With PostgreSQL the budget lives in the database (every replica draws from it: `shared`);
/// with SQLite (one process), or when the database's ledger fails, a governor token bucket
/// does the same in memory.
pub struct Pacer {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    interval: Duration,
    shared: Option<Arc<dyn SendSlots>>,
}

impl Pacer {
    pub fn new(per_second: u32, shared: Option<Arc<dyn SendSlots>>) -> Self {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_second(rate)),
            clock: DefaultClock::default(),
            interval: Duration::from_secs(1) / rate.get(),
            shared,
        }
    }

    /// Takes a send slot for the store's account, sleeping for it when that is short; returns
    /// the wait when it is long (the caller requeues the job for then).
    pub async fn wait(&self, store: &Store) -> Option<Duration> {
        let key = format!("{}|{}", store.buzzbip.base_url, store.buzzbip.username);
        if let Some(shared) = &self.shared {
            match shared
                .reserve_send_slot(&key, self.interval, MAX_INLINE_WAIT)
                .await
            {
                Ok(SlotWait::Go(wait)) => {
                    tokio::time::sleep(wait).await;
                    return None;
                }
                Ok(SlotWait::Later(wait)) => return Some(wait),
                Err(e) => {
                    tracing::warn!(error = %e, "shared pacing unavailable; pacing in-process")
                }
            }
        }
        loop {
            match self.limiter.check_key(&key) {
                Ok(()) => return None,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(self.clock.now());
                    if wait > MAX_INLINE_WAIT {
                        return Some(wait);
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Forgets idle accounts (governor's keyed map never shrinks on its own).
    pub fn shrink(&self) {
        self.limiter.retain_recent();
    }
}
