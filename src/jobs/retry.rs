//! The one retry schedule of the job store: exponential, capped, ±20 % jitter, and Buzzbip's
//! `Retry-After` wins when it gave one.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub cap: Duration,
    /// Attempts before a job goes `dead`.
    pub max_attempts: u32,
    /// Fraction of random spread around each delay, so retries of a burst do not land together.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 10 s, 20 s, 40 s … capped at 1 h: 12 attempts span about 5 hours, longer than a
    /// typical Buzzbip outage and shorter than a customer's patience for an invoice.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(3600),
            max_attempts: 12,
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt, after `attempts` attempts (1 = the first failed).
    pub fn delay(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            // Honoured as given, within reason: a day at most.
            return after.min(Duration::from_secs(24 * 3600));
        }
        let exp = attempts.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exp.min(20)).min(self.cap);
        let spread = 1.0 + self.jitter * (rand::random::<f64>() * 2.0 - 1.0);
        raw.mul_f64(spread.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_within_jitter_and_cap() {
        let p = RetryPolicy::default();
        for (attempt, nominal) in [
            (1u32, 10.0),
            (2, 20.0),
            (3, 40.0),
            (9, 2560.0),
            (12, 3600.0),
        ] {
            for _ in 0..50 {
                let d = p.delay(attempt, None).as_secs_f64();
                assert!(
                    d >= nominal * 0.8 - 1e-9 && d <= nominal * 1.2 + 1e-9,
                    "{attempt}: {d}"
                );
            }
        }
    }

    #[test]
    fn retry_after_wins_over_the_schedule() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(300))),
            Duration::from_secs(300)
        );
        assert_eq!(
            p.delay(8, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }
}
