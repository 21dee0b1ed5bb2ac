//! The one retry schedule of the job store: exponential, capped, ±20 % jitter, and Buzzbip's
//! `Retry-After` wins when it gave one; and the one decision both backends take on a failed
//! attempt (`decide`).

use std::time::Duration;

use super::{Failure, JobState};

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

/// What becomes of a job after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `Queued` (to run again at `run_at`) or `Dead`.
    pub state: JobState,
    pub run_at: i64,
    /// The job's `last_error`.
    pub reason: String,
}

/// After attempt `attempts` of `max_attempts` failed with `error` at `now` (ms): queued again
/// at the schedule's time when the failure is transient and attempts remain, else dead. The
/// only input not given is the policy's jitter (none when `policy.jitter` is 0).
pub fn decide(
    policy: &RetryPolicy,
    attempts: u32,
    max_attempts: u32,
    failure: Failure,
    error: &str,
    now: i64,
) -> Decision {
    match failure {
        Failure::Transient { retry_after } if attempts < max_attempts => Decision {
            state: JobState::Queued,
            run_at: now + policy.delay(attempts, retry_after).as_millis() as i64,
            reason: error.to_owned(),
        },
        Failure::Transient { .. } => Decision {
            state: JobState::Dead,
            run_at: now,
            reason: format!("gave up after {attempts} attempts: {error}"),
        },
        Failure::Permanent => Decision {
            state: JobState::Dead,
            run_at: now,
            reason: error.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady() -> RetryPolicy {
        RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        }
    }

    const NOW: i64 = 1_000_000;

    #[test]
    fn a_transient_failure_with_attempts_left_is_queued_on_the_schedule() {
        let d = decide(
            &steady(),
            3,
            12,
            Failure::Transient { retry_after: None },
            "503",
            NOW,
        );
        assert_eq!(
            d,
            Decision {
                state: JobState::Queued,
                run_at: NOW + 40_000,
                reason: "503".into()
            }
        );
    }

    #[test]
    fn retry_after_sets_the_next_run() {
        let failure = Failure::Transient {
            retry_after: Some(Duration::from_secs(7)),
        };
        let d = decide(&steady(), 1, 12, failure, "429", NOW);
        assert_eq!((d.state, d.run_at), (JobState::Queued, NOW + 7_000));
    }

    #[test]
    fn the_last_attempt_gives_up_and_says_so() {
        let d = decide(
            &steady(),
            12,
            12,
            Failure::Transient { retry_after: None },
            "503",
            NOW,
        );
        assert_eq!(
            d,
            Decision {
                state: JobState::Dead,
                run_at: NOW,
                reason: "gave up after 12 attempts: 503".into()
            }
        );
    }

    #[test]
    fn a_permanent_failure_is_dead_at_once_with_its_own_words() {
        let d = decide(&steady(), 1, 12, Failure::Permanent, "invalid phone", NOW);
        assert_eq!(
            d,
            Decision {
                state: JobState::Dead,
                run_at: NOW,
                reason: "invalid phone".into()
            }
        );
    }

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
