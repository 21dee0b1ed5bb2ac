//! Reconciliation sweeps (issue 20): per platform, a loopback stand-in for the shop's API
//! serving orders built from the real-payload corpus (`tests/fixtures/real/`), with pagination,
//! a 429 with `Retry-After` and a slow page; the sweep through the real service and store.

mod bigcommerce;
mod shopify;
mod shopware;
mod standard;
mod stripe;
mod sweeps;
mod woocommerce;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shopbip::reconcile::{SweepOptions, SweepReport};

use crate::common::app::TestApp;

/// A request the stand-in received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What the stand-in answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Waited before answering (a slow page).
    pub delay: Duration,
}

impl Reply {
    pub fn json(value: serde_json::Value) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: b"{}".to_vec(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A platform API on loopback: every request is kept (`seen`) and answered by `handler`.
pub struct StandIn {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    _server: actix_web::dev::ServerHandle,
}

impl StandIn {
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests whose path ends with `suffix`.
    pub fn calls(&self, suffix: &str) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|s| s.path.ends_with(suffix))
            .collect()
    }
}

pub fn stand_in(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> StandIn {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let handler = Arc::new(handler);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen2 = seen.clone();
    let server = HttpServer::new(move || {
        let (seen, handler) = (seen2.clone(), handler.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (seen, handler) = (seen.clone(), handler.clone());
            async move {
                let request = Seen {
                    method: req.method().to_string(),
                    path: req.path().to_owned(),
                    query: req.query_string().to_owned(),
                    headers: req
                        .headers()
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_ascii_lowercase(),
                                v.to_str().unwrap_or("").to_owned(),
                            )
                        })
                        .collect(),
                    body: body.to_vec(),
                };
                seen.lock().unwrap().push(request.clone());
                let reply = handler(&request);
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                let mut answer = HttpResponse::build(
                    actix_web::http::StatusCode::from_u16(reply.status).unwrap(),
                );
                for (k, v) in &reply.headers {
                    answer.insert_header((k.as_str(), v.as_str()));
                }
                answer.body(reply.body)
            }
        }))
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .disable_signals()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    StandIn {
        base,
        seen,
        _server: handle,
    }
}

/// One sweep of `store` now, from its watermark.
pub async fn sweep(app: &TestApp, store: &str) -> SweepReport {
    sweep_with(app, store, SweepOptions::default()).await
}

pub async fn sweep_with(app: &TestApp, store: &str, options: SweepOptions) -> SweepReport {
    app.service.reconcile_now(store, &options).await.unwrap()
}

/// The store's jobs as (order id, event) pairs, sorted.
pub async fn job_keys(app: &TestApp, store: &str) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = app
        .jobs()
        .await
        .into_iter()
        .filter(|j| j.store_id == store)
        .map(|j| (j.order_id, j.kind.as_str().to_owned()))
        .collect();
    keys.sort();
    keys
}
