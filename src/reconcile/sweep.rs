//! One sweep of one store: claim its lease, list the orders changed since its watermark page by
//! page, store each through the webhooks' ingestion where a job is missing, move the
//! watermark once a page is stored, release.

use std::collections::HashSet;
use std::time::Duration;

use crate::clock::now_ms;
use crate::ingest::{Prepared, prepare};
use crate::jobs::{IngestOutcome, JobFilter, RECOVERED_KEY_PREFIX, SweepEnd};
use crate::platforms::reconcile::{ApiError, Found, SweepAccess, list_changed};
use crate::stores::Store;

use super::Sweeper;

/// Orders changed this long before the watermark are listed again: platforms compare times
/// in whole seconds and strictly ("after"), and a page can end between two orders changed in
/// the same second; one listed twice is only checked twice (dedupe).
pub const OVERLAP_MS: i64 = 5 * 60 * 1000;
/// The lease a sweep holds, renewed with each stored page: a sweep whose process died is
/// resumed by another after this.
pub const LEASE: Duration = Duration::from_secs(180);
/// A runaway listing (a platform that keeps giving a next page) ends here; the next sweep
/// goes on from the watermark.
pub const MAX_PAGES: u32 = 500;
/// A 429 or 503 whose `Retry-After` is at most this is waited out within the sweep, at most
/// [`PAGE_TRIES`] times per page; a longer wait ends the sweep until its retry.
const WAIT_IN_SWEEP: Duration = Duration::from_secs(30);
const PAGE_TRIES: u32 = 4;

#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// Only if the store's next sweep is due (the loop); a sweep asked for runs now.
    pub due_only: bool,
    /// List from this time (Unix ms) instead of the watermark.
    pub since: Option<i64>,
    /// List and say what would be sent; store nothing, move nothing.
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No webhook had brought it: jobs were made (`jobs`).
    Recovered { jobs: usize },
    /// Dry run: jobs would be made for these rules (`event → template`).
    WouldSend { rules: Vec<String> },
    /// Every job its events call for exists: its webhook (or an earlier sweep) brought it.
    AlreadyHandled,
    /// No rule sends for it, or it could not be read: why.
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderOutcome {
    pub order_id: String,
    /// The customer-facing number where the platform gives one.
    pub name: String,
    pub events: Vec<String>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    pub store_id: String,
    /// Orders changed at or after this were listed (Unix ms).
    pub since: i64,
    pub pages: u32,
    pub orders: Vec<OrderOutcome>,
    /// The watermark after the sweep (`None`: none yet).
    pub watermark: Option<i64>,
    /// Why the sweep stopped before the last page (it resumes from the watermark).
    pub error: Option<String>,
    /// The wait the platform asked for with the error (a rate limit), if any.
    pub retry_after: Option<Duration>,
    pub dry_run: bool,
}

impl SweepReport {
    pub fn recovered(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Recovered { .. }))
    }

    pub fn already_handled(&self) -> usize {
        self.count(|o| *o == Outcome::AlreadyHandled)
    }

    pub fn would_send(&self) -> usize {
        self.count(|o| matches!(o, Outcome::WouldSend { .. }))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.orders.iter().filter(|o| f(&o.outcome)).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(
        "store {0} gives no API access to list its orders with (see [reconcile] in plugin-config/README.md)"
    )]
    NoAccess(String),
    #[error("another process is sweeping store {store} (its lease ends in {secs} s)")]
    Busy { store: String, secs: i64 },
    #[error("the store's next sweep is not due")]
    NotDue,
    #[error(transparent)]
    Store(#[from] crate::jobs::StoreError),
}

/// Runs one sweep of `store` (see the module). A listing that fails ends the sweep with
/// `report.error` set, the watermark where the last stored page left it.
pub async fn sweep_store(
    sweeper: &Sweeper,
    store: &Store,
    options: &SweepOptions,
) -> Result<SweepReport, SweepError> {
    let access = store
        .reconcile
        .access
        .as_ref()
        .ok_or_else(|| SweepError::NoAccess(store.id.to_string()))?;
    let started = now_ms();
    let id = store.id.as_str();
    let watermark = if options.dry_run {
        sweeper
            .sweeps
            .sweep_record(id)
            .await?
            .and_then(|r| r.watermark)
    } else {
        match sweeper
            .sweeps
            .claim_sweep(id, &sweeper.owner, started, LEASE, options.due_only)
            .await?
        {
            Some(watermark) => watermark,
            None if options.due_only => return Err(SweepError::NotDue),
            None => {
                let until = sweeper
                    .sweeps
                    .sweep_record(id)
                    .await?
                    .and_then(|r| r.lease_until)
                    .unwrap_or(started);
                return Err(SweepError::Busy {
                    store: id.to_owned(),
                    secs: ((until - started) / 1000).max(0),
                });
            }
        }
    };
    let lookback = store.reconcile.lookback.as_millis() as i64;
    let since = options
        .since
        .or(watermark.map(|w| w - OVERLAP_MS))
        .unwrap_or(started - lookback);
    let mut report = SweepReport {
        store_id: id.to_owned(),
        since,
        watermark,
        dry_run: options.dry_run,
        ..SweepReport::default()
    };
    let lost = list_all(sweeper, store, access, options, &mut report).await?;
    if options.dry_run {
        return Ok(report);
    }
    let outcome = if lost {
        "lost_lease"
    } else if report.error.is_some() {
        "failed"
    } else {
        "done"
    };
    metrics::counter!(crate::metrics::RECONCILE_SWEEPS, "store" => id.to_owned(), "outcome" => outcome)
        .increment(1);
    if lost {
        return Ok(report);
    }
    let finished = now_ms();
    let next_at = match &report.error {
        None => started + store.reconcile.every.as_millis() as i64,
        Some(_) => {
            let wait = sweeper.retry.delay(1, report.retry_after);
            finished + wait.min(store.reconcile.every).as_millis() as i64
        }
    };
    let end = SweepEnd {
        next_at,
        finished_at: finished,
        error: report.error.clone(),
        listed: report.orders.len() as i64,
        recovered: report.recovered() as i64,
    };
    sweeper
        .sweeps
        .finish_sweep(id, &sweeper.owner, &end)
        .await?;
    Ok(report)
}

/// Lists and stores every page; true when the lease was lost (another process took over).
async fn list_all(
    sweeper: &Sweeper,
    store: &Store,
    access: &SweepAccess,
    options: &SweepOptions,
    report: &mut SweepReport,
) -> Result<bool, SweepError> {
    let id = store.id.as_str();
    let mut cursor: Option<String> = None;
    let mut newest: Option<i64> = None;
    loop {
        let page = match list_page(sweeper, access, report.since, cursor.as_deref()).await {
            Ok(page) => page,
            Err(e) => {
                if let ApiError::Transient { retry_after, .. } = &e {
                    report.retry_after = *retry_after;
                }
                report.error = Some(e.to_string());
                return Ok(false);
            }
        };
        report.pages += 1;
        for (order_id, reason) in page.skipped {
            report.orders.push(OrderOutcome {
                order_id,
                name: String::new(),
                events: Vec::new(),
                outcome: Outcome::Skipped(reason),
            });
        }
        for found in page.found {
            let outcome = take(sweeper, store, found, options.dry_run).await?;
            report.orders.push(outcome);
        }
        newest = newest.max(page.newest_change);
        let last = page.next.is_none() || report.pages >= MAX_PAGES;
        // Oldest first, everything before this page's newest change is stored now; newest
        // first (Stripe), only once the last page is.
        if !options.dry_run
            && (access.oldest_first() || last)
            && let Some(mark) = newest
        {
            let kept = sweeper
                .sweeps
                .advance_sweep(
                    id,
                    &sweeper.owner,
                    mark,
                    now_ms() + LEASE.as_millis() as i64,
                )
                .await?;
            if !kept {
                tracing::warn!(store = %id, "lost the reconciliation lease to another process; it goes on from the watermark");
                return Ok(true);
            }
            report.watermark = report.watermark.max(Some(mark));
        }
        if last {
            if page.next.is_some() {
                report.error = Some(format!(
                    "stopped after {MAX_PAGES} pages; the next sweep goes on from the watermark"
                ));
            }
            return Ok(false);
        }
        cursor = page.next;
    }
}

/// One page, a short rate limit or unavailability waited out in the sweep (a GET repeated
/// harms nothing).
async fn list_page(
    sweeper: &Sweeper,
    access: &SweepAccess,
    since: i64,
    cursor: Option<&str>,
) -> Result<crate::platforms::reconcile::Page, ApiError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match list_changed(&sweeper.client, access, since, cursor).await {
            Err(ApiError::Transient {
                retry_after: Some(wait),
                ..
            }) if wait <= WAIT_IN_SWEEP && tries < PAGE_TRIES => {
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// What a found order becomes: stored where a job is missing (recovered), else counted.
async fn take(
    sweeper: &Sweeper,
    store: &Store,
    found: Found,
    dry_run: bool,
) -> Result<OrderOutcome, SweepError> {
    let mut event = found.event;
    let order_id = event.order.id.clone();
    let mut outcome = OrderOutcome {
        order_id: order_id.clone(),
        name: event.order.name.clone(),
        events: event.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
        outcome: Outcome::AlreadyHandled,
    };
    // The same change of the same order under the same topic is one delivery: a sweep that
    // lists it again (the overlap, a resumed sweep) stores nothing new. The topic keeps two
    // events of one change apart (a Stripe invoice finalized and paid in the same second).
    event.delivery_key = format!(
        "{RECOVERED_KEY_PREFIX}{order_id}:{}:{}",
        event.topic, found.changed_at
    );
    event.topic = format!("reconcile {}", event.topic);
    let new = match prepare(store, event, found.body.as_deref()) {
        Err(reason) => {
            outcome.outcome = Outcome::Skipped(reason);
            return Ok(outcome);
        }
        Ok(Prepared::Ignored(why)) => {
            let reason = why["reason"].as_str().unwrap_or("no rule").to_owned();
            outcome.outcome = Outcome::Skipped(reason);
            return Ok(outcome);
        }
        Ok(Prepared::Store(new)) => *new,
    };
    let existing: HashSet<(String, String)> = sweeper
        .reads
        .list(&JobFilter {
            store_id: Some(store.id.to_string()),
            order_id: Some(order_id.clone()),
            limit: 200,
            ..JobFilter::default()
        })
        .await?
        .into_iter()
        .map(|j| (j.kind.as_str().to_owned(), j.rule.job_key(&j.order)))
        .collect();
    let missing: Vec<String> = new
        .rules
        .iter()
        .filter(|r| !existing.contains(&(r.on.as_str().to_owned(), r.job_key(&new.order))))
        .map(|r| format!("{} → {}", r.on, r.templates_label()))
        .collect();
    if missing.is_empty() {
        return Ok(outcome);
    }
    if dry_run {
        outcome.outcome = Outcome::WouldSend { rules: missing };
        return Ok(outcome);
    }
    match sweeper.queue.ingest(new).await? {
        IngestOutcome::Stored { jobs_created, .. } if jobs_created > 0 => {
            metrics::counter!(crate::metrics::RECONCILE_RECOVERED, "store" => store.id.to_string())
                .increment(jobs_created.min(1) as u64);
            tracing::info!(
                store = %store.id,
                order = %crate::telemetry::untrusted(&order_id),
                jobs = jobs_created,
                "recovered an order no webhook had brought"
            );
            outcome.outcome = Outcome::Recovered { jobs: jobs_created };
        }
        // Its webhook came in between: dedupe made nothing.
        _ => {}
    }
    Ok(outcome)
}
