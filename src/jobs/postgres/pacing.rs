//! The send-slot ledger every replica draws from (table `pacing`, one row per account).

use std::time::Duration;

use async_trait::async_trait;

use super::PgStore;
use crate::clock::now_ms;
use crate::jobs::{SendSlots, SlotWait, StoreError};

#[async_trait]
impl SendSlots for PgStore {
    async fn reserve_send_slot(
        &self,
        account: &str,
        interval: Duration,
        max_wait: Duration,
    ) -> Result<SlotWait, StoreError> {
        let now = now_ms();
        let step = interval.as_millis().max(1) as i64;
        sqlx::query(
            "INSERT INTO pacing (account, next_at) VALUES ($1, $2) ON CONFLICT (account) DO NOTHING",
        )
        .bind(account)
        .bind(now)
        .execute(&self.pool)
        .await?;
        // GCRA in one statement: take the slot if it comes within max_wait.
        let slot: Option<i64> = sqlx::query_scalar(
            "UPDATE pacing SET next_at = GREATEST(next_at, $2) + $3 \
             WHERE account = $1 AND next_at - $2 <= $4 \
             RETURNING next_at - $3",
        )
        .bind(account)
        .bind(now)
        .bind(step)
        .bind(max_wait.as_millis() as i64)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(slot) = slot {
            return Ok(SlotWait::Go(Duration::from_millis(
                (slot - now).max(0) as u64
            )));
        }
        let next: i64 = sqlx::query_scalar("SELECT next_at FROM pacing WHERE account = $1")
            .bind(account)
            .fetch_one(&self.pool)
            .await?;
        Ok(SlotWait::Later(Duration::from_millis(
            (next - now).max(0) as u64
        )))
    }
}
