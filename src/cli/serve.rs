//! `shopbip serve`: the webhook receiver, the workers and the lease reaper in one process;
//! with `--sandbox`, every store talks to an in-process Buzzbip sandbox instead.

use crate::app::{Application, load_stores};
use crate::sandbox::stores::{provisioned, with_sandbox};
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
    if use_sandbox {
        let (handle, stores) = with_sandbox(&registry)?;
        tracing::info!(url = %handle.base_url(), "every store talks to the in-process Buzzbip sandbox (control API under /_sandbox)");
        registry = stores;
        transform = provisioned(handle.provisioner(), handle.base_url());
        sandbox = Some(handle);
    }
    let stores = registry.len();
    let service = Application::build(&settings, registry, transform).await?;
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
