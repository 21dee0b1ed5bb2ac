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

/// Implements `JobReads` for a backend whose sqlx pool is its field `pool`: both backends read
/// with the same statements (`sql`) and decode alike, so the impl is written once; only the
/// per-store counts are read differently (`$store_counts`). A macro because the generic form
/// needs a dozen sqlx bounds per query to say the same.
macro_rules! impl_job_reads {
    ($store:ty, $store_counts:expr) => {
        #[async_trait::async_trait]
        impl $crate::jobs::JobReads for $store {
            async fn get(
                &self,
                job_id: i64,
            ) -> Result<Option<$crate::jobs::Job>, $crate::jobs::StoreError> {
                let row =
                    sqlx::query_as::<_, $crate::jobs::sql::JobRow>($crate::jobs::sql::GET_JOB)
                        .bind(job_id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map($crate::jobs::Job::try_from).transpose()
            }

            async fn list(
                &self,
                filter: &$crate::jobs::JobFilter,
            ) -> Result<Vec<$crate::jobs::Job>, $crate::jobs::StoreError> {
                let rows =
                    sqlx::query_as::<_, $crate::jobs::sql::JobRow>($crate::jobs::sql::LIST_JOBS)
                        .bind(filter.store_id.as_deref())
                        .bind(filter.state.map($crate::jobs::JobState::as_str))
                        .bind(filter.order_id.as_deref())
                        .bind(filter.before_id)
                        .bind(filter.limit.clamp(1, 1000) as i64)
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map($crate::jobs::Job::try_from).collect()
            }

            async fn count_by_state(
                &self,
            ) -> Result<Vec<($crate::jobs::JobState, u64)>, $crate::jobs::StoreError> {
                use sqlx::Row;
                let rows = sqlx::query($crate::jobs::sql::COUNT_BY_STATE)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            $crate::jobs::sql::parse_state(r.try_get(0)?)?,
                            r.try_get::<i64, _>(1)? as u64,
                        ))
                    })
                    .collect()
            }

            async fn event(
                &self,
                event_id: i64,
            ) -> Result<Option<$crate::jobs::EventRecord>, $crate::jobs::StoreError> {
                Ok(sqlx::query_as($crate::jobs::sql::GET_EVENT)
                    .bind(event_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn store_stats(
                &self,
            ) -> Result<
                std::collections::BTreeMap<String, $crate::jobs::StoreStats>,
                $crate::jobs::StoreError,
            > {
                let counts = sqlx::query($store_counts).fetch_all(&self.pool).await?;
                $crate::jobs::reads::fold_store_stats(counts)
            }
        }
    };
}
pub(crate) use impl_job_reads;

/// The rows of `sql::STORE_COUNTS_*` (store, counter, count, last time), folded into
/// `StoreStats` the same way for both backends. A state no job is in is left out.
pub(crate) fn fold_store_stats<R>(
    counts: Vec<R>,
) -> Result<BTreeMap<String, StoreStats>, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut stats: BTreeMap<String, StoreStats> = BTreeMap::new();
    for r in counts {
        let entry = stats.entry(r.try_get(0)?).or_default();
        let counter: String = r.try_get(1)?;
        let n: i64 = r.try_get(2)?;
        let last_at: Option<i64> = r.try_get(3)?;
        if counter == "webhooks" {
            entry.last_webhook_at = last_at;
        } else if let Some(state) = counter.strip_prefix("job:") {
            if state == JobState::Done.as_str() {
                // When a job last became done: a send happened then, even if it was since
                // replayed and is no longer done.
                entry.last_send_at = last_at;
            }
            if n > 0 {
                entry.jobs.insert(state.to_owned(), n as u64);
            }
        }
    }
    Ok(stats)
}
