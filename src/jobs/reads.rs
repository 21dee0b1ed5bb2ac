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
/// with the same statements (`sql`) and decode alike, so the impl is written once. A macro
/// because the generic form needs a dozen sqlx bounds per query to say the same.
macro_rules! impl_job_reads {
    ($store:ty) => {
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
                let webhooks = sqlx::query($crate::jobs::sql::LAST_WEBHOOK_BY_STORE)
                    .fetch_all(&self.pool)
                    .await?;
                let jobs = sqlx::query($crate::jobs::sql::JOBS_BY_STORE_AND_STATE)
                    .fetch_all(&self.pool)
                    .await?;
                $crate::jobs::reads::fold_store_stats(webhooks, jobs)
            }
        }
    };
}
pub(crate) use impl_job_reads;

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
