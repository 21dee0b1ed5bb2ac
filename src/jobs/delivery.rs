//! After the send (issue 19): the delivery lookups due on sent jobs, the changes they and
//! Buzzbip's events make to a job's delivery state, and the notes written back on the shop's
//! orders. All of it lives on the job's row (migrations/sqlite/0007_delivery_loop.sql), so
//! each change is one statement, written only onto the state it was computed from.

use std::time::Duration;

use async_trait::async_trait;

use super::{Job, StoreError};

/// When a sent message is looked up, after the send: 15 s, 1 min, 5 min, 30 min, 2 h, then
/// every 6 h until [`POLL_FOR_MS`]. The first gap is also written in `sql::COMPLETE` and
/// `sql::FINISH`, which start the lookups in the same statement that closes the job.
pub const POLL_AT_MS: [i64; 5] = [15_000, 60_000, 300_000, 1_800_000, 7_200_000];
pub const POLL_EVERY_AFTER_MS: i64 = 6 * 3_600_000;
pub const POLL_FOR_MS: i64 = 48 * 3_600_000;

/// When lookup number `polls` (0 = the first) of a message sent at `sent_at` is due; `None`
/// once the message is [`POLL_FOR_MS`] old.
pub fn next_poll(sent_at: i64, polls: u32) -> Option<i64> {
    let at = match POLL_AT_MS.get(polls as usize) {
        Some(offset) => sent_at + offset,
        None => {
            let extra = polls as i64 - POLL_AT_MS.len() as i64 + 1;
            sent_at + POLL_AT_MS[POLL_AT_MS.len() - 1] + extra * POLL_EVERY_AFTER_MS
        }
    };
    (at - sent_at <= POLL_FOR_MS).then_some(at)
}

/// A change to a job's delivery, computed from what was read of it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryUpdate {
    pub state: Option<String>,
    pub at: Option<i64>,
    /// The next lookup; `None` ends them.
    pub poll_at: Option<i64>,
    pub polls: u32,
    pub json: String,
    /// Sets the write-back due (a final state of a store that writes back); `None` leaves it.
    pub writeback_at: Option<i64>,
}

#[async_trait]
pub trait Deliveries: Send + Sync {
    /// Up to `limit` sent jobs whose lookup is due by `now`, leased: their next lookup moves
    /// to `now + lease`, so a poller that dies leaves them to another after that.
    async fn claim_polls(
        &self,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;

    /// Writes `update` unless the job's delivery changed since it was read as
    /// `expected_json` (then false: read again).
    async fn record_delivery(
        &self,
        job_id: i64,
        update: &DeliveryUpdate,
        expected_json: &str,
    ) -> Result<bool, StoreError>;

    /// The store's jobs sent to `to` (digits) and closed between `from` and `until`, newest
    /// first (at most 20): where a Buzzbip event about that recipient belongs.
    async fn sent_to(
        &self,
        store_id: &str,
        to: &str,
        from: i64,
        until: i64,
    ) -> Result<Vec<Job>, StoreError>;

    /// Up to `limit` jobs whose write-back is due by `now`, leased like `claim_polls`.
    async fn claim_writebacks(
        &self,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;

    /// Records a write-back attempt (`at`: the next one, `None`: no more) unless the record
    /// changed since it was read as `expected_json`.
    async fn record_writeback(
        &self,
        job_id: i64,
        at: Option<i64>,
        json: &str,
        expected_json: &str,
    ) -> Result<bool, StoreError>;
}

/// Due lookups, leased. PostgreSQL's replicas skip rows another is claiming (`$lock`).
macro_rules! claim_due {
    ($column:literal, $lock:literal) => {
        concat!(
            "UPDATE jobs SET ",
            $column,
            " = $1 WHERE id IN (SELECT id FROM jobs WHERE ",
            $column,
            " <= $2 ORDER BY ",
            $column,
            ", id LIMIT $3",
            $lock,
            ") RETURNING id"
        )
    };
}

pub(crate) const CLAIM_POLLS_SQLITE: &str = claim_due!("delivery_poll_at", "");
pub(crate) const CLAIM_POLLS_POSTGRES: &str =
    claim_due!("delivery_poll_at", " FOR UPDATE SKIP LOCKED");
pub(crate) const CLAIM_WRITEBACKS_SQLITE: &str = claim_due!("writeback_at", "");
pub(crate) const CLAIM_WRITEBACKS_POSTGRES: &str =
    claim_due!("writeback_at", " FOR UPDATE SKIP LOCKED");

pub(crate) const RECORD_DELIVERY: &str = "UPDATE jobs SET delivery_state = $1, delivery_at = $2, \
     delivery_poll_at = $3, delivery_polls = $4, delivery_json = $5, \
     writeback_at = COALESCE($6, writeback_at) WHERE id = $7 AND delivery_json = $8";

pub(crate) const RECORD_WRITEBACK: &str =
    "UPDATE jobs SET writeback_at = $1, writeback_json = $2 WHERE id = $3 AND writeback_json = $4";

/// `phone_rev` holds the order's phone's last digits reversed: a range on it finds the jobs
/// whose phone ends like the recipient's (the caller then compares the recipient itself).
pub(crate) const SENT_TO: &str = concat!(
    crate::jobs::sql::job_select!(),
    " WHERE j.store_id = $1 AND j.phone_rev >= $2 AND (CAST($3 AS TEXT) IS NULL OR j.phone_rev < $3) \
     AND j.state = 'done' AND j.updated_at >= $4 AND j.updated_at <= $5 ORDER BY j.id DESC LIMIT 20"
);

/// The `phone_rev` range of numbers ending in the same 8 digits as `to`.
pub(crate) fn phone_range(to: &str) -> Option<(String, Option<String>)> {
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(8)..];
    super::messages::keys::search(tail).and_then(|s| s.phone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_follow_the_schedule_and_stop_after_two_days() {
        let t = 1_000_000;
        assert_eq!(next_poll(t, 0), Some(t + 15_000));
        assert_eq!(next_poll(t, 4), Some(t + 2 * 3_600_000));
        assert_eq!(next_poll(t, 5), Some(t + 8 * 3_600_000));
        assert_eq!(next_poll(t, 11), Some(t + 44 * 3_600_000));
        assert_eq!(next_poll(t, 12), None, "50 h after the send");
        assert!(crate::jobs::sql::COMPLETE.contains(&format!("+ {}", POLL_AT_MS[0])));
        assert!(crate::jobs::sql::FINISH.contains(&format!("+ {}", POLL_AT_MS[0])));
    }

    #[test]
    fn a_recipient_is_found_by_its_last_eight_digits() {
        let (from, to) = phone_range("21696816277").unwrap();
        assert_eq!(from, "77261869");
        assert_eq!(to.as_deref(), Some("7726187"));
        assert_eq!(phone_range("12"), None, "too short to search");
    }
}
