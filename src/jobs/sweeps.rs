//! Per store, the reconciliation sweep's state (issue 20): its watermark (every order changed
//! before it has been listed and stored), the lease that makes one process sweep a store at a
//! time across replicas, when the next sweep is due, what the last one found, and whether the
//! shop still delivers its webhooks (`migrations/sqlite/0009_sweeps.sql`).

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// One store's row.
#[derive(Debug, Clone, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct SweepRecord {
    pub store_id: String,
    /// Unix ms; `None`: never swept.
    pub watermark: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub next_at: i64,
    pub last_started_at: Option<i64>,
    pub last_finished_at: Option<i64>,
    /// Why the last sweep stopped short; `None`: it listed everything.
    pub last_error: Option<String>,
    /// Orders listed by every sweep so far.
    pub listed_total: i64,
    /// Orders the sweeps found that no webhook had brought.
    pub recovered_total: i64,
    /// 1 ok, 0 disabled or missing; `None`: not known.
    pub subscription_ok: Option<i64>,
    pub subscription_detail: Option<String>,
    pub subscription_at: Option<i64>,
}

/// How a sweep ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepEnd {
    pub next_at: i64,
    pub finished_at: i64,
    pub error: Option<String>,
    pub listed: i64,
    pub recovered: i64,
}

#[async_trait]
pub trait Sweeps: Send + Sync {
    /// Leases the store's sweep to `owner` until `now + lease`, if no one holds it and (when
    /// `due_only`) its next sweep is due. `None`: not taken; else the watermark (`None`: never
    /// swept).
    async fn claim_sweep(
        &self,
        store_id: &str,
        owner: &str,
        now: i64,
        lease: Duration,
        due_only: bool,
    ) -> Result<Option<Option<i64>>, StoreError>;

    /// Moves the watermark forward (never back) to `watermark` and extends the lease to
    /// `lease_until`, if `owner` still holds it; false when it lost it.
    async fn advance_sweep(
        &self,
        store_id: &str,
        owner: &str,
        watermark: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError>;

    /// Ends `owner`'s sweep: the lease released, the next one due at `end.next_at`.
    async fn finish_sweep(
        &self,
        store_id: &str,
        owner: &str,
        end: &SweepEnd,
    ) -> Result<bool, StoreError>;

    /// Records whether the shop still delivers the store's webhooks.
    async fn record_subscription(
        &self,
        store_id: &str,
        ok: bool,
        detail: &str,
        now: i64,
    ) -> Result<(), StoreError>;

    async fn sweep_record(&self, store_id: &str) -> Result<Option<SweepRecord>, StoreError>;
}

// Each statement numbers its parameters in the order they first appear: the SQLite writer
// binds by position (see `sql.rs`).
pub(crate) const ENSURE: &str =
    "INSERT INTO sweeps (store_id) VALUES ($1) ON CONFLICT (store_id) DO NOTHING";

/// owner, lease until, now, store, and 1 for a sweep that waits for its turn (0: asked now).
pub(crate) const CLAIM: &str = "UPDATE sweeps SET lease_owner = $1, lease_until = $2, \
     last_started_at = $3 WHERE store_id = $4 AND ($5 = 0 OR next_at <= $3) \
     AND (lease_until IS NULL OR lease_until <= $3) RETURNING COALESCE(watermark, -1)";

/// watermark, lease until, store, owner.
pub(crate) const ADVANCE: &str = "UPDATE sweeps SET watermark = CASE WHEN watermark IS NULL \
     OR watermark < $1 THEN $1 ELSE watermark END, lease_until = $2 \
     WHERE store_id = $3 AND lease_owner = $4";

/// next, finished, error, listed, recovered, store, owner.
pub(crate) const FINISH: &str = "UPDATE sweeps SET lease_owner = NULL, lease_until = NULL, \
     next_at = $1, last_finished_at = $2, last_error = $3, listed_total = listed_total + $4, \
     recovered_total = recovered_total + $5 WHERE store_id = $6 AND lease_owner = $7";

/// ok, detail, at, store.
pub(crate) const SUBSCRIPTION: &str = "UPDATE sweeps SET subscription_ok = $1, \
     subscription_detail = $2, subscription_at = $3 WHERE store_id = $4";

pub(crate) const READ: &str = "SELECT store_id, watermark, lease_owner, lease_until, next_at, \
     last_started_at, last_finished_at, last_error, listed_total, recovered_total, \
     subscription_ok, subscription_detail, subscription_at FROM sweeps WHERE store_id = $1";

/// The watermark as `CLAIM` returns it.
pub(crate) fn watermark(raw: i64) -> Option<i64> {
    (raw >= 0).then_some(raw)
}
