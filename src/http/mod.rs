//! The HTTP side: the webhook receiver and health routes, built from settings so tests can run
//! the real server on port 0.

pub mod admin;
mod auth;
mod buzzbip_events;
pub mod console;
pub mod error;
mod health;
mod metrics;
mod webhooks;

pub use webhooks::request_headers;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use arc_swap::ArcSwap;

use crate::jobs::{Health, JobQueue, JobReads, JobStore};
use crate::settings::Settings;
use crate::stores::StoreRegistry;

/// What every request handler can reach.
pub struct AppState {
    /// Swapped whole on reload; a request reads it once.
    pub stores: Arc<ArcSwap<StoreRegistry>>,
    /// Webhooks put jobs in; the admin API replays them.
    pub queue: Arc<dyn JobQueue>,
    /// The admin API and the metrics read the store.
    pub reads: Arc<dyn JobReads>,
    /// Readiness.
    pub health: Arc<dyn Health>,
    pub admin_token: secrecy::SecretString,
    pub(crate) body_limits: webhooks::BodyLimits,
    signature_failures: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    /// The same refusals by hour over the last day, for the console's overview.
    pub refusals: console::refusals::RecentRefusals,
    pub console: console::ConsoleState,
    /// Buzzbip's events are stored here, then processed by `worker::buzzbip_events`, woken
    /// through `events_wake`.
    pub buzzbip_events: Arc<dyn crate::jobs::BuzzbipEvents>,
    pub events_wake: Arc<tokio::sync::Notify>,
    /// Opt-out lists, managed by the admin API.
    pub optouts: Arc<dyn crate::jobs::OptOuts>,
    /// Documents' numbers, looked up (never taken) when the console renders one again.
    pub invoice_numbers: Arc<dyn crate::jobs::InvoiceNumbers>,
    /// The reconciliation sweeps' state, shown per store by the admin API.
    pub sweeps: Arc<dyn crate::jobs::Sweeps>,
}

impl AppState {
    pub(crate) fn count_signature_failure(&self, store: &str) {
        let mut map = self
            .signature_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *map.entry(store.to_owned()).or_default() += 1;
        drop(map);
        self.refusals.record(store, crate::clock::now_ms());
    }

    pub(crate) fn signature_failures(&self) -> std::collections::HashMap<String, u64> {
        self.signature_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The actix-web server, bound and built but not yet running.
pub struct Server {
    port: u16,
    server: actix_web::dev::Server,
    events_wake: Arc<tokio::sync::Notify>,
}

impl Server {
    /// Binds `server.host:server.port` (port 0 picks a free one) and builds the server.
    pub fn build(
        settings: &Settings,
        stores: Arc<ArcSwap<StoreRegistry>>,
        jobs: Arc<dyn JobStore>,
    ) -> anyhow::Result<Self> {
        let events_wake = Arc::new(tokio::sync::Notify::new());
        let addr = (settings.server.host.as_str(), settings.server.port);
        let listener = TcpListener::bind(addr).with_context(|| {
            format!(
                "cannot listen on {}:{}",
                settings.server.host, settings.server.port
            )
        })?;
        let port = listener.local_addr()?.port();
        crate::metrics::handle();
        let state = web::Data::new(AppState {
            stores,
            queue: jobs.clone(),
            reads: jobs.clone(),
            health: jobs.clone(),
            admin_token: settings.admin.token.clone(),
            body_limits: webhooks::BodyLimits::new(
                settings.server.max_body_bytes,
                std::time::Duration::from_secs(settings.server.body_timeout_secs),
            ),
            signature_failures: Default::default(),
            refusals: Default::default(),
            console: console::ConsoleState::new(settings.console.clone(), jobs.clone()),
            buzzbip_events: jobs.clone(),
            optouts: jobs.clone(),
            sweeps: jobs.clone(),
            invoice_numbers: jobs,
            events_wake: events_wake.clone(),
        });
        let max_body = settings.server.max_body_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                // Bodies over the limit get 413 before any handler runs.
                .app_data(web::PayloadConfig::new(max_body))
                .wrap_fn(log_request)
                .configure(webhooks::configure)
                .configure(buzzbip_events::configure)
                .configure(health::configure)
                .configure(metrics::configure)
                .configure(admin::configure)
                .configure(console::configure)
        })
        // A request answered before its body was read (413, 503, 408) keeps its connection
        // open this long, its remaining bytes read and dropped, so the client gets to read the
        // answer instead of a reset. Each such connection holds a read buffer of up to 128 KiB
        // meanwhile: actix's default second let a flood of refused clients add tens of MB.
        .client_disconnect_timeout(std::time::Duration::from_millis(250))
        .listen(listener)?
        .disable_signals()
        .run();
        Ok(Self {
            port,
            server,
            events_wake,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Notified when a Buzzbip event is stored: the processing loop waits on it.
    pub fn events_wake(&self) -> Arc<tokio::sync::Notify> {
        self.events_wake.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// One log line per request: method, route path (never the query), status, duration.
fn log_request<S, B>(
    req: actix_web::dev::ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>
+ use<S, B>
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
{
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let fut = srv.call(req);
    async move {
        let res = fut.await;
        if path.starts_with("/webhooks/") {
            // The webhook handler logs its own line, with store and outcome.
            return res;
        }
        let status = match &res {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        tracing::info!(
            method = %crate::telemetry::untrusted(&method),
            path = %crate::telemetry::untrusted(&path),
            status,
            elapsed_us = started.elapsed().as_micros() as u64,
            "request"
        );
        res
    }
}
