//! The sweeps' state on PostgreSQL, which replicas share: the claim is one conditional
//! `UPDATE`, so two replicas asking at once get the lease once.

use std::time::Duration;

use async_trait::async_trait;

use super::PgStore;
use crate::jobs::StoreError;
use crate::jobs::sweeps::{
    ADVANCE, CLAIM, ENSURE, FINISH, READ, SUBSCRIPTION, SweepEnd, SweepRecord, Sweeps, watermark,
};

#[async_trait]
impl Sweeps for PgStore {
    async fn claim_sweep(
        &self,
        store_id: &str,
        owner: &str,
        now: i64,
        lease: Duration,
        due_only: bool,
    ) -> Result<Option<Option<i64>>, StoreError> {
        sqlx::query(ENSURE)
            .bind(store_id)
            .execute(&self.pool)
            .await?;
        let raw: Option<i64> = sqlx::query_scalar(CLAIM)
            .bind(owner)
            .bind(now + lease.as_millis() as i64)
            .bind(now)
            .bind(store_id)
            .bind(i64::from(due_only))
            .fetch_optional(&self.pool)
            .await?;
        Ok(raw.map(watermark))
    }

    async fn advance_sweep(
        &self,
        store_id: &str,
        owner: &str,
        watermark: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(ADVANCE)
            .bind(watermark)
            .bind(lease_until)
            .bind(store_id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn finish_sweep(
        &self,
        store_id: &str,
        owner: &str,
        end: &SweepEnd,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(FINISH)
            .bind(end.next_at)
            .bind(end.finished_at)
            .bind(end.error.as_deref())
            .bind(end.listed)
            .bind(end.recovered)
            .bind(store_id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_subscription(
        &self,
        store_id: &str,
        ok: bool,
        detail: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(ENSURE)
            .bind(store_id)
            .execute(&self.pool)
            .await?;
        sqlx::query(SUBSCRIPTION)
            .bind(i64::from(ok))
            .bind(detail)
            .bind(now)
            .bind(store_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn sweep_record(&self, store_id: &str) -> Result<Option<SweepRecord>, StoreError> {
        Ok(sqlx::query_as::<_, SweepRecord>(READ)
            .bind(store_id)
            .fetch_optional(&self.pool)
            .await?)
    }
}
