//! What the merchant console reads and does with jobs ("messages"): the filtered list with its
//! cursor, the CSV export of it, and the operator actions (retry now, replay, retry all
//! shown), every one of them inside a [`StoreScope`] so that a viewer of one store never reads
//! or touches another's job.
//!
//! Speed: the list must answer in milliseconds over a million jobs. The statement is composed
//! from the filters present (`query`), and migrations `sqlite/0004` / `postgres/0005` index what
//! it filters on: `(store_id, id)`, `(store_id, state, id)`, `(state, id)` walk a store, a
//! state or both newest first from the cursor and stop after a page. A scope of several stores
//! is read as one query per store, each a page long, merged here: one `store_id IN (…)` would
//! have the database read every job of those stores to sort them.
//!
//! Search: an order id (`jobs.order_id`), the order's customer-facing name (`jobs.order_ref`)
//! or the last 4+ digits of the customer's phone (`jobs.phone_rev`). The phone lives only in
//! the stored order JSON, so a scan would parse the order of every job the other filters leave
//! (a whole store, ~50,000 orders in the benchmark, or every job when no store is chosen)
//! on each keystroke. Instead ingestion writes the phone's last digits reversed, a suffix then
//! being an indexed prefix range; with the order name and the order id each indexed too, a
//! search is three index lookups whatever else is chosen. Their cost on the webhook path is in
//! BENCHMARKS.md ("Console message list").

mod csv;
pub(crate) mod keys;
mod query;
mod store;

use std::collections::BTreeSet;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde::Serialize;

use super::{JobState, ReplayOutcome, StoreError};
use crate::order::EventKind;
pub use csv::{CSV_BATCH, CSV_MAX_ROWS, CsvError, CsvExport, CsvSummary, write_csv};
pub use keys::MIN_PHONE_SUFFIX;
pub(crate) use keys::SearchKeys;
pub(crate) use query::{
    Bind, FIRST_ID_AT, IdBounds, JOB_PLACE, MessageRecord, RUN_NOW, Returning, Select,
};
pub(crate) use store::impl_messages;

/// The stores a console user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreScope {
    All,
    Only(BTreeSet<String>),
}

impl StoreScope {
    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(stores: I) -> Self {
        StoreScope::Only(stores.into_iter().map(Into::into).collect())
    }

    pub fn allows(&self, store_id: &str) -> bool {
        match self {
            StoreScope::All => true,
            StoreScope::Only(stores) => stores.contains(store_id),
        }
    }
}

/// The console's list query. The scope always applies: a store named outside it gives no rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageQuery {
    pub scope: StoreScope,
    pub store_id: Option<String>,
    pub state: Option<JobState>,
    pub event: Option<EventKind>,
    /// `created_at` (epoch ms) from this, inclusive.
    pub created_from: Option<i64>,
    /// `created_at` (epoch ms) before this, exclusive.
    pub created_to: Option<i64>,
    /// An order id (exact), an order name or number (`#1001` or `1001`, any case), or the last
    /// [`MIN_PHONE_SUFFIX`] or more digits of the customer's phone.
    pub search: Option<String>,
    /// Only jobs with an id below this: `next_before_id` of the previous page.
    pub before_id: Option<i64>,
    /// Rows per page, 1 to [`MAX_PAGE`].
    pub limit: u32,
}

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 1000;

/// Most dead jobs one "retry all shown" replays; the next call takes the next ones.
pub const REPLAY_SHOWN_MAX: usize = 1000;

impl MessageQuery {
    /// Every job the scope allows, first page.
    pub fn new(scope: StoreScope) -> Self {
        Self {
            scope,
            store_id: None,
            state: None,
            event: None,
            created_from: None,
            created_to: None,
            search: None,
            before_id: None,
            limit: DEFAULT_PAGE,
        }
    }

    /// The stores to read one by one (`Some`), or every store in one read (`None`); empty
    /// when the query names a store outside its scope.
    fn stores(&self) -> Option<Vec<&str>> {
        match (&self.scope, self.store_id.as_deref()) {
            (StoreScope::All, None) => None,
            (StoreScope::All, Some(s)) => Some(vec![s]),
            (StoreScope::Only(allowed), Some(s)) => {
                Some(allowed.contains(s).then_some(s).into_iter().collect())
            }
            (StoreScope::Only(allowed), None) => Some(allowed.iter().map(String::as_str).collect()),
        }
    }
}

/// One row of the message list, phones masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageRow {
    pub id: i64,
    /// When the webhook made the job (epoch ms).
    pub created_at: i64,
    pub store_id: String,
    pub order_id: String,
    /// The order's name as the customer sees it (`#1001`), else its number.
    pub order_name: String,
    pub first_name: String,
    /// The order's first phone (billing, shipping, customer), masked: `+216•••••277`.
    pub phone: Option<String>,
    pub event: EventKind,
    /// The template the send went with (its language's, for a rule with `template_ids`);
    /// before the send, the rule's.
    pub template_id: u64,
    pub state: JobState,
    /// Why it is dead, skipped or waiting (the last error or the skip reason), phones masked.
    pub reason: Option<String>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: i64,
}

/// A page of the list, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessagePage {
    pub rows: Vec<MessageRow>,
    /// Pass as `before_id` for the next (older) page; `None` on the last page.
    pub next_before_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryNow {
    /// The job was waiting for its backoff; it is due now.
    Scheduled,
    /// Queued and already due: a worker takes it as soon as one is free.
    AlreadyDue,
    /// Only a queued job waits for a retry.
    NotQueued(JobState),
    /// No such job, or not in the scope.
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ReplayedShown {
    /// Dead jobs run again.
    pub requeued: u64,
    /// Jobs that stopped being dead (or vanished) between the read and their replay.
    pub unchanged: u64,
    /// More dead jobs match than one call replays ([`REPLAY_SHOWN_MAX`]): call again.
    pub more: bool,
}

/// The console's reads and operator actions. Every method takes the user's scope: a job
/// outside it is `NotFound`, as if it did not exist.
#[async_trait]
pub trait Messages: Send + Sync {
    /// One page of the list, newest first.
    async fn messages(&self, query: &MessageQuery) -> Result<MessagePage, StoreError>;

    /// A `queued` job waiting for its backoff runs now.
    async fn retry_now(&self, scope: &StoreScope, job_id: i64) -> Result<RetryNow, StoreError>;

    /// `JobQueue::replay` (a done, dead or skipped job runs again) inside the scope.
    async fn replay_in_scope(
        &self,
        scope: &StoreScope,
        job_id: i64,
    ) -> Result<ReplayOutcome, StoreError>;

    /// "Retry all shown": replays the dead jobs matching the query's filters (its cursor and
    /// limit aside), newest first, at most [`REPLAY_SHOWN_MAX`] per call.
    async fn replay_shown(&self, query: &MessageQuery) -> Result<ReplayedShown, StoreError>;
}

/// What a backend provides for `Messages` (implemented by `impl_messages!` for the sqlx
/// reads, plus one write of its own).
#[async_trait]
pub(crate) trait MessageSource: super::JobQueue {
    async fn select_rows(&self, select: &Select) -> Result<Vec<MessageRow>, StoreError>;

    async fn select_ids(&self, select: &Select) -> Result<Vec<i64>, StoreError>;

    /// The job's store, state and `run_at`.
    async fn job_place(&self, job_id: i64) -> Result<Option<(String, JobState, i64)>, StoreError>;

    /// `RUN_NOW`; whether it applied.
    async fn run_now(&self, job_id: i64, now: i64) -> Result<bool, StoreError>;

    /// `FIRST_ID_AT`: the first job id created at `t` or later; `None` without jobs.
    async fn first_id_at(&self, t: i64) -> Result<Option<i64>, StoreError>;
}

/// How far `created_at` may run out of id order: an id is taken at the insert, the time just
/// before it (PostgreSQL's concurrent ingests), or a clock was set back. A date range is read
/// within ids bounded this much wider than its times.
const CLOCK_SLACK_MS: i64 = 3_600_000;

/// The ids bounding the query's date range. Jobs are numbered as they are stored, so
/// `created_at` grows with the id: a binary search over the primary key (`FIRST_ID_AT`) finds
/// where the range starts and ends, and the list reads only that span of
/// its index instead of walking back from the newest job through everything after the range
/// (and, for a range holding less than a page, on to the oldest job). No index on
/// `created_at` is needed, so ingestion pays nothing for it.
async fn id_bounds<S: MessageSource>(
    source: &S,
    query: &MessageQuery,
) -> Result<IdBounds, StoreError> {
    if query.created_from.is_none() && query.created_to.is_none() {
        return Ok(IdBounds::default());
    }
    let mut bounds = IdBounds::default();
    if let Some(t) = query.created_from {
        bounds.from = source.first_id_at(t.saturating_sub(CLOCK_SLACK_MS)).await?;
    }
    if let Some(t) = query.created_to {
        bounds.to = source.first_id_at(t.saturating_add(CLOCK_SLACK_MS)).await?;
    }
    Ok(bounds)
}

/// Reads up to `limit` rows (or ids) of `query` in its scope, newest first: one statement
/// when every store is read, else one per store, merged.
async fn read<S: MessageSource, T>(
    source: &S,
    query: &MessageQuery,
    returning: Returning,
    limit: usize,
    id_of: fn(&T) -> i64,
    run: impl AsyncFn(&S, Select) -> Result<Vec<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let search = query.search.as_deref().and_then(keys::search);
    let stores = query.stores();
    if stores.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Vec::new());
    }
    let ids = id_bounds(source, query).await?;
    let n = limit as i64;
    let Some(stores) = stores else {
        let select = query::select(query, None, search.as_ref(), ids, returning, n);
        return run(source, select).await;
    };
    let mut rows = Vec::new();
    for store in stores {
        let select = query::select(query, Some(store), search.as_ref(), ids, returning, n);
        rows.extend(run(source, select).await?);
    }
    rows.sort_by_key(|r| std::cmp::Reverse(id_of(r)));
    rows.truncate(limit);
    Ok(rows)
}

pub(crate) async fn messages<S: MessageSource>(
    source: &S,
    query: &MessageQuery,
) -> Result<MessagePage, StoreError> {
    let limit = query.limit.clamp(1, MAX_PAGE) as usize;
    // One more than a page says whether another page follows.
    let mut rows = read(
        source,
        query,
        Returning::Rows,
        limit + 1,
        |r: &MessageRow| r.id,
        async |s: &S, select| s.select_rows(&select).await,
    )
    .await?;
    let next_before_id = (rows.len() > limit).then(|| rows[limit - 1].id);
    rows.truncate(limit);
    Ok(MessagePage {
        rows,
        next_before_id,
    })
}

pub(crate) async fn retry_now<S: MessageSource>(
    source: &S,
    scope: &StoreScope,
    job_id: i64,
) -> Result<RetryNow, StoreError> {
    // Read, then write guarded by what was read; a job that changed in between is read again.
    for _ in 0..5 {
        let Some((store, state, run_at)) = source.job_place(job_id).await? else {
            return Ok(RetryNow::NotFound);
        };
        if !scope.allows(&store) {
            return Ok(RetryNow::NotFound);
        }
        let now = crate::clock::now_ms();
        if state != JobState::Queued {
            return Ok(RetryNow::NotQueued(state));
        }
        if run_at <= now {
            return Ok(RetryNow::AlreadyDue);
        }
        if source.run_now(job_id, now).await? {
            return Ok(RetryNow::Scheduled);
        }
    }
    Err(StoreError::Invalid(format!(
        "job {job_id} kept changing while it was being retried; try again"
    )))
}

pub(crate) async fn replay_in_scope<S: MessageSource>(
    source: &S,
    scope: &StoreScope,
    job_id: i64,
) -> Result<ReplayOutcome, StoreError> {
    match source.job_place(job_id).await? {
        Some((store, _, _)) if scope.allows(&store) => source.replay(job_id).await,
        _ => Ok(ReplayOutcome::NotFound),
    }
}

pub(crate) async fn replay_shown<S: MessageSource>(
    source: &S,
    query: &MessageQuery,
) -> Result<ReplayedShown, StoreError> {
    if query.state.is_some_and(|s| s != JobState::Dead) {
        return Ok(ReplayedShown::default());
    }
    let dead = MessageQuery {
        state: Some(JobState::Dead),
        before_id: None,
        ..query.clone()
    };
    let mut ids = read(
        source,
        &dead,
        Returning::Ids,
        REPLAY_SHOWN_MAX + 1,
        |id: &i64| *id,
        async |s: &S, select| s.select_ids(&select).await,
    )
    .await?;
    let more = ids.len() > REPLAY_SHOWN_MAX;
    ids.truncate(REPLAY_SHOWN_MAX);
    // Concurrently, so SQLite's writer commits them in a few group commits, not one each.
    let outcomes: Vec<_> = futures_util::stream::iter(ids)
        .map(|id| source.replay(id))
        .buffer_unordered(64)
        .collect()
        .await;
    let mut done = ReplayedShown {
        more,
        ..ReplayedShown::default()
    };
    for outcome in outcomes {
        match outcome? {
            ReplayOutcome::Requeued => done.requeued += 1,
            _ => done.unchanged += 1,
        }
    }
    Ok(done)
}
