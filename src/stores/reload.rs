//! Hot reload of `plugin-config/`: on any change in the folder (editors and Kubernetes replace
//! files by rename, so the folder is watched, not the files) and on SIGHUP, every profile is
//! loaded and validated again and swapped in whole; an invalid set keeps the last good one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher};
use tokio::task::JoinHandle;

use super::{StoreCheck, StoreRegistry};

/// Changes arriving within this window (an editor's write-rename-chmod) cause one reload.
const DEBOUNCE: Duration = Duration::from_millis(300);

pub type Transform = Arc<dyn Fn(StoreRegistry) -> StoreRegistry + Send + Sync>;

/// Stores as loaded (no change on reload).
pub fn as_loaded() -> Transform {
    Arc::new(|registry| registry)
}

#[derive(Clone)]
pub struct Reloader {
    dir: PathBuf,
    stores: Arc<ArcSwap<StoreRegistry>>,
    /// Applied to every loaded set (`serve --sandbox` points stores at its sandbox).
    transform: Transform,
    /// What `check` checks beyond each profile (the invoice template compiles).
    check: Arc<StoreCheck>,
}

impl Reloader {
    pub fn new(
        dir: PathBuf,
        stores: Arc<ArcSwap<StoreRegistry>>,
        transform: Transform,
        check: Arc<StoreCheck>,
    ) -> Self {
        Self {
            dir,
            stores,
            transform,
            check,
        }
    }

    /// Loads and swaps; false (old profiles kept, each problem logged) when any profile is bad.
    pub fn reload(&self, why: &str) -> bool {
        // `check`'s validation, templates compiled: a store that would fail every job is
        // never swapped in.
        match StoreRegistry::load_valid(&self.dir, self.check.as_ref()) {
            Ok(registry) => {
                let registry = (self.transform)(registry);
                let count = registry.len();
                self.stores.store(Arc::new(registry));
                metrics::counter!(crate::metrics::CONFIG_RELOADS, "outcome" => "applied")
                    .increment(1);
                tracing::info!(stores = count, why, "store profiles reloaded");
                true
            }
            Err(errors) => {
                metrics::counter!(crate::metrics::CONFIG_RELOADS, "outcome" => "refused")
                    .increment(1);
                for e in &errors {
                    tracing::error!(problem = %e, why, "store profiles not reloaded: keeping the last good configuration");
                }
                false
            }
        }
    }

    /// Watches the folder and SIGHUP for as long as the task runs. The watch starts before
    /// this returns, so no change made after it can be missed.
    pub fn spawn(self) -> JoinHandle<()> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Reading the profiles is itself an access event: only changes count.
            if event.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
                let _ = tx.send(());
            }
        });
        let watcher = match watcher {
            Ok(mut w) => match w.watch(&self.dir, RecursiveMode::NonRecursive) {
                Ok(()) => Some(w),
                Err(e) => {
                    tracing::warn!(dir = %self.dir.display(), error = %e, "cannot watch the store folder; reload with SIGHUP");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "no file watcher; reload with SIGHUP");
                None
            }
        };
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        tokio::spawn(async move {
            let _watcher = watcher;
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hup.as_mut() {
                        Some(s) => {
                            s.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<()>();
                tokio::select! {
                    changed = rx.recv() => {
                        if changed.is_none() {
                            std::future::pending::<()>().await;
                        }
                        tokio::time::sleep(DEBOUNCE).await;
                        while rx.try_recv().is_ok() {}
                        self.reload("files changed");
                    }
                    () = hangup => {
                        self.reload("SIGHUP");
                    }
                }
            }
        })
    }
}
