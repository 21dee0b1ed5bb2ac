//! The durable job store: verified events and the jobs they create, with leases, retries and
//! replay. Each user depends on the part it needs: `JobQueue` (webhooks, workers), `JobReads`
//! (admin API, CLI), `InvoiceNumbers` (the invoice step), `Health` (readiness, shutdown);
//! `JobStore` is all of them, for the composition root. `sqlite` is the embedded backend,
//! `postgres` the one replicas share; `sql` holds what they say alike.

pub mod buzzbip_events;
pub mod delivery;
mod invoice_numbers;
pub mod messages;
pub mod migrate;
pub mod optouts;
mod pacing;
pub mod postgres;
mod queue;
mod reads;
pub mod retry;
mod sessions;
mod sql;
pub mod sqlite;
pub mod sweeps;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::order::{EventKind, Order};
use crate::stores::NotifyRule;
pub use buzzbip_events::{BuzzbipEventRecord, BuzzbipEvents, NewBuzzbipEvent};
pub use delivery::{Deliveries, DeliveryUpdate};
pub use invoice_numbers::{InvoiceNumbers, Issued, format_invoice_number};
pub use optouts::{OptOutRecord, OptOuts};
pub use pacing::{SendSlots, SlotWait};
pub use queue::{JobQueue, run_reaper};
pub use reads::JobReads;
pub use retry::RetryPolicy;
pub use sessions::{SessionRecord, Sessions};
pub use sweeps::{SweepEnd, SweepRecord, Sweeps};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Skipped,
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Skipped,
        JobState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Skipped => "skipped",
            JobState::Dead => "dead",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        JobState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown job state {s:?}"))
    }
}

/// A verified event to store, with the rules it matched.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub store_id: String,
    pub platform: String,
    pub delivery_key: String,
    pub topic: String,
    /// The event the platform's topic names (the delivery may mean more: see `rules`).
    pub kind: EventKind,
    pub order: Order,
    /// The rules of every event the delivery means; each job is for its rule's `on` event.
    pub rules: Vec<NotifyRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// This delivery was stored before: nothing new.
    DuplicateDelivery,
    /// Stored; `jobs_created` new jobs, `jobs_existing` already existed for the same
    /// (order, event, rule) and were not created again.
    Stored {
        event_id: i64,
        jobs_created: usize,
        jobs_existing: usize,
    },
}

/// A job as stored, with the order of the event that created it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub event_id: i64,
    pub store_id: String,
    pub order_id: String,
    pub kind: EventKind,
    pub rule: NotifyRule,
    pub state: JobState,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    /// Results of the steps done so far (phone, invoice, media id, send receipt).
    pub steps: serde_json::Value,
    pub replays: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub order: Order,
    /// What became of the message once sent (`delivery::`).
    pub delivery: Delivery,
    /// The outcome recorded on the shop's order.
    pub writeback: WriteBack,
    /// A reconciliation sweep made it: no webhook had brought its event.
    pub recovered: bool,
}

/// The delivery key of an event a reconciliation sweep stored starts with this
/// (`reconcile:{order id}:{topic}:{change time}`): its jobs are the recovered ones.
pub const RECOVERED_KEY_PREFIX: &str = "reconcile:";

/// A sent message's fate, as the delivery lookups and Buzzbip's events told it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    /// `accepted`, `sent`, `delivered`, `read`, `failed` or `unknown`; `None`: not sent.
    pub state: Option<String>,
    /// When that state was reached (Buzzbip's time where it gives one), epoch ms.
    pub at: Option<i64>,
    /// The next lookup; `None`: no more lookups.
    pub poll_at: Option<i64>,
    /// Lookups made for the current send.
    pub polls: u32,
    /// `raw` (the state as Buzzbip wrote it), `reason` (why it failed), `history`.
    pub detail: serde_json::Value,
    /// `detail` as stored: a change is written only onto what was read.
    pub raw_json: String,
}

/// The note written on the shop's order (`delivery::`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBack {
    /// The next attempt; `None`: none due.
    pub at: Option<i64>,
    /// `state` (`pending`, `done`, `failed`), `attempts`, `last_error`, `done_at`, `text`.
    pub detail: serde_json::Value,
    pub raw_json: String,
}

/// Why a job attempt failed, as far as retrying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Transient { retry_after: Option<Duration> },
    Permanent,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job store: {0}")]
    Db(#[from] sqlx::Error),
    #[error("job store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("job store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("job store: corrupt row: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
}

/// Filters of `list`.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub store_id: Option<String>,
    pub state: Option<JobState>,
    pub order_id: Option<String>,
    /// Only jobs with an id below this (cursor pagination, newest first).
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// The stored event a job came from (decoded the same way from both backends).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRecord {
    pub id: i64,
    pub store_id: String,
    pub platform: String,
    pub topic: String,
    pub delivery_key: String,
    pub received_at: i64,
    /// The canonical order as this delivery carried it (JSON).
    pub order_json: String,
}

/// What the job store knows of one store, for the admin API.
#[derive(Debug, Clone, Default)]
pub struct StoreStats {
    pub last_webhook_at: Option<i64>,
    pub last_send_at: Option<i64>,
    pub jobs: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    Requeued,
    NotFound,
    /// Only `done`, `dead` and `skipped` jobs can be replayed.
    NotFinished(JobState),
}

/// Whether the database answers, and closing it.
#[async_trait]
pub trait Health: Send + Sync {
    /// Answers when the database does (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the connections (everything written is already durable).
    async fn close(&self);
}

/// The whole store, as the composition root holds it; each user is handed (by upcasting) only
/// the part it uses.
pub trait JobStore:
    JobQueue
    + JobReads
    + messages::Messages
    + InvoiceNumbers
    + Health
    + Sessions
    + Deliveries
    + OptOuts
    + BuzzbipEvents
    + Sweeps
{
    /// The send-slot ledger every process on this database shares, where the backend has one
    /// (PostgreSQL); `None`: the pacer paces in-process.
    fn send_slots(self: Arc<Self>) -> Option<Arc<dyn SendSlots>> {
        None
    }
}

/// Opens the job store the URL names: `sqlite://…` (one machine) or `postgres://…` (replicas).
pub async fn open(url: &str, policy: RetryPolicy) -> Result<Arc<dyn JobStore>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url, policy).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::open(url, policy).await?))
    } else {
        Err(StoreError::Invalid(format!(
            "database.url: {:?} is neither sqlite://… nor postgres://…",
            url.split('@').next_back().unwrap_or(url)
        )))
    }
}
