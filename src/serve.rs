//! `shopbip serve`: the webhook receiver, the workers and the lease reaper in one process;
//! with `--sandbox`, every store talks to an in-process Buzzbip sandbox instead.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::http::Application;
use crate::jobs::{self, JobStore};
use crate::sandbox::{
    self, Account, HeaderKind, Provisioner, SandboxConfig, SandboxHandle, Template, TemplateState,
};
use crate::settings::Settings;
use crate::stores::reload::{Reloader, Transform};
use crate::stores::{Store, StoreRegistry};
use crate::worker::{self, Deps};

/// How often leases are checked: a crashed worker's job waits at most its lease plus this.
const REAP_EVERY: Duration = Duration::from_secs(5);

/// Loads every profile, or fails with one line per problem.
pub fn load_stores(settings: &Settings) -> anyhow::Result<StoreRegistry> {
    StoreRegistry::load_valid(&settings.stores.dir).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("invalid store profiles:\n  {}", lines.join("\n  "))
    })
}

/// A running shopbip: receiver, workers, reaper.
pub struct Service {
    pub port: u16,
    pub jobs: Arc<dyn JobStore>,
    pub stores: Arc<ArcSwap<StoreRegistry>>,
    http: actix_web::dev::ServerHandle,
    server: JoinHandle<std::io::Result<()>>,
    shutdown: watch::Sender<bool>,
    workers: JoinHandle<()>,
    reaper: JoinHandle<()>,
    reloader: JoinHandle<()>,
}

/// Stores as loaded (no change on reload).
pub fn as_loaded() -> Transform {
    Arc::new(|registry| registry)
}

/// Every reloaded store pointed at the sandbox at `base_url`.
pub fn pointed_at(base_url: String) -> Transform {
    Arc::new(move |registry| repoint(&registry, &base_url))
}

impl Service {
    /// Starts everything; `transform` is applied to the profiles whenever they are reloaded.
    pub async fn start(
        settings: &Settings,
        registry: StoreRegistry,
        transform: Transform,
    ) -> anyhow::Result<Self> {
        let jobs = jobs::open(&settings.database.url, settings.worker.retry_policy())
            .await
            .context("cannot open the job store")?;
        Self::start_with(settings, registry, jobs, transform)
    }

    pub fn start_with(
        settings: &Settings,
        registry: StoreRegistry,
        jobs: Arc<dyn JobStore>,
        transform: Transform,
    ) -> anyhow::Result<Self> {
        let stores = Arc::new(ArcSwap::from_pointee(registry));
        let reloader =
            Reloader::new(settings.stores.dir.clone(), stores.clone(), transform).spawn();
        let app = Application::build(settings, stores.clone(), jobs.clone())?;
        let port = app.port();
        let http = app.handle();
        let server = tokio::spawn(app.run_until_stopped());
        let deps = Arc::new(Deps::new(settings, jobs.clone(), stores.clone()));
        let (shutdown, rx) = watch::channel(false);
        let workers = tokio::spawn(worker::run(deps, settings.worker.clone(), rx));
        let reaper = tokio::spawn(jobs::run_reaper(jobs.clone(), REAP_EVERY));
        Ok(Self {
            port,
            jobs,
            stores,
            http,
            server,
            shutdown,
            workers,
            reaper,
            reloader,
        })
    }

    /// Graceful stop: no new webhooks, jobs in flight finish (or go back to the queue).
    pub async fn stop(self) {
        self.http.stop(true).await;
        let _ = self.shutdown.send(true);
        let _ = self.workers.await;
        self.reaper.abort();
        self.reloader.abort();
        let _ = self.server.await;
    }
}

/// Accounts and templates a sandbox needs so every store's rules can send: each store's
/// credentials, and each rule's template (approved, with as many placeholders as the rule
/// fills) unless the sandbox already defines it.
pub fn sandbox_config_for(registry: &StoreRegistry) -> SandboxConfig {
    let mut config = SandboxConfig::default();
    for store in registry.iter() {
        let b = &store.buzzbip;
        use secrecy::ExposeSecret;
        if config.account(&b.username).is_none() {
            config.accounts.push(Account {
                username: b.username.clone(),
                password: b.password.expose_secret().to_owned(),
                api_key: b.api_key.expose_secret().to_owned(),
                api_access: true,
            });
        }
        for rule in &store.rules {
            if !config.templates.iter().any(|t| t.id == rule.template_id) {
                config.templates.push(Template {
                    id: rule.template_id,
                    name: format!("{}-{}", store.id, rule.on),
                    placeholders: rule.body_params.len(),
                    header: if rule.attach_invoice {
                        HeaderKind::Document
                    } else {
                        HeaderKind::None
                    },
                    state: TemplateState::Approved,
                    url_buttons: rule.buttons.len(),
                });
            }
        }
    }
    config
}

/// The same stores, every one pointed at `base_url`.
pub fn repoint(registry: &StoreRegistry, base_url: &str) -> StoreRegistry {
    StoreRegistry::from_stores(registry.iter().map(|s| {
        let mut store: Store = (**s).clone();
        store.buzzbip.base_url = base_url.to_owned();
        store
    }))
}

/// Every reloaded store given its account (and its rules' templates) in the running sandbox,
/// then pointed at it.
pub fn provisioned(sandbox: Provisioner, base_url: String) -> Transform {
    Arc::new(move |registry| {
        sandbox.provision(&sandbox_config_for(&registry));
        repoint(&registry, &base_url)
    })
}

/// Starts a sandbox for `registry` and returns it with the repointed stores.
pub fn with_sandbox(registry: &StoreRegistry) -> anyhow::Result<(SandboxHandle, StoreRegistry)> {
    let sandbox = sandbox::spawn(
        &sandbox_config_for(registry),
        TcpListener::bind("127.0.0.1:0")?,
    )?;
    let stores = repoint(registry, &sandbox.base_url());
    Ok((sandbox, stores))
}

pub async fn run(settings: Settings, use_sandbox: bool) -> anyhow::Result<()> {
    if let Some(problem) = settings.problems().into_iter().next() {
        anyhow::bail!("invalid settings: {problem}");
    }
    let mut registry = load_stores(&settings)?;
    let mut sandbox = None;
    let mut transform = as_loaded();
    if use_sandbox {
        let (handle, stores) = with_sandbox(&registry)?;
        tracing::info!(url = %handle.base_url(), "every store talks to the in-process Buzzbip sandbox (control API under /_sandbox)");
        registry = stores;
        transform = provisioned(handle.provisioner(), handle.base_url());
        sandbox = Some(handle);
    }
    let stores = registry.len();
    let service = Service::start(&settings, registry, transform).await?;
    tracing::info!(
        host = %settings.server.host,
        port = service.port,
        stores,
        "shopbip receiving webhooks on /webhooks/{{store_id}}"
    );
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests and jobs in flight");
    let jobs = service.jobs.clone();
    service.stop().await;
    jobs.close().await;
    if let Some(s) = sandbox {
        s.stop().await;
    }
    Ok(())
}

/// Ctrl-C or SIGTERM (what orchestrators send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
