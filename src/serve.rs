//! `shopbip serve`: the webhook receiver (workers join with the pipeline).

use std::sync::Arc;

use anyhow::Context;

use crate::http::Application;
use crate::jobs::{self, RetryPolicy};
use crate::settings::Settings;
use crate::stores::StoreRegistry;

/// Loads every profile, or fails with one line per problem.
pub fn load_stores(settings: &Settings) -> anyhow::Result<Arc<StoreRegistry>> {
    StoreRegistry::load_dir(&settings.stores.dir)
        .map(Arc::new)
        .map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("invalid store profiles:\n  {}", lines.join("\n  "))
        })
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let stores = load_stores(&settings)?;
    let jobs = jobs::open(&settings.database.url, RetryPolicy::default())
        .await
        .context("cannot open the job store")?;
    let app = Application::build(&settings, stores.clone(), jobs)?;
    tracing::info!(
        host = %settings.server.host,
        port = app.port(),
        stores = stores.len(),
        "shopbip receiving webhooks on /webhooks/{{store_id}}"
    );
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    handle.stop(true).await;
    server.await??;
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
