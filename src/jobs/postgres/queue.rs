//! The queue on PostgreSQL: replicas claim with `FOR UPDATE SKIP LOCKED`; a failed attempt and
//! a replay lock the job's row while they decide.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;

use super::PgStore;
use crate::clock::now_ms;
use crate::jobs::messages::{RUN_NOW, SearchKeys};
use crate::jobs::queue::{is_final, replayed_steps};
use crate::jobs::retry::decide;
use crate::jobs::sql::{
    CLAIM_POSTGRES, COMPLETE, FAIL_READ, FAIL_WRITE, FINISH, FOLD_COUNTS, INSERT_EVENT, INSERT_JOB,
    JOB_SELECT, JobRow, REAP_EXPIRED, RELEASE, RENEW, REPLAY_READ, REPLAY_WRITE, SAVE_STEPS,
    parse_state, to_json,
};
use crate::jobs::{
    Failure, IngestOutcome, Job, JobQueue, JobState, NewEvent, ReplayOutcome, StoreError,
};

/// The advisory lock key of `fold_counts` (any constant no other lock of ours uses: those
/// are `hashtext` of a prefixed string).
const FOLD_COUNTS_LOCK: i64 = 0x73686f7062697001; // "shopbip" 01

#[async_trait]
impl JobQueue for PgStore {
    async fn ingest(&self, event: NewEvent) -> Result<IngestOutcome, StoreError> {
        let now = now_ms();
        let order_json = to_json(&event.order)?;
        let mut tx = self.pool.begin().await?;
        let inserted: Option<i64> = sqlx::query_scalar(INSERT_EVENT)
            .bind(&event.store_id)
            .bind(&event.platform)
            .bind(&event.delivery_key)
            .bind(&event.topic)
            .bind(event.kind.as_str())
            .bind(&event.order.id)
            .bind(&order_json)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(event_id) = inserted else {
            tx.commit().await?;
            return Ok(IngestOutcome::DuplicateDelivery);
        };
        let (mut created, mut existing) = (0, 0);
        let search = SearchKeys::of(&event.order);
        for rule in &event.rules {
            let done = sqlx::query(INSERT_JOB)
                .bind(event_id)
                .bind(&event.store_id)
                .bind(&event.order.id)
                .bind(rule.on.as_str())
                .bind(rule.job_key(&event.order))
                .bind(to_json(rule)?)
                .bind(self.policy.max_attempts as i64)
                .bind(now)
                .bind(&search.order_ref)
                .bind(&search.phone_rev)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 1 {
                created += 1;
            } else {
                existing += 1;
            }
        }
        tx.commit().await?;
        Ok(IngestOutcome::Stored {
            event_id,
            jobs_created: created,
            jobs_existing: existing,
        })
    }

    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let now = now_ms();
        let ids: Vec<i64> = sqlx::query_scalar(CLAIM_POSTGRES)
            .bind(worker)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{JOB_SELECT} WHERE j.id = ANY($1) ORDER BY j.run_at, j.id");
        let rows = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    async fn renew(&self, job_id: i64, worker: &str, lease: Duration) -> Result<bool, StoreError> {
        let now = now_ms();
        let done = sqlx::query(RENEW)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(job_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn save_steps(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        self.write_steps(SAVE_STEPS, job_id, worker, steps).await
    }

    async fn finish(
        &self,
        job_id: i64,
        worker: &str,
        state: JobState,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        if !is_final(state) {
            return Err(StoreError::Invalid(format!("a job cannot finish {state}")));
        }
        let done = sqlx::query(FINISH)
            .bind(state.as_str())
            .bind(reason)
            .bind(now_ms())
            .bind(job_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        failure: Failure,
    ) -> Result<Option<JobState>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{FAIL_READ} FOR UPDATE")))
            .bind(job_id)
            .bind(worker)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(None);
        };
        let attempts: i64 = row.try_get(0)?;
        let max: i64 = row.try_get(1)?;
        let next = decide(
            &self.policy,
            attempts as u32,
            max as u32,
            failure,
            error,
            now,
        );
        // The row is locked since the read: the write's guards hold, as on SQLite.
        sqlx::query(FAIL_WRITE)
            .bind(next.state.as_str())
            .bind(next.run_at)
            .bind(next.reason)
            .bind(now)
            .bind(job_id)
            .bind(worker)
            .bind(attempts)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(next.state))
    }

    async fn complete(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        self.write_steps(COMPLETE, job_id, worker, steps).await
    }

    async fn release(&self, job_id: i64, worker: &str, run_at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(RELEASE)
            .bind(run_at)
            .bind(now_ms())
            .bind(job_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn reap_expired(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(REAP_EXPIRED)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn fold_counts(&self) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One replica folds at a time; the others skip this tick rather than wait.
        let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(FOLD_COUNTS_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !mine {
            tx.commit().await?;
            return Ok(0);
        }
        let done = sqlx::query(FOLD_COUNTS).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn replay(&self, job_id: i64) -> Result<ReplayOutcome, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{REPLAY_READ} FOR UPDATE")))
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(ReplayOutcome::NotFound);
        };
        let state = parse_state(row.try_get(0)?)?;
        if !is_final(state) {
            tx.commit().await?;
            return Ok(ReplayOutcome::NotFinished(state));
        }
        let steps: String = row.try_get(1)?;
        // The row is locked since the read: the write's guards hold, as on SQLite.
        sqlx::query(REPLAY_WRITE)
            .bind(now)
            .bind(replayed_steps(&steps))
            .bind(job_id)
            .bind(state.as_str())
            .bind(&steps)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ReplayOutcome::Requeued)
    }
}

impl PgStore {
    /// `messages::RUN_NOW` (for `impl_messages!`).
    pub(super) async fn run_now_write(&self, job_id: i64, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(RUN_NOW)
            .bind(now)
            .bind(job_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Runs `sql` (`SAVE_STEPS` or `COMPLETE`: steps, now, job id, worker) on a job this worker
    /// still leases; false when it no longer does.
    async fn write_steps(
        &self,
        sql: &'static str,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql)
            .bind(steps.to_string())
            .bind(now_ms())
            .bind(job_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
