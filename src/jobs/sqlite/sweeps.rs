//! The sweeps' state on SQLite: writes through the writer thread, reads on the pool.

use std::time::Duration;

use async_trait::async_trait;

use super::{Arg, SqliteStore};
use crate::jobs::StoreError;
use crate::jobs::sweeps::{
    ADVANCE, CLAIM, ENSURE, FINISH, READ, SUBSCRIPTION, SweepEnd, SweepRecord, Sweeps, watermark,
};

impl SqliteStore {
    async fn ensure_sweep(&self, store_id: &str) -> Result<(), StoreError> {
        self.update(ENSURE, vec![Arg::Text(store_id.to_owned())])
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl Sweeps for SqliteStore {
    async fn claim_sweep(
        &self,
        store_id: &str,
        owner: &str,
        now: i64,
        lease: Duration,
        due_only: bool,
    ) -> Result<Option<Option<i64>>, StoreError> {
        self.ensure_sweep(store_id).await?;
        let rows = self
            .update_returning(
                CLAIM,
                vec![
                    Arg::Text(owner.to_owned()),
                    Arg::Int(now + lease.as_millis() as i64),
                    Arg::Int(now),
                    Arg::Text(store_id.to_owned()),
                    Arg::Int(i64::from(due_only)),
                ],
            )
            .await?;
        Ok(rows.first().map(|&raw| watermark(raw)))
    }

    async fn advance_sweep(
        &self,
        store_id: &str,
        owner: &str,
        watermark: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .update(
                ADVANCE,
                vec![
                    Arg::Int(watermark),
                    Arg::Int(lease_until),
                    Arg::Text(store_id.to_owned()),
                    Arg::Text(owner.to_owned()),
                ],
            )
            .await?;
        Ok(changed.rows > 0)
    }

    async fn finish_sweep(
        &self,
        store_id: &str,
        owner: &str,
        end: &SweepEnd,
    ) -> Result<bool, StoreError> {
        let changed = self
            .update(
                FINISH,
                vec![
                    Arg::Int(end.next_at),
                    Arg::Int(end.finished_at),
                    Arg::OptText(end.error.clone()),
                    Arg::Int(end.listed),
                    Arg::Int(end.recovered),
                    Arg::Text(store_id.to_owned()),
                    Arg::Text(owner.to_owned()),
                ],
            )
            .await?;
        Ok(changed.rows > 0)
    }

    async fn record_subscription(
        &self,
        store_id: &str,
        ok: bool,
        detail: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.ensure_sweep(store_id).await?;
        self.update(
            SUBSCRIPTION,
            vec![
                Arg::Int(i64::from(ok)),
                Arg::Text(detail.to_owned()),
                Arg::Int(now),
                Arg::Text(store_id.to_owned()),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn sweep_record(&self, store_id: &str) -> Result<Option<SweepRecord>, StoreError> {
        Ok(sqlx::query_as::<_, SweepRecord>(READ)
            .bind(store_id)
            .fetch_optional(&self.pool)
            .await?)
    }
}
