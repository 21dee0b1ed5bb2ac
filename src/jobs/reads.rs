//! What the admin API and the CLI read of the store: jobs, their events, counts and
//! per-store figures. Nothing here writes.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{EventRecord, Job, JobFilter, JobState, StoreError, StoreStats};

#[async_trait]
pub trait JobReads: Send + Sync {
    async fn get(&self, job_id: i64) -> Result<Option<Job>, StoreError>;

    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError>;

    async fn count_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError>;

    async fn event(&self, event_id: i64) -> Result<Option<EventRecord>, StoreError>;

    /// Per store id: last webhook stored, last message sent, jobs by state.
    async fn store_stats(&self) -> Result<BTreeMap<String, StoreStats>, StoreError>;
}

/// The rows of `sql::LAST_WEBHOOK_BY_STORE` and `sql::JOBS_BY_STORE_AND_STATE`, folded into
/// `StoreStats` the same way for both backends.
pub(crate) fn fold_store_stats<R>(
    last_webhooks: Vec<R>,
    jobs_by_state: Vec<R>,
) -> Result<BTreeMap<String, StoreStats>, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut stats: BTreeMap<String, StoreStats> = BTreeMap::new();
    for r in last_webhooks {
        stats.entry(r.try_get(0)?).or_default().last_webhook_at = r.try_get(1)?;
    }
    for r in jobs_by_state {
        let entry = stats.entry(r.try_get(0)?).or_default();
        let state: String = r.try_get(1)?;
        if state == "done" {
            entry.last_send_at = r.try_get(3)?;
        }
        entry.jobs.insert(state, r.try_get::<i64, _>(2)? as u64);
    }
    Ok(stats)
}
