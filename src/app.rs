//! The composition root: settings and store profiles in, a running shopbip out (the HTTP
//! receiver, the workers, the lease reaper and the profile reloader). Only this module and
//! `cli` know how the parts are wired; everything below it takes what it needs as arguments.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::jobs::{self, JobStore};
use crate::settings::{Settings, WorkerSettings};
use crate::stores::StoreRegistry;
use crate::stores::reload::{Reloader, Transform};
use crate::worker::{self, Deps};

/// How often leases are checked: a crashed worker's job waits at most its lease plus this.
const REAP_EVERY: Duration = Duration::from_secs(5);
/// How often the delivery lookups and stored Buzzbip events are checked for due work when
/// none was found (a stored event wakes its loop at once).
const AFTER_SEND_EVERY: Duration = Duration::from_secs(1);

/// Loads every profile, or fails with one line per problem.
pub fn load_stores(settings: &Settings) -> anyhow::Result<StoreRegistry> {
    StoreRegistry::load_valid(&settings.stores.dir, &crate::invoice::check_store_template).map_err(
        |errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("invalid store profiles:\n  {}", lines.join("\n  "))
        },
    )
}

/// A running shopbip: receiver, workers, reaper.
pub struct Application {
    pub port: u16,
    pub jobs: Arc<dyn JobStore>,
    pub stores: Arc<ArcSwap<StoreRegistry>>,
    http: actix_web::dev::ServerHandle,
    server: JoinHandle<std::io::Result<()>>,
    shutdown: watch::Sender<bool>,
    workers: JoinHandle<()>,
    reaper: JoinHandle<()>,
    /// The delivery lookups and Buzzbip's events, with the workers (none without them).
    after_send: Vec<JoinHandle<()>>,
    reloader: JoinHandle<()>,
    deps: Arc<Deps>,
    sweeper: crate::reconcile::Sweeper,
    worker_settings: WorkerSettings,
}

impl Application {
    /// Starts everything; `transform` is applied to the profiles whenever they are reloaded.
    pub async fn build(
        settings: &Settings,
        registry: StoreRegistry,
        transform: Transform,
    ) -> anyhow::Result<Self> {
        let jobs = jobs::open(&settings.database.url, settings.worker.retry_policy())
            .await
            .context("cannot open the job store")?;
        Self::build_with(settings, registry, jobs, transform)
    }

    pub fn build_with(
        settings: &Settings,
        registry: StoreRegistry,
        jobs: Arc<dyn JobStore>,
        transform: Transform,
    ) -> anyhow::Result<Self> {
        let stores = Arc::new(ArcSwap::from_pointee(registry));
        let reloader = Reloader::new(
            settings.stores.dir.clone(),
            stores.clone(),
            transform,
            Arc::new(crate::invoice::check_store_template),
        )
        .spawn();
        let app = crate::http::Server::build(settings, stores.clone(), jobs.clone())?;
        let port = app.port();
        let http = app.handle();
        let events_wake = app.events_wake();
        let server = tokio::spawn(app.run_until_stopped());
        let deps = Arc::new(Deps::new(settings, jobs.clone(), stores.clone()));
        let sweeper = crate::reconcile::Sweeper::new(
            jobs.clone(),
            stores.clone(),
            deps.api_client.clone(),
            settings.worker.retry_policy(),
        );
        let (shutdown, rx) = watch::channel(false);
        let workers = tokio::spawn(worker::run(deps.clone(), settings.worker.clone(), rx));
        let reaper = tokio::spawn(jobs::run_reaper(jobs.clone(), REAP_EVERY));
        let after_send = if settings.worker.concurrency > 0 {
            vec![
                tokio::spawn(worker::delivery::run_polls(
                    deps.clone(),
                    AFTER_SEND_EVERY,
                    shutdown.subscribe(),
                )),
                tokio::spawn(worker::writeback::run(
                    deps.clone(),
                    AFTER_SEND_EVERY,
                    shutdown.subscribe(),
                )),
                tokio::spawn(worker::buzzbip_events::run(
                    deps.clone(),
                    events_wake,
                    AFTER_SEND_EVERY,
                    shutdown.subscribe(),
                )),
                tokio::spawn(crate::reconcile::run(sweeper.clone(), shutdown.subscribe())),
            ]
        } else {
            Vec::new()
        };
        Ok(Self {
            port,
            jobs,
            stores,
            http,
            server,
            shutdown,
            workers,
            reaper,
            after_send,
            reloader,
            deps,
            sweeper,
            worker_settings: settings.worker.clone(),
        })
    }

    /// Runs every job due now, one at a time, and returns how many ran: with
    /// `worker.concurrency = 0` (no background workers) a test drives the worker itself.
    pub async fn run_pending_jobs(&self) -> anyhow::Result<usize> {
        worker::run_pending(&self.deps, &self.worker_settings).await
    }

    /// Makes every delivery lookup due now, once; how many (tests, without workers).
    pub async fn poll_deliveries(&self) -> anyhow::Result<usize> {
        worker::delivery::poll_due(&self.deps).await
    }

    /// Makes every write-back to the shops due now, once; how many (tests, without workers).
    pub async fn write_backs(&self) -> anyhow::Result<usize> {
        worker::writeback::write_due(&self.deps).await
    }

    /// Processes every stored Buzzbip event not processed yet; how many (tests, without
    /// workers).
    pub async fn process_buzzbip_events(&self) -> anyhow::Result<usize> {
        worker::buzzbip_events::process_due(&self.deps).await
    }

    /// Runs one reconciliation sweep of `store_id` now (tests, without workers; the loop runs
    /// them with workers).
    pub async fn reconcile_now(
        &self,
        store_id: &str,
        options: &crate::reconcile::SweepOptions,
    ) -> anyhow::Result<crate::reconcile::SweepReport> {
        let store = self
            .stores
            .load()
            .get(store_id)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no store {store_id:?}"))?;
        Ok(crate::reconcile::sweep_store(&self.sweeper, &store, options).await?)
    }

    /// The reconciliation loop's parts, for a test that drives it.
    pub fn sweeper(&self) -> &crate::reconcile::Sweeper {
        &self.sweeper
    }

    /// Graceful stop: no new webhooks, jobs in flight finish (or go back to the queue).
    pub async fn stop(self) {
        self.http.stop(true).await;
        let _ = self.shutdown.send(true);
        let _ = self.workers.await;
        self.reaper.abort();
        // Each of their writes is one statement, and a lookup cut short is leased: it is
        // made again once its lease ends.
        for task in &self.after_send {
            task.abort();
        }
        self.reloader.abort();
        let _ = self.server.await;
    }
}
