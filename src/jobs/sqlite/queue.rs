//! The queue on SQLite. Every write goes through the writer thread (see `writer`): a pooled
//! connection would wait on the busy handler for the write lock, which the writer rarely leaves
//! free under a webhook flood. Reads that guard a write (`fail`, `replay`) run on the pool and
//! the write applies only to the row as read.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use tokio::sync::oneshot;

use super::{Arg, Prepared, SqliteStore, Write};
use crate::clock::now_ms;
use crate::jobs::messages::RUN_NOW;
use crate::jobs::queue::{is_final, replayed_steps};
use crate::jobs::retry::decide;
use crate::jobs::sql::{
    CLAIM_SQLITE, COMPLETE, FAIL_READ, FAIL_WRITE, FINISH, REAP_EXPIRED, RELEASE, RENEW,
    REPLAY_READ, REPLAY_WRITE, SAVE_STEPS, parse_state,
};
use crate::jobs::{
    Failure, IngestOutcome, Job, JobQueue, JobReads, JobState, NewEvent, ReplayOutcome, StoreError,
};

#[async_trait]
impl JobQueue for SqliteStore {
    async fn ingest(&self, event: NewEvent) -> Result<IngestOutcome, StoreError> {
        let prepared = Prepared::new(event, self.policy.max_attempts)?;
        let (reply, answer) = oneshot::channel();
        self.submit(Write::Ingest(prepared, reply), answer).await
    }

    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let now = now_ms();
        let ids = self
            .update_returning(
                CLAIM_SQLITE,
                vec![
                    Arg::Text(worker.to_owned()),
                    Arg::Int(now + lease.as_millis() as i64),
                    Arg::Int(now),
                    Arg::Int(i64::from(limit)),
                ],
            )
            .await?;
        let mut jobs = Vec::with_capacity(ids.len());
        for (n, id) in ids.iter().enumerate() {
            match self.get(*id).await {
                Ok(Some(job)) => jobs.push(job),
                Ok(None) => {}
                Err(e) => {
                    // Claimed but unreadable: hand them back now rather than leave them to
                    // the lease, each with an attempt spent for nothing.
                    for id in ids[n..].iter().copied().chain(jobs.iter().map(|j| j.id)) {
                        let _ = self.release(id, worker, now).await;
                    }
                    return Err(e);
                }
            }
        }
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    async fn renew(&self, job_id: i64, worker: &str, lease: Duration) -> Result<bool, StoreError> {
        let now = now_ms();
        self.update_one(
            RENEW,
            vec![
                Arg::Int(now + lease.as_millis() as i64),
                Arg::Int(now),
                Arg::Int(job_id),
                Arg::Text(worker.to_owned()),
            ],
        )
        .await
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
        self.update_one(
            FINISH,
            vec![
                Arg::Text(state.as_str().to_owned()),
                Arg::OptText(reason.map(str::to_owned)),
                Arg::Int(now_ms()),
                Arg::Int(job_id),
                Arg::Text(worker.to_owned()),
            ],
        )
        .await
    }

    async fn fail(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        failure: Failure,
    ) -> Result<Option<JobState>, StoreError> {
        let now = now_ms();
        // Read without the write lock, then write through the writer guarded by what was read:
        // a pooled `BEGIN IMMEDIATE` could wait seconds for the lock under a webhook flood.
        let row = sqlx::query(FAIL_READ)
            .bind(job_id)
            .bind(worker)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
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
        let applied = self
            .update_one(
                FAIL_WRITE,
                vec![
                    Arg::Text(next.state.as_str().to_owned()),
                    Arg::Int(next.run_at),
                    Arg::Text(next.reason),
                    Arg::Int(now),
                    Arg::Int(job_id),
                    Arg::Text(worker.to_owned()),
                    Arg::Int(attempts),
                ],
            )
            .await?;
        Ok(applied.then_some(next.state))
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
        self.update_one(
            RELEASE,
            vec![
                Arg::Int(run_at),
                Arg::Int(now_ms()),
                Arg::Int(job_id),
                Arg::Text(worker.to_owned()),
            ],
        )
        .await
    }

    async fn reap_expired(&self) -> Result<u64, StoreError> {
        Ok(self
            .update(REAP_EXPIRED, vec![Arg::Int(now_ms())])
            .await?
            .rows)
    }

    async fn replay(&self, job_id: i64) -> Result<ReplayOutcome, StoreError> {
        // Read, then requeue through the writer only if the job is still as read: a
        // `BEGIN IMMEDIATE` of its own would wait for the write lock, which the writer holds
        // through most of each flush while webhooks keep coming.
        for _ in 0..5 {
            let row = sqlx::query(REPLAY_READ)
                .bind(job_id)
                .fetch_optional(&self.pool)
                .await?;
            let Some(row) = row else {
                return Ok(ReplayOutcome::NotFound);
            };
            let state = parse_state(row.try_get(0)?)?;
            if !is_final(state) {
                return Ok(ReplayOutcome::NotFinished(state));
            }
            let steps: String = row.try_get(1)?;
            let requeued = self
                .update(
                    REPLAY_WRITE,
                    vec![
                        Arg::Int(now_ms()),
                        Arg::Text(replayed_steps(&steps)),
                        Arg::Int(job_id),
                        Arg::Text(state.as_str().to_owned()),
                        Arg::Text(steps),
                    ],
                )
                .await?;
            if requeued.rows == 1 {
                return Ok(ReplayOutcome::Requeued);
            }
        }
        Err(StoreError::Invalid(format!(
            "job {job_id} kept changing while it was being replayed; try again"
        )))
    }
}

impl SqliteStore {
    /// `messages::RUN_NOW` through the writer (for `impl_messages!`).
    pub(super) async fn run_now_write(&self, job_id: i64, now: i64) -> Result<bool, StoreError> {
        self.update_one(RUN_NOW, vec![Arg::Int(now), Arg::Int(job_id)])
            .await
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
        self.update_one(
            sql,
            vec![
                Arg::Text(steps.to_string()),
                Arg::Int(now_ms()),
                Arg::Int(job_id),
                Arg::Text(worker.to_owned()),
            ],
        )
        .await
    }
}
