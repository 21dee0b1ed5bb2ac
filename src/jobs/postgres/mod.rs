//! The job store on PostgreSQL, for several replicas sharing one database: claims with
//! `FOR UPDATE SKIP LOCKED`, the same dedupe keys as unique constraints, per-store advisory locks
//! for invoice numbers, and a shared pacing table so replicas do not multiply the send rate.

mod delivery_loop;
mod pacing;
mod queue;
mod sessions;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::reads::impl_job_reads;
use super::{Health, InvoiceNumbers, JobStore, RetryPolicy, SendSlots, StoreError};
use crate::clock::now_ms;

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
    async fn invoice_number(&self, store_id: &str, order_id: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One allocator per store at a time, across every replica: the sequence stays gapless.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shopbip-invoice:' || $1))")
            .bind(store_id)
            .execute(&mut *tx)
            .await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT number FROM invoice_numbers WHERE store_id = $1 AND order_id = $2",
        )
        .bind(store_id)
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await?;
        let number = match existing {
            Some(n) => n,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO invoice_numbers (store_id, order_id, number, created_at) \
                     SELECT $1, $2, COALESCE(MAX(number), 0) + 1, $3 FROM invoice_numbers \
                     WHERE store_id = $1 RETURNING number",
                )
                .bind(store_id)
                .bind(order_id)
                .bind(now_ms())
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        Ok(number as u64)
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
