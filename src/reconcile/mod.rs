//! Reconciliation (issue 20): every `reconcile.every_minutes`, each store with
//! `[reconcile] enabled = true` has the orders its shop changed since its watermark listed
//! through the shop's API (`platforms::reconcile`) and stored through the same ingestion as
//! webhooks (`crate::ingest`), so an order whose webhook never came is still messaged, once:
//! jobs are made only for (order, event, rule) that have none. Replicas sweep a store one at a
//! time (a lease in the database); a sweep that dies is resumed from its watermark. After each
//! sweep, the shop's own view of our webhook subscription is checked (`health`).

mod health;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::jobs::{JobQueue, JobReads, JobStore, RetryPolicy, Sweeps};
use crate::stores::{Store, StoreRegistry};
pub use health::{check_subscription, record_subscription};
pub use sweep::{OrderOutcome, Outcome, SweepError, SweepOptions, SweepReport, sweep_store};

/// How often the loop looks for a store whose sweep is due.
pub const TICK: Duration = Duration::from_secs(30);

/// What sweeps need: the job store's parts, the stores, the platforms' API client.
#[derive(Clone)]
pub struct Sweeper {
    pub queue: Arc<dyn JobQueue>,
    pub reads: Arc<dyn JobReads>,
    pub sweeps: Arc<dyn Sweeps>,
    pub stores: Arc<ArcSwap<StoreRegistry>>,
    /// `platforms::api::client`: timeouts, no redirects.
    pub client: reqwest::Client,
    /// Who holds a lease: this process, unique across replicas and restarts.
    pub owner: String,
    /// After a failed sweep, when the next is due (the job store's schedule).
    pub retry: RetryPolicy,
}

impl Sweeper {
    /// The sweeper of a process over `jobs` (each part of the store it uses), with a lease
    /// owner of its own.
    pub fn new(
        jobs: Arc<dyn JobStore>,
        stores: Arc<ArcSwap<StoreRegistry>>,
        client: reqwest::Client,
        retry: RetryPolicy,
    ) -> Self {
        Sweeper {
            queue: jobs.clone(),
            reads: jobs.clone(),
            sweeps: jobs,
            stores,
            client,
            owner: Self::new_owner(),
            retry,
        }
    }

    /// A lease owner no other process (or an earlier run of this one) has.
    fn new_owner() -> String {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        format!(
            "sweep-{host}-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        )
    }
}

/// Sweeps every enabled store whose sweep is due, every [`TICK`], until `shutdown`.
pub async fn run(sweeper: Sweeper, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let stores: Vec<Arc<Store>> = sweeper
            .stores
            .load()
            .iter()
            .filter(|s| s.reconcile.enabled && s.reconcile.access.is_some())
            .cloned()
            .collect();
        for store in stores {
            if *shutdown.borrow() {
                return;
            }
            let options = SweepOptions {
                due_only: true,
                ..SweepOptions::default()
            };
            match sweep_store(&sweeper, &store, &options).await {
                Ok(report) => {
                    if let Some(error) = &report.error {
                        tracing::warn!(store = %store.id, error = %error, "reconciliation sweep stopped short; it resumes from its watermark");
                    }
                    health::after_sweep(&sweeper, &store).await;
                }
                // Another replica sweeps it, or it is not due: nothing to say.
                Err(SweepError::Busy { .. } | SweepError::NotDue) => {}
                Err(e) => {
                    tracing::error!(store = %store.id, error = %e, "reconciliation sweep failed")
                }
            }
        }
    }
}
