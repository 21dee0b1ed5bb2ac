//! `shopbip serve`: the webhook receiver, the workers and the lease reaper in one process;
//! with `--sandbox`, every store talks to an in-process Buzzbip sandbox instead.

use crate::app::{Application, load_stores};
use std::sync::{Arc, OnceLock};

use crate::sandbox::stores::{provisioned, route_events, with_sandbox};
use crate::settings::Settings;
use crate::stores::reload::as_loaded;

pub async fn run(settings: Settings, use_sandbox: bool) -> anyhow::Result<()> {
    if let Some(problem) = settings.problems().into_iter().next() {
        anyhow::bail!("invalid settings: {problem}");
    }
    let mut registry = load_stores(&settings)?;
    let unknown = settings
        .console
        .unknown_stores(|id| registry.get(id).is_some());
    if let Some(problem) = unknown.into_iter().next() {
        anyhow::bail!("invalid settings: {problem}");
    }
    let mut sandbox = None;
    let mut transform = as_loaded();
    let events_base: Arc<OnceLock<String>> = Arc::default();
    if use_sandbox {
        let (handle, stores) = with_sandbox(&registry)?;
        tracing::info!(url = %handle.base_url(), "every store talks to the in-process Buzzbip sandbox (control API under /_sandbox)");
        registry = stores;
        // Each store's sandbox account posts its events to this server (signed with the
        // store's buzzbip.webhook_secret), once the server's address is known, and again
        // after every reload: the whole loop, delivery and STOP included, on one machine.
        let provision = provisioned(handle.provisioner(), handle.base_url());
        let provisioner = handle.provisioner();
        let base = events_base.clone();
        transform = Arc::new(move |registry| {
            let registry = provision(registry);
            if let Some(base) = base.get() {
                route_events(&provisioner, &registry, base);
            }
            registry
        });
        sandbox = Some(handle);
    }
    let stores = registry.len();
    let service = Application::build(&settings, registry, transform).await?;
    if let Some(handle) = &sandbox {
        let base = format!("http://127.0.0.1:{}", service.port);
        route_events(&handle.provisioner(), &service.stores.load(), &base);
        let _ = events_base.set(base);
    }
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
