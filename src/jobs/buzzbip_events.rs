//! The events Buzzbip posts (`POST /buzzbip/events/{store}`): stored once per event id as soon
//! as their signature is verified, then processed after the answer by a loop that leases
//! them, so one that a crash interrupted is processed again.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// A verified event, as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBuzzbipEvent {
    pub store_id: String,
    /// The envelope's `id`: the same id posted again (Buzzbip retries) is stored once.
    pub event_id: String,
    pub kind: String,
    pub body: String,
    pub received_at: i64,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BuzzbipEventRecord {
    pub id: i64,
    pub store_id: String,
    pub event_id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub body: String,
    pub received_at: i64,
    pub processed_at: Option<i64>,
    pub outcome: Option<String>,
}

#[async_trait]
pub trait BuzzbipEvents: Send + Sync {
    /// Stores the event; false when its id was seen before (nothing stored).
    async fn store_buzzbip_event(&self, event: &NewBuzzbipEvent) -> Result<bool, StoreError>;

    /// Up to `limit` events not processed yet, leased until `now + lease`.
    async fn claim_buzzbip_events(
        &self,
        now: i64,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<BuzzbipEventRecord>, StoreError>;

    /// Marks an event processed, with what it did (for the record).
    async fn finish_buzzbip_event(
        &self,
        id: i64,
        now: i64,
        outcome: &str,
    ) -> Result<(), StoreError>;

    async fn buzzbip_event(
        &self,
        store_id: &str,
        event_id: &str,
    ) -> Result<Option<BuzzbipEventRecord>, StoreError>;
}

pub(crate) const STORE_EVENT: &str = "INSERT INTO buzzbip_events \
     (store_id, event_id, type, body, received_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (store_id, event_id) DO NOTHING RETURNING id";

macro_rules! claim_events {
    ($lock:literal) => {
        concat!(
            "UPDATE buzzbip_events SET lease_until = $1 WHERE id IN (SELECT id FROM buzzbip_events \
             WHERE processed_at IS NULL AND (lease_until IS NULL OR lease_until <= $2) \
             ORDER BY id LIMIT $3",
            $lock,
            ") RETURNING id"
        )
    };
}

pub(crate) const CLAIM_EVENTS_SQLITE: &str = claim_events!("");
pub(crate) const CLAIM_EVENTS_POSTGRES: &str = claim_events!(" FOR UPDATE SKIP LOCKED");

pub(crate) const FINISH_EVENT: &str = "UPDATE buzzbip_events SET processed_at = $1, outcome = $2, \
     lease_until = NULL WHERE id = $3";

const EVENT_COLUMNS: &str = "SELECT id, store_id, event_id, type, body, received_at, processed_at, outcome FROM buzzbip_events";

pub(crate) fn events_by_ids_sql(n: usize) -> String {
    let list: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!(
        "{EVENT_COLUMNS} WHERE id IN ({}) ORDER BY id",
        list.join(", ")
    )
}

pub(crate) const GET_EVENT_BY_ID: &str = "SELECT id, store_id, event_id, type, body, received_at, \
     processed_at, outcome FROM buzzbip_events WHERE store_id = $1 AND event_id = $2";
