//! The job store on PostgreSQL, for several replicas sharing one database: claims with
//! `FOR UPDATE SKIP LOCKED`, the same dedupe keys as unique constraints, per-store advisory locks
//! for invoice numbers, and a shared pacing table so replicas do not multiply the send rate.

mod delivery_loop;
mod pacing;
mod queue;
mod sessions;
mod sweeps;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::invoice_numbers::Issued;
use super::reads::impl_job_reads;
use super::{Health, InvoiceNumbers, JobStore, RetryPolicy, SendSlots, StoreError};
use crate::stores::profile::{NumberReset, SeriesKind};

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    policy: RetryPolicy,
}

impl PgStore {
    pub async fn open(url: &str, policy: RetryPolicy) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool, policy })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl InvoiceNumbers for PgStore {
    async fn find(
        &self,
        store_id: &str,
        kind: crate::stores::profile::SeriesKind,
        order_id: &str,
    ) -> Result<Option<super::Issued>, StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(super::invoice_numbers::FIND_NUMBER)
            .bind(store_id)
            .bind(kind.as_str())
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(number, at_ms)| super::Issued {
            number: number as u64,
            at_ms,
        }))
    }

    async fn allocate(
        &self,
        store_id: &str,
        kind: SeriesKind,
        reset: NumberReset,
        order_id: &str,
        at_ms: i64,
    ) -> Result<Issued, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One allocator per store at a time, across every replica, for all of its series: the
        // lookup and MAX + 1 below see every number committed before, so no gap and no
        // duplicate. The key is the one the previous version took, so replicas of both
        // versions still queue on one lock during a rolling upgrade.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shopbip-invoice:' || $1))")
            .bind(store_id)
            .execute(&mut *tx)
            .await?;
        let existing: Option<(i64, i64)> = sqlx::query_as(
            "SELECT number, created_at FROM invoice_numbers \
             WHERE store_id = $1 AND kind = $2 AND order_id = $3",
        )
        .bind(store_id)
        .bind(kind.as_str())
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (number, at_ms) = match existing {
            Some(found) => found,
            None => {
                sqlx::query_as(
                    "INSERT INTO invoice_numbers (store_id, kind, period, order_id, number, created_at) \
                     SELECT $1, $2, $3, $4, COALESCE(MAX(number), 0) + 1, $5 FROM invoice_numbers \
                     WHERE store_id = $1 AND kind = $2 AND period = $3 \
                     RETURNING number, created_at",
                )
                .bind(store_id)
                .bind(kind.as_str())
                .bind(reset.period(at_ms))
                .bind(order_id)
                .bind(at_ms)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        Ok(Issued {
            number: number as u64,
            at_ms,
        })
    }
}

#[async_trait]
impl Health for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

impl_job_reads!(PgStore, crate::jobs::sql::STORE_COUNTS_POSTGRES);
super::messages::impl_messages!(PgStore);

impl JobStore for PgStore {
    /// Replicas share the database, so they share the send budget through it.
    fn send_slots(self: Arc<Self>) -> Option<Arc<dyn SendSlots>> {
        Some(self)
    }
}
