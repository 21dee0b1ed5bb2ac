//! The HTTP side: the webhook receiver and health routes, built from settings so tests can run
//! the real server on port 0.

mod health;
mod webhooks;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use arc_swap::ArcSwap;

use crate::jobs::JobStore;
use crate::settings::Settings;
use crate::stores::StoreRegistry;

/// What every request handler can reach.
pub struct AppState {
    /// Swapped whole on reload; a request reads it once.
    pub stores: Arc<ArcSwap<StoreRegistry>>,
    pub jobs: Arc<dyn JobStore>,
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `server.host:server.port` (port 0 picks a free one) and builds the server.
    pub fn build(
        settings: &Settings,
        stores: Arc<ArcSwap<StoreRegistry>>,
        jobs: Arc<dyn JobStore>,
    ) -> anyhow::Result<Self> {
        let addr = (settings.server.host.as_str(), settings.server.port);
        let listener = TcpListener::bind(addr).with_context(|| {
            format!(
                "cannot listen on {}:{}",
                settings.server.host, settings.server.port
            )
        })?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState { stores, jobs });
        let max_body = settings.server.max_body_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                // Bodies over the limit get 413 before any handler runs.
                .app_data(web::PayloadConfig::new(max_body))
                .configure(webhooks::configure)
                .configure(health::configure)
        })
        .listen(listener)?
        .disable_signals()
        .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
