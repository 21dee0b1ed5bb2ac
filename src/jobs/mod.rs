//! The durable job store: verified events and the jobs they create, with leases, retries and
//! replay. `JobStore` is the seam; `sqlite` is the embedded implementation.

pub mod cli;
pub mod migrate;
pub mod postgres;
pub mod retry;
pub mod sqlite;
mod sqlite_writer;
pub mod view;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::order::{EventKind, Order};
use crate::stores::NotifyRule;
pub use retry::RetryPolicy;

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
}

/// The columns both backends select for a job (`JOB_SELECT`), decoded once into a `Job`.
pub(crate) const JOB_SELECT: &str = "SELECT j.id, j.event_id, j.store_id, j.order_id, j.kind, j.rule_json, j.state, \
     j.attempts, j.max_attempts, j.run_at, j.locked_by, j.locked_until, j.last_error, j.steps_json, \
     j.replays, j.created_at, j.updated_at, e.order_json \
     FROM jobs j JOIN events e ON e.id = j.event_id";

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: i64,
    event_id: i64,
    store_id: String,
    order_id: String,
    kind: String,
    rule_json: String,
    state: String,
    attempts: i64,
    max_attempts: i64,
    run_at: i64,
    locked_by: Option<String>,
    locked_until: Option<i64>,
    last_error: Option<String>,
    steps_json: String,
    replays: i64,
    created_at: i64,
    updated_at: i64,
    order_json: String,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{what}: {e}"));
        Ok(Job {
            id: r.id,
            event_id: r.event_id,
            store_id: r.store_id,
            order_id: r.order_id,
            kind: r.kind.parse().map_err(|e: String| corrupt("kind", &e))?,
            rule: serde_json::from_str(&r.rule_json).map_err(|e| corrupt("rule_json", &e))?,
            state: parse_state(r.state)?,
            attempts: r.attempts as u32,
            max_attempts: r.max_attempts as u32,
            run_at: r.run_at,
            locked_by: r.locked_by,
            locked_until: r.locked_until,
            last_error: r.last_error,
            steps: serde_json::from_str(&r.steps_json).map_err(|e| corrupt("steps_json", &e))?,
            replays: r.replays as u32,
            created_at: r.created_at,
            updated_at: r.updated_at,
            order: serde_json::from_str(&r.order_json).map_err(|e| corrupt("order_json", &e))?,
        })
    }
}

pub(crate) fn parse_state(s: String) -> Result<JobState, StoreError> {
    s.parse().map_err(StoreError::Corrupt)
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

/// A reserved send slot: sleep this long, then send; or come back after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotWait {
    Go(Duration),
    Later(Duration),
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

#[async_trait]
pub trait JobStore: Send + Sync {
    /// In one transaction: the event (unless its delivery was seen) and one job per rule
    /// (unless that order already has a job for that event and rule).
    async fn ingest(&self, event: NewEvent) -> Result<IngestOutcome, StoreError>;

    /// Leases up to `limit` due jobs to `worker` for `lease`, counting an attempt each.
    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;

    /// Extends a lease the worker still holds; false when it lost it.
    async fn renew(&self, job_id: i64, worker: &str, lease: Duration) -> Result<bool, StoreError>;

    /// Persists step results while the worker holds the lease.
    async fn save_steps(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError>;

    /// Ends the job `done`, or `skipped` with the reason.
    async fn finish(
        &self,
        job_id: i64,
        worker: &str,
        state: JobState,
        reason: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Ends the job `done` and records its final steps, in one write.
    async fn complete(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError>;

    /// Records a failed attempt: back to `queued` at the retry schedule's time, or `dead` when
    /// permanent or out of attempts.
    async fn fail(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        failure: Failure,
    ) -> Result<Option<JobState>, StoreError>;

    /// Gives a running job back to the queue without counting the attempt (shutdown, pacing),
    /// to run again from `run_at`.
    async fn release(&self, job_id: i64, worker: &str, run_at: i64) -> Result<bool, StoreError>;

    /// Returns jobs whose lease expired (a crashed or killed worker) to the queue.
    async fn reap_expired(&self) -> Result<u64, StoreError>;

    /// Runs a finished job again: the one way a second message for an order can happen.
    async fn replay(&self, job_id: i64) -> Result<ReplayOutcome, StoreError>;

    async fn get(&self, job_id: i64) -> Result<Option<Job>, StoreError>;

    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError>;

    async fn count_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError>;

    async fn event(&self, event_id: i64) -> Result<Option<EventRecord>, StoreError>;

    /// Per store id: last webhook stored, last message sent, jobs by state.
    async fn store_stats(
        &self,
    ) -> Result<std::collections::BTreeMap<String, StoreStats>, StoreError>;

    /// The store's invoice number for this order: allocated from the store's sequence the
    /// first time, the same number every time after.
    async fn invoice_number(&self, store_id: &str, order_id: &str) -> Result<u64, StoreError>;

    /// Send pacing shared by every process on the database, where the backend has it: takes
    /// the account's next send slot if it comes within `max_wait`. `None`: pace in-process.
    async fn reserve_send_slot(
        &self,
        _account: &str,
        _interval: Duration,
        _max_wait: Duration,
    ) -> Result<Option<SlotWait>, StoreError> {
        Ok(None)
    }

    /// Answers when the database does (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the connections (everything written is already durable).
    async fn close(&self);
}

/// How an allocated invoice number is printed.
pub fn format_invoice_number(n: u64) -> String {
    format!("INV-{n:06}")
}

/// A row's JSON column, from a value shopbip built (only a map with non-string keys fails).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// Opens the job store the URL names: `sqlite://…` (one machine) or `postgres://…` (replicas).
pub async fn open(
    url: &str,
    policy: RetryPolicy,
) -> Result<std::sync::Arc<dyn JobStore>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            sqlite::SqliteStore::open(url, policy).await?,
        ))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(std::sync::Arc::new(
            postgres::PgStore::open(url, policy).await?,
        ))
    } else {
        Err(StoreError::Invalid(format!(
            "database.url: {:?} is neither sqlite://… nor postgres://…",
            url.split('@').next_back().unwrap_or(url)
        )))
    }
}

/// Returns expired leases to the queue every `every`, for as long as the process runs.
pub async fn run_reaper(store: std::sync::Arc<dyn JobStore>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match store.reap_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "requeued jobs whose worker lost its lease"),
            Err(e) => tracing::error!(error = %e, "lease reaper failed"),
        }
    }
}
