//! Per store, the customers who asked for no more messages (a STOP answer, or an operator):
//! a job whose recipient is listed is skipped. Phones are stored normalised (E.164: `+` and
//! digits) so a number written any way matches.

use async_trait::async_trait;

use super::StoreError;

/// One listed number.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OptOutRecord {
    pub store_id: String,
    /// E.164.
    pub phone: String,
    /// `keyword` (the customer's answer) or `manual`.
    pub source: String,
    /// Epoch ms.
    pub created_at: i64,
}

#[async_trait]
pub trait OptOuts: Send + Sync {
    /// Lists `phone` for the store; false when it already was.
    async fn opt_out(
        &self,
        store_id: &str,
        phone: &str,
        source: &str,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Takes `phone` off the store's list; false when it was not on it.
    async fn opt_in(&self, store_id: &str, phone: &str) -> Result<bool, StoreError>;

    async fn is_opted_out(&self, store_id: &str, phone: &str) -> Result<bool, StoreError>;

    /// The store's list, newest first (at most `limit`).
    async fn opt_outs(&self, store_id: &str, limit: u32) -> Result<Vec<OptOutRecord>, StoreError>;
}

pub(crate) const OPT_OUT: &str = "INSERT INTO optouts (store_id, phone, source, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (store_id, phone) DO NOTHING";

pub(crate) const OPT_IN: &str = "DELETE FROM optouts WHERE store_id = $1 AND phone = $2";

pub(crate) const IS_OPTED_OUT: &str =
    "SELECT COUNT(*) FROM optouts WHERE store_id = $1 AND phone = $2";

pub(crate) const LIST_OPT_OUTS: &str = "SELECT store_id, phone, source, created_at FROM optouts \
     WHERE store_id = $1 ORDER BY created_at DESC, phone LIMIT $2";
