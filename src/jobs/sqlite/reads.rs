//! Admin reads on SQLite, on the pool (WAL readers never wait for the writer).

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::Row;

use super::SqliteStore;
use crate::jobs::reads::fold_store_stats;
use crate::jobs::sql::{
    COUNT_BY_STATE, GET_EVENT, JOBS_BY_STORE_AND_STATE, JobRow, LAST_WEBHOOK_BY_STORE,
    LIST_JOBS, parse_state,
};
use crate::jobs::{
    EventRecord, Job, JobFilter, JobReads, JobState, StoreError, StoreStats,
};

#[async_trait]
impl JobReads for SqliteStore {
    async fn get(&self, job_id: i64) -> Result<Option<Job>, StoreError> {
        self.get_with(&self.pool, job_id).await
    }

    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query_as::<_, JobRow>(LIST_JOBS)
            .bind(filter.store_id.as_deref())
            .bind(filter.state.map(JobState::as_str))
            .bind(filter.order_id.as_deref())
            .bind(filter.before_id)
            .bind(filter.limit.clamp(1, 1000) as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    async fn count_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        let rows = sqlx::query(COUNT_BY_STATE).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((parse_state(r.try_get(0)?)?, r.try_get::<i64, _>(1)? as u64)))
            .collect()
    }

    async fn event(&self, event_id: i64) -> Result<Option<EventRecord>, StoreError> {
        Ok(sqlx::query_as(GET_EVENT)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn store_stats(&self) -> Result<BTreeMap<String, StoreStats>, StoreError> {
        let webhooks = sqlx::query(LAST_WEBHOOK_BY_STORE)
            .fetch_all(&self.pool)
            .await?;
        let jobs = sqlx::query(JOBS_BY_STORE_AND_STATE)
            .fetch_all(&self.pool)
            .await?;
        fold_store_stats(webhooks, jobs)
    }
}
