//! What both backends say the same way: the statements that read alike in SQLite and
//! PostgreSQL, and the decoding of a job row.
//!
//! Every statement here numbers its parameters `$1`, `$2`, … in the order they first appear.
//! PostgreSQL reads `$N` natively; sqlx's SQLite driver maps `$N` to the N-th bound value; the
//! SQLite writer thread (rusqlite) binds by position, and SQLite gives `$N` the position of
//! its first appearance, so there the order is what makes `$N` the N-th value (checked by
//! `placeholders_first_appear_in_order` below).

use super::{Delivery, Job, JobState, StoreError, WriteBack};

/// The columns both backends select for a job, decoded once into a `Job` (`JobRow`). A macro
/// so the statements below extend it at compile time (`concat!` takes only literals).
macro_rules! job_select {
    () => {
        "SELECT j.id, j.event_id, j.store_id, j.order_id, j.kind, j.rule_json, j.state, \
         j.attempts, j.max_attempts, j.run_at, j.locked_by, j.locked_until, j.last_error, \
         j.steps_json, j.replays, j.created_at, j.updated_at, e.order_json, \
         j.delivery_state, j.delivery_at, j.delivery_poll_at, j.delivery_polls, j.delivery_json, \
         j.writeback_at, j.writeback_json, e.delivery_key \
         FROM jobs j JOIN events e ON e.id = j.event_id"
    };
}
pub(crate) use job_select;

pub(crate) const JOB_SELECT: &str = job_select!();

pub(crate) const GET_JOB: &str = concat!(job_select!(), " WHERE j.id = $1");

/// Jobs by `JobFilter`, newest first. The casts give PostgreSQL the types of parameters that
/// may be NULL; SQLite reads them as no-ops.
pub(crate) const LIST_JOBS: &str = concat!(
    job_select!(),
    " WHERE (CAST($1 AS TEXT) IS NULL OR j.store_id = $1) \
     AND (CAST($2 AS TEXT) IS NULL OR j.state = $2) \
     AND (CAST($3 AS TEXT) IS NULL OR j.order_id = $3) \
     AND (CAST($4 AS BIGINT) IS NULL OR j.id < $4) \
     ORDER BY j.id DESC LIMIT $5"
);

/// A delivery's event, unless the store saw that delivery before (then no row comes back).
pub(crate) const INSERT_EVENT: &str = "INSERT INTO events (store_id, platform, delivery_key, topic, kind, order_id, \
     order_json, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (store_id, delivery_key) DO NOTHING RETURNING id";

/// One job of an event, unless the order already has one for that event and rule; with the
/// console's search keys (`messages::SearchKeys`).
pub(crate) const INSERT_JOB: &str = "INSERT INTO jobs (event_id, store_id, order_id, kind, rule_key, rule_json, state, \
     max_attempts, run_at, created_at, updated_at, order_ref, phone_rev) \
     VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $8, $8, $9, $10) \
     ON CONFLICT (store_id, order_id, kind, rule_key) DO NOTHING";

/// Leases due jobs, oldest first. The one dialect difference is how the due rows are locked:
/// PostgreSQL's replicas skip rows another is claiming; SQLite's one writer needs no lock.
macro_rules! claim {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= $3 \
             ORDER BY run_at, id LIMIT $4",
            $lock,
            ") RETURNING id"
        )
    };
}

pub(crate) const CLAIM_SQLITE: &str = claim!("");

pub(crate) const CLAIM_POSTGRES: &str = claim!(" FOR UPDATE SKIP LOCKED");

pub(crate) const RENEW: &str = "UPDATE jobs SET locked_until = $1, updated_at = $2 \
     WHERE id = $3 AND locked_by = $4 AND state = 'running'";

pub(crate) const SAVE_STEPS: &str = "UPDATE jobs SET steps_json = $1, updated_at = $2 \
     WHERE id = $3 AND locked_by = $4 AND state = 'running'";

/// Ends a job. A job that ends `done` was sent (its send interrupted before it was closed):
/// its delivery is `accepted` and its first lookup due in 15 s (`delivery::POLL_GAPS_MS[0]`).
pub(crate) const FINISH: &str = "UPDATE jobs SET state = $1, last_error = $2, locked_by = NULL, locked_until = NULL, \
     updated_at = $3, \
     delivery_state = CASE WHEN $1 = 'done' THEN 'accepted' ELSE delivery_state END, \
     delivery_at = CASE WHEN $1 = 'done' THEN CAST($3 AS BIGINT) ELSE delivery_at END, \
     delivery_poll_at = CASE WHEN $1 = 'done' THEN CAST($3 AS BIGINT) + 15000 ELSE NULL END, \
     delivery_polls = 0 \
     WHERE id = $4 AND locked_by = $5 AND state = 'running'";

/// Ends a sent job with its final steps; its delivery starts as in `FINISH`.
pub(crate) const COMPLETE: &str = "UPDATE jobs SET state = 'done', steps_json = $1, last_error = NULL, locked_by = NULL, \
     locked_until = NULL, updated_at = $2, delivery_state = 'accepted', \
     delivery_at = CAST($2 AS BIGINT), delivery_poll_at = CAST($2 AS BIGINT) + 15000, delivery_polls = 0 \
     WHERE id = $3 AND locked_by = $4 AND state = 'running'";

/// What a failed attempt's retry decision reads (PostgreSQL adds `FOR UPDATE`).
pub(crate) const FAIL_READ: &str = "SELECT attempts, max_attempts FROM jobs \
     WHERE id = $1 AND locked_by = $2 AND state = 'running'";

/// The retry decision written back, only onto the attempt it was made for.
pub(crate) const FAIL_WRITE: &str = "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, locked_by = NULL, \
     locked_until = NULL, updated_at = $4 \
     WHERE id = $5 AND locked_by = $6 AND state = 'running' AND attempts = $7";

/// Hands a running job back without counting the attempt.
pub(crate) const RELEASE: &str = "UPDATE jobs SET state = 'queued', \
     attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, run_at = $1, \
     locked_by = NULL, locked_until = NULL, updated_at = $2 \
     WHERE id = $3 AND locked_by = $4 AND state = 'running'";

pub(crate) const REAP_EXPIRED: &str = "UPDATE jobs SET \
     state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
     last_error = 'lease expired: the worker stopped before finishing attempt ' || attempts, \
     locked_by = NULL, locked_until = NULL, run_at = $1, updated_at = $1 \
     WHERE state = 'running' AND locked_until < $1";

/// What a replay reads of the job.
pub(crate) const REPLAY_READ: &str = "SELECT state, steps_json FROM jobs WHERE id = $1";

/// Requeues a finished job, only if it is still as the replay read it.
/// The delivery's history and the write-back's record stay; the new send starts its own.
pub(crate) const REPLAY_WRITE: &str = "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, \
     last_error = NULL, steps_json = $2, replays = replays + 1, updated_at = $1, \
     delivery_state = NULL, delivery_at = NULL, delivery_poll_at = NULL, delivery_polls = 0, \
     writeback_at = NULL \
     WHERE id = $3 AND state = $4 AND steps_json = $5";

pub(crate) const COUNT_BY_STATE: &str = "SELECT state, COUNT(*) FROM jobs GROUP BY state";

pub(crate) const GET_EVENT: &str = "SELECT id, store_id, platform, topic, delivery_key, received_at, order_json \
     FROM events WHERE id = $1";

/// Per store and counter (`webhooks`, `job:<state>`): how many and when the last came in
/// (migrations/sqlite/0006_store_counts.sql). SQLite's triggers keep `store_counts` itself.
pub(crate) const STORE_COUNTS_SQLITE: &str =
    "SELECT store_id, counter, n, last_at FROM store_counts";

/// The same on PostgreSQL, whose triggers append deltas that `FOLD_COUNTS` moves into
/// `store_counts` now and then: the deltas not yet folded are added here. One statement, one
/// snapshot: a fold committing meanwhile is seen whole or not at all.
pub(crate) const STORE_COUNTS_POSTGRES: &str = "SELECT store_id, counter, CAST(SUM(n) AS BIGINT), MAX(last_at) FROM (\
     SELECT store_id, counter, n, last_at FROM store_counts \
     UNION ALL SELECT store_id, counter, d, at FROM store_count_deltas) c \
     GROUP BY store_id, counter";

/// Moves PostgreSQL's count deltas into `store_counts`. Deltas appended by transactions still
/// open are not seen by the delete, and wait for the next fold.
pub(crate) const FOLD_COUNTS: &str = "WITH moved AS (DELETE FROM store_count_deltas \
     RETURNING store_id, counter, d, at) \
     INSERT INTO store_counts (store_id, counter, n, last_at) \
     SELECT store_id, counter, SUM(d), MAX(at) FROM moved GROUP BY store_id, counter \
     ORDER BY store_id, counter \
     ON CONFLICT (store_id, counter) DO UPDATE SET n = store_counts.n + excluded.n, \
     last_at = GREATEST(store_counts.last_at, excluded.last_at)";

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: i64,
    event_id: i64,
    store_id: String,
    order_id: String,
    kind: String,
    rule_json: String,
    state: String,
    attempts: i64,
    max_attempts: i64,
    run_at: i64,
    locked_by: Option<String>,
    locked_until: Option<i64>,
    last_error: Option<String>,
    steps_json: String,
    replays: i64,
    created_at: i64,
    updated_at: i64,
    order_json: String,
    delivery_state: Option<String>,
    delivery_at: Option<i64>,
    delivery_poll_at: Option<i64>,
    delivery_polls: i64,
    delivery_json: String,
    writeback_at: Option<i64>,
    writeback_json: String,
    delivery_key: String,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{what}: {e}"));
        Ok(Job {
            id: r.id,
            recovered: r.delivery_key.starts_with(super::RECOVERED_KEY_PREFIX),
            event_id: r.event_id,
            store_id: r.store_id,
            order_id: r.order_id,
            kind: r.kind.parse().map_err(|e: String| corrupt("kind", &e))?,
            rule: serde_json::from_str(&r.rule_json).map_err(|e| corrupt("rule_json", &e))?,
            state: parse_state(r.state)?,
            attempts: r.attempts as u32,
            max_attempts: r.max_attempts as u32,
            run_at: r.run_at,
            locked_by: r.locked_by,
            locked_until: r.locked_until,
            last_error: r.last_error,
            steps: serde_json::from_str(&r.steps_json).map_err(|e| corrupt("steps_json", &e))?,
            replays: r.replays as u32,
            created_at: r.created_at,
            updated_at: r.updated_at,
            order: serde_json::from_str(&r.order_json).map_err(|e| corrupt("order_json", &e))?,
            delivery: Delivery {
                state: r.delivery_state,
                at: r.delivery_at,
                poll_at: r.delivery_poll_at,
                polls: r.delivery_polls as u32,
                detail: serde_json::from_str(&r.delivery_json)
                    .map_err(|e| corrupt("delivery_json", &e))?,
                raw_json: r.delivery_json,
            },
            writeback: WriteBack {
                at: r.writeback_at,
                detail: serde_json::from_str(&r.writeback_json)
                    .map_err(|e| corrupt("writeback_json", &e))?,
                raw_json: r.writeback_json,
            },
        })
    }
}

pub(crate) fn parse_state(s: String) -> Result<JobState, StoreError> {
    s.parse().map_err(StoreError::Corrupt)
}

/// A row's JSON column, from a value shopbip built (only a map with non-string keys fails).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED: [&str; 28] = [
        CLAIM_SQLITE,
        CLAIM_POSTGRES,
        JOB_SELECT,
        GET_JOB,
        LIST_JOBS,
        INSERT_EVENT,
        INSERT_JOB,
        RENEW,
        SAVE_STEPS,
        FINISH,
        COMPLETE,
        FAIL_READ,
        FAIL_WRITE,
        RELEASE,
        REAP_EXPIRED,
        REPLAY_READ,
        REPLAY_WRITE,
        COUNT_BY_STATE,
        GET_EVENT,
        STORE_COUNTS_SQLITE,
        STORE_COUNTS_POSTGRES,
        FOLD_COUNTS,
        crate::jobs::sweeps::ENSURE,
        crate::jobs::sweeps::CLAIM,
        crate::jobs::sweeps::ADVANCE,
        crate::jobs::sweeps::FINISH,
        crate::jobs::sweeps::SUBSCRIPTION,
        crate::jobs::sweeps::READ,
    ];

    /// Positional binding (the SQLite writer) reads `$N` as the N-th value only when `$N`
    /// first appears after `$1` … `$N-1`.
    #[test]
    fn placeholders_first_appear_in_order() {
        for sql in SHARED {
            let mut seen = 0;
            for (i, _) in sql.match_indices('$') {
                let digits: String = sql[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let n: usize = digits.parse().unwrap();
                assert!(n <= seen + 1, "${n} before ${} in {sql}", seen + 1);
                seen = seen.max(n);
            }
            assert!(!sql.contains('?'), "a SQLite-only placeholder in {sql}");
        }
    }
}
