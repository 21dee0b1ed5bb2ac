//! The workers inside `shopbip serve`: claim due jobs with a lease, run their steps with the
//! lease renewed, and record the outcome; transient failures go back to the queue with the
//! retry schedule, so a worker slot is never held waiting.

pub mod buzzbip_events;
pub mod delivery;
mod pacer;
pub mod steps;
pub mod writeback;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::FutureExt;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::buzzbip::{ClientOptions, TokenCache};
use crate::clock::now_ms;
use crate::invoice::fetch::{self, FetchOptions};
use crate::jobs::{
    BuzzbipEvents, Deliveries, Failure, InvoiceNumbers, Job, JobQueue, JobReads, JobState,
    JobStore, OptOuts,
};
use crate::settings::{Settings, WorkerSettings};
use crate::stores::StoreRegistry;
use crate::telemetry::redact_phones;
pub use pacer::Pacer;
use steps::Outcome;

/// What the steps need, shared by every job of the process.
pub struct Deps {
    pub jobs: Arc<dyn JobQueue>,
    /// Reads the order a refund's webhook names only (`steps::order::completed`).
    pub reads: Arc<dyn JobReads>,
    pub invoice_numbers: Arc<dyn InvoiceNumbers>,
    pub deliveries: Arc<dyn Deliveries>,
    pub optouts: Arc<dyn OptOuts>,
    pub buzzbip_events: Arc<dyn BuzzbipEvents>,
    /// Swapped whole on reload; a job reads it once.
    pub stores: Arc<ArcSwap<StoreRegistry>>,
    pub stores_dir: PathBuf,
    pub http: reqwest::Client,
    pub tokens: TokenCache,
    pub client_options: ClientOptions,
    pub fetch_clients: fetch::FetchClients,
    /// For platform APIs called with a token (BigCommerce): follows no redirects.
    pub api_client: reqwest::Client,
    pub fetch_options: FetchOptions,
    pub pacer: Pacer,
}

impl Deps {
    pub fn new(
        settings: &Settings,
        jobs: Arc<dyn JobStore>,
        stores: Arc<ArcSwap<StoreRegistry>>,
    ) -> Self {
        let client_options = settings.buzzbip.client_options();
        let fetch_options = FetchOptions::default();
        Self {
            pacer: Pacer::new(settings.worker.rate_per_second, jobs.clone().send_slots()),
            invoice_numbers: jobs.clone(),
            deliveries: jobs.clone(),
            optouts: jobs.clone(),
            buzzbip_events: jobs.clone(),
            reads: jobs.clone(),
            jobs,
            stores,
            stores_dir: settings.stores.dir.clone(),
            http: crate::buzzbip::http_client(&client_options),
            tokens: TokenCache::new(),
            client_options,
            fetch_clients: fetch::FetchClients::new(&fetch_options),
            api_client: crate::platforms::api::client(fetch_options.timeout),
            fetch_options,
        }
    }
}

/// Runs workers until `shutdown` turns true; then stops claiming, gives jobs in flight
/// `shutdown_grace_secs` to finish, and hands back to the queue those that did not.
pub async fn run(deps: Arc<Deps>, settings: WorkerSettings, mut shutdown: watch::Receiver<bool>) {
    if settings.concurrency == 0 {
        // A receive-only replica: jobs are left to the replicas that run workers.
        tracing::info!("worker.concurrency = 0: this process runs no workers");
        return;
    }
    let worker_id = format!("{}-{}", hostname(), std::process::id());
    let lease = Duration::from_secs(settings.lease_secs.max(3));
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let mut running: JoinSet<()> = JoinSet::new();
    let in_flight = Arc::new(std::sync::Mutex::new(
        std::collections::HashSet::<i64>::new(),
    ));
    tracing::info!(worker = %worker_id, concurrency = settings.concurrency, "workers started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        while running.try_join_next().is_some() {}
        let free = slots.available_permits();
        if free == 0 {
            tokio::select! {
                _ = running.join_next() => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let claimed = match deps.jobs.claim(&worker_id, lease, free as u32).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::error!(error = %e, "claiming jobs failed");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(settings.poll_interval_ms)) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        for job in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let (deps, worker_id, in_flight) = (deps.clone(), worker_id.clone(), in_flight.clone());
            in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(job.id);
            running.spawn(async move {
                run_one(&deps, &worker_id, job.clone(), lease).await;
                in_flight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&job.id);
                drop(permit);
            });
        }
    }
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    tracing::info!(
        jobs = running.len(),
        "workers stopping: finishing jobs in flight"
    );
    let finished = tokio::time::timeout(grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        running.abort_all();
        let left: Vec<i64> = in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for id in left {
            let _ = deps.jobs.release(id, &worker_id, now_ms()).await;
        }
    }
    tracing::info!("workers stopped");
}

/// Runs every job that is due now, one at a time, until none is left; returns how many ran.
/// For a process that runs no background workers (`worker.concurrency = 0`): tests drive the
/// worker step by step with it instead of waiting for a poll.
pub async fn run_pending(deps: &Deps, settings: &WorkerSettings) -> anyhow::Result<usize> {
    let worker_id = format!("{}-{}-pending", hostname(), std::process::id());
    let lease = Duration::from_secs(settings.lease_secs.max(3));
    let mut ran = 0;
    loop {
        let claimed = deps.jobs.claim(&worker_id, lease, 1).await?;
        let Some(job) = claimed.into_iter().next() else {
            return Ok(ran);
        };
        run_one(deps, &worker_id, job, lease).await;
        ran += 1;
    }
}

/// A panic in a step is a bug, not a reason to retry: caught here, it ends the job `dead` with
/// the panic's message, instead of unwinding the worker task (whose job would then come back
/// after every lease expiry, attempt after attempt).
async fn caught(steps: impl std::future::Future<Output = Outcome>) -> Outcome {
    std::panic::AssertUnwindSafe(steps)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            let message = redact_phones(&message);
            tracing::error!(panic = %message, "a job step panicked");
            Outcome::Failed(
                format!("internal error: a step panicked ({message}); please report it"),
                Failure::Permanent,
            )
        })
}

/// One job: the steps raced against lease renewal, then the outcome recorded.
async fn run_one(deps: &Deps, worker: &str, job: Job, lease: Duration) {
    let started = std::time::Instant::now();
    let keep_lease = async {
        let mut tick = tokio::time::interval(lease / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            match deps.jobs.renew(job.id, worker, lease).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!(job = job.id, error = %e, "lease renewal failed"),
            }
        }
    };
    let outcome = tokio::select! {
        outcome = caught(steps::run(deps, worker, &job)) => outcome,
        () = keep_lease => {
            tracing::error!(job = job.id, "lost the lease: another worker owns the job now");
            return;
        }
    };
    let recorded = match &outcome {
        Outcome::Done(Some(steps)) => deps.jobs.complete(job.id, worker, steps).await.map(|_| ()),
        Outcome::Done(None) => deps
            .jobs
            .finish(job.id, worker, JobState::Done, None)
            .await
            .map(|_| ()),
        Outcome::Skipped(reason) => deps
            .jobs
            .finish(job.id, worker, JobState::Skipped, Some(reason))
            .await
            .map(|_| ()),
        Outcome::Failed(reason, failure) => deps
            .jobs
            .fail(job.id, worker, &redact_phones(reason), *failure)
            .await
            .map(|_| ()),
        Outcome::Later(wait) => deps
            .jobs
            .release(job.id, worker, now_ms() + wait.as_millis() as i64)
            .await
            .map(|_| ()),
    };
    if let Err(e) = recorded {
        tracing::error!(job = job.id, error = %e, "could not record the job's outcome; its lease will expire and it will run again");
    }
    let (label, reason) = match &outcome {
        Outcome::Done(_) => ("done", None),
        Outcome::Skipped(r) => ("skipped", Some(r.as_str())),
        Outcome::Failed(r, Failure::Permanent) => ("dead", Some(r.as_str())),
        Outcome::Failed(r, Failure::Transient { .. }) => ("retry", Some(r.as_str())),
        Outcome::Later(_) => ("paced", None),
    };
    metrics::counter!(crate::metrics::JOBS_FINISHED, "store" => job.store_id.clone(), "outcome" => label).increment(1);
    match label {
        "retry" => metrics::counter!(crate::metrics::JOB_RETRIES, "store" => job.store_id.clone())
            .increment(1),
        "dead" => metrics::counter!(crate::metrics::JOBS_DEAD, "store" => job.store_id.clone())
            .increment(1),
        _ => {}
    }
    tracing::info!(
        job = job.id,
        store = %job.store_id,
        order = %job.order_id,
        event = %job.kind,
        outcome = label,
        attempt = job.attempts,
        reason = reason.map(redact_phones).unwrap_or_default(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "job"
    );
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "shopbip".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_step_ends_the_job_dead_with_its_message() {
        let outcome = caught(async {
            let amounts: Vec<u32> = Vec::new();
            // What a bug looks like: an index past the end, mid-job.
            Outcome::Skipped(amounts[3].to_string())
        })
        .await;
        match outcome {
            Outcome::Failed(reason, Failure::Permanent) => {
                assert!(reason.contains("panicked"), "{reason}");
                assert!(reason.contains("index out of bounds"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let fine = caught(async { Outcome::Skipped("no phone".into()) }).await;
        assert!(matches!(fine, Outcome::Skipped(r) if r == "no phone"));
    }
}
