//! A Buzzbip-compatible server (PRODUCT.md §7): the project's stand-in for Buzzbip in tests, the
//! demo and `serve --sandbox`, and a merchant's way to try a store profile by hand.

mod api;
mod control;
mod delivery;
mod events;
mod jwt;
pub mod model;
mod remote;
mod state;
pub mod stores;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use serde::Deserialize;

pub use events::sign as sign_event;
pub use model::{
    Account, Call, DeliveryConfig, DeliveryUpdate, EventsTarget, Fault, FaultKind, FaultTarget,
    FileInfo, HeaderKind, Inbound, Media, PostedEvent, Template, TemplateState,
};
pub use remote::SandboxControl;

const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// Accounts and templates the sandbox starts with, how long its tokens live, how sends move
/// towards delivered, and where events are posted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    #[serde(default = "default_ttl")]
    pub token_ttl_secs: u64,
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub templates: Vec<Template>,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Where `message.sent`/`message.failed`/`message.received` events are posted (none when
    /// unset), signed with `events_secret`.
    #[serde(default)]
    pub events_url: Option<String>,
    #[serde(default)]
    pub events_secret: Option<String>,
}

fn default_ttl() -> u64 {
    3600
}

impl Default for SandboxConfig {
    fn default() -> Self {
        toml::from_str(DEFAULT_CONFIG).expect("the built-in sandbox config parses")
    }
}

impl SandboxConfig {
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read sandbox config {}", path.display()))?;
        // Through the profiles' own error rendering: toml's would quote the line, passwords and
        // all.
        let shown = path.display();
        let doc = crate::stores::profile::parse_toml(&text)
            .map_err(|p| anyhow::anyhow!("invalid sandbox config {shown}: {}", p.message))?;
        let config: Self = serde_path_to_error::deserialize(doc).map_err(|e| {
            let key = e.path().to_string();
            let problem = crate::stores::profile::type_problem(
                &text,
                &key,
                &e.into_inner().to_string(),
                &Default::default(),
            );
            anyhow::anyhow!("invalid sandbox config {shown}: {key}: {}", problem.message)
        })?;
        if let Some(url) = &config.events_url {
            check_events_url(url).map_err(|why| {
                anyhow::anyhow!("invalid sandbox config {shown}: events_url: {why}")
            })?;
        }
        Ok(config)
    }

    pub fn account(&self, username: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.username == username)
    }
}

/// An events URL the sandbox can post to: http or https, with a host.
fn check_events_url(raw: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    Ok(())
}

/// The sandbox's state behind one lock (no handler holds it across an `.await`), and the client
/// it posts events with.
pub struct Shared {
    state: Mutex<state::State>,
    events_http: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running sandbox; dropping the handle leaves it running until the runtime ends.
pub struct SandboxHandle {
    pub addr: SocketAddr,
    server: actix_web::dev::ServerHandle,
    shared: web::Data<Shared>,
    ticker: tokio::task::AbortHandle,
}

/// Adds accounts and templates to a running sandbox: a store added or changed while
/// `serve --sandbox` runs gets its account (and its rules' templates), instead of a false
/// "wrong username or password".
#[derive(Clone)]
pub struct Provisioner(web::Data<Shared>);

impl Provisioner {
    /// Accounts are added or updated by username, templates added when missing (one defined
    /// already, by the sandbox config or a test, is kept as it is).
    pub fn provision(&self, config: &SandboxConfig) {
        let mut state = self.0.lock();
        for account in &config.accounts {
            state
                .accounts
                .insert(account.username.clone(), account.clone());
        }
        for template in &config.templates {
            state
                .templates
                .entry(template.id)
                .or_insert_with(|| template.clone());
        }
    }
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT`, to use as a store's `buzzbip.base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn provisioner(&self) -> Provisioner {
        Provisioner(self.shared.clone())
    }

    pub fn control(&self) -> SandboxControl {
        SandboxControl::new(&self.base_url()).expect("a socket address makes a valid URL")
    }

    pub async fn stop(self) {
        self.ticker.abort();
        self.server.stop(true).await;
    }
}

/// The server, and the task posting events as sends settle (it runs until aborted or the runtime
/// ends: must be called inside a Tokio runtime).
fn server(
    config: &SandboxConfig,
    listener: TcpListener,
    workers: usize,
) -> std::io::Result<(
    actix_web::dev::Server,
    web::Data<Shared>,
    tokio::task::AbortHandle,
)> {
    let shared = web::Data::new(Shared {
        state: Mutex::new(state::State::new(config)),
        events_http: events::http_client(),
    });
    let ticker = tokio::spawn(events::ticker(shared.clone())).abort_handle();
    let data = shared.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .app_data(web::PayloadConfig::new(1024 * 1024))
            .configure(api::configure)
            .configure(control::configure)
            .default_service(web::to(api::not_found))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok((server, data, ticker))
}

/// Starts a sandbox on `listener` inside the current Tokio runtime (port 0 is fine).
pub fn spawn(config: &SandboxConfig, listener: TcpListener) -> std::io::Result<SandboxHandle> {
    let addr = listener.local_addr()?;
    let (server, shared, ticker) = server(config, listener, 1)?;
    let handle = server.handle();
    tokio::spawn(server);
    Ok(SandboxHandle {
        addr,
        server: handle,
        shared,
        ticker,
    })
}

/// `shopbip sandbox`: serves until Ctrl-C.
pub async fn run(config: &SandboxConfig, host: &str, port: u16) -> anyhow::Result<()> {
    let listener = TcpListener::bind((host, port))
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let addr = listener.local_addr()?;
    println!("Buzzbip sandbox listening on http://{addr}");
    println!("  token lifetime: {} s", config.token_ttl_secs);
    for a in &config.accounts {
        println!(
            "  account {:<24} password {:<16} x-api-key {}{}",
            a.username,
            a.password,
            a.api_key,
            if a.api_access {
                ""
            } else {
                "  (no API access)"
            }
        );
    }
    for t in &config.templates {
        println!(
            "  template {:<6} {:<20} {} placeholder(s), {:?} header, {:?}",
            t.id, t.name, t.placeholders, t.header, t.state
        );
    }
    let d = &config.delivery;
    println!(
        "  delivery: accepted, sent after {} ms, delivered after {} ms; {} number(s) not on WhatsApp",
        d.sent_after_ms,
        d.delivered_after_ms,
        d.not_on_whatsapp.len()
    );
    match &config.events_url {
        Some(url) => println!(
            "  events posted to {url} ({})",
            if config.events_secret.is_some() {
                "signed"
            } else {
                "unsigned: no events_secret"
            }
        ),
        None => println!("  events: not posted (no events_url)"),
    }
    println!("  control API: http://{addr}/_sandbox/calls (see README)");
    server(config, listener, 2)?.0.await?;
    Ok(())
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn config_errors_never_quote_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sandbox.toml");
        for text in [
            "[[accounts]]\nusername = \"a\"\npassword = \"hunter2-s3cret\napi_key = \"k\"\n",
            "[[accounts]]\nusername = \"a\"\npassword = [\"hunter2-s3cret\"]\napi_key = \"k\"\n",
        ] {
            std::fs::write(&file, text).unwrap();
            let err = format!("{:#}", SandboxConfig::from_file(&file).unwrap_err());
            assert!(err.contains("sandbox.toml"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
