//! The job queue: what webhooks put in and what workers take out, with leases, retries and
//! replay. The worker and the webhook handler depend on this trait alone.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Failure, IngestOutcome, Job, JobState, NewEvent, ReplayOutcome, StoreError};

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// In one transaction: the event (unless its delivery was seen) and one job per rule
    /// (unless that order already has a job for that event and rule).
    async fn ingest(&self, event: NewEvent) -> Result<IngestOutcome, StoreError>;

    /// Leases up to `limit` due jobs to `worker` for `lease`, counting an attempt each.
    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;

    /// Extends a lease the worker still holds; false when it lost it.
    async fn renew(&self, job_id: i64, worker: &str, lease: Duration) -> Result<bool, StoreError>;

    /// Persists step results while the worker holds the lease.
    async fn save_steps(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError>;

    /// Ends the job `done`, or `skipped` with the reason.
    async fn finish(
        &self,
        job_id: i64,
        worker: &str,
        state: JobState,
        reason: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Ends the job `done` and records its final steps, in one write.
    async fn complete(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError>;

    /// Records a failed attempt as `retry::decide` says: back to `queued` at the retry
    /// schedule's time, or `dead` when permanent or out of attempts.
    async fn fail(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        failure: Failure,
    ) -> Result<Option<JobState>, StoreError>;

    /// Gives a running job back to the queue without counting the attempt (shutdown, pacing),
    /// to run again from `run_at`.
    async fn release(&self, job_id: i64, worker: &str, run_at: i64) -> Result<bool, StoreError>;

    /// Returns jobs whose lease expired (a crashed or killed worker) to the queue.
    async fn reap_expired(&self) -> Result<u64, StoreError>;

    /// Moves the per-store count deltas written since the last call into the counts, where
    /// the backend keeps deltas (PostgreSQL: see migrations/postgres/0007_store_counts.sql);
    /// returns how many it moved. SQLite counts in place and has nothing to do.
    async fn fold_counts(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// Runs a finished job again: the one way a second message for an order can happen.
    async fn replay(&self, job_id: i64) -> Result<ReplayOutcome, StoreError>;
}

/// `done`, `skipped` and `dead` end a job; only such a job can be replayed.
pub(crate) fn is_final(state: JobState) -> bool {
    matches!(state, JobState::Done | JobState::Dead | JobState::Skipped)
}

/// A replayed job starts over, keeping what must stay the same for the order (its invoice
/// number) and the earlier run's results under `previous_runs` for the record.
pub(crate) fn replayed_steps(old: &str) -> String {
    let mut old: serde_json::Value = serde_json::from_str(old).unwrap_or_default();
    let mut history = old
        .as_object_mut()
        .and_then(|o| o.remove("previous_runs"))
        .and_then(|h| h.as_array().cloned())
        .unwrap_or_default();
    let mut fresh = serde_json::Map::new();
    if let Some(n) = old.get("invoice_number") {
        fresh.insert("invoice_number".into(), n.clone());
    }
    history.push(old);
    fresh.insert("previous_runs".into(), serde_json::Value::Array(history));
    serde_json::Value::Object(fresh).to_string()
}

/// Returns expired leases to the queue and folds the count deltas every `every`, for as long
/// as the process runs.
pub async fn run_reaper(queue: Arc<dyn JobQueue>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match queue.reap_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "requeued jobs whose worker lost its lease"),
            Err(e) => tracing::error!(error = %e, "lease reaper failed"),
        }
        if let Err(e) = queue.fold_counts().await {
            tracing::error!(error = %e, "folding the per-store counts failed");
        }
    }
}
