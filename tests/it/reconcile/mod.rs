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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use shopbip::reconcile::{Outcome, SweepOptions, SweepReport};

use crate::common::app::{TestApp, start_with};

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

    /// Rate-limited, to be asked again in a second.
    pub fn too_many_requests() -> Reply {
        Reply::status(429).header("Retry-After", "1")
    }

    /// This answer, 1.5 s late when `slow` (a slow page the sweep must wait for).
    pub fn slow_when(self, slow: bool) -> Reply {
        if slow { self.after(SLOW_PAGE) } else { self }
    }
}

/// How late a slow page answers.
pub const SLOW_PAGE: Duration = Duration::from_millis(1500);

/// A fault a stand-in gives once: `first()` is true on its first call only.
#[derive(Default)]
pub struct Once(AtomicBool);

impl Once {
    pub fn first(&self) -> bool {
        !self.0.swap(true, Ordering::SeqCst)
    }
}

/// A page that answers its first request with a 429 (`Retry-After: 1`), its second slowly,
/// then normally.
#[derive(Default)]
pub struct LimitedThenSlow(AtomicUsize);

impl LimitedThenSlow {
    pub fn answer(&self, reply: Reply) -> Reply {
        match self.0.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::too_many_requests(),
            1 => reply.after(SLOW_PAGE),
            _ => reply,
        }
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

/// A service with workers off (the test runs the jobs) and the store profiles `profiles`
/// gives, as (store id, profile), for the sandbox's URL.
pub async fn start_stores(profiles: impl FnOnce(&str) -> Vec<(String, String)>) -> TestApp {
    start_with(
        move |dir, url| {
            for (store, profile) in profiles(url) {
                std::fs::write(dir.join(format!("{store}.toml")), profile).unwrap();
            }
        },
        |settings| settings.worker.concurrency = 0,
    )
    .await
}

/// `start_stores` with the one store `store`.
pub async fn start_store(store: &str, profile: impl FnOnce(&str) -> String) -> TestApp {
    let store = store.to_owned();
    start_stores(move |url| vec![(store, profile(url))]).await
}

/// Profile lines giving the sweep the `platform` API at the stand-in's `base` with `keys`,
/// and turning the sweep on (`[reconcile]` comes last: a test may add its keys).
pub fn api_access(platform: &str, keys: &[(&str, &str)], base: &str) -> String {
    let mut lines = format!("[{platform}]\n");
    for (key, value) in keys {
        lines += &format!("{key} = \"{value}\"\n");
    }
    lines + &format!("api_base_url = \"{base}\"\n[reconcile]\nenabled = true\n")
}

/// Posts a signed webhook to `store`: it must be taken (200). Its JSON answer.
pub async fn post_webhook(
    app: &TestApp,
    store: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Value {
    let answer = app.post(store, headers, body).await;
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// A webhook's answer when the sweep had already made its `existing` jobs: nothing new.
pub fn assert_made_nothing(answer: &Value, existing: u64) {
    let jobs = |key: &str| answer[key].as_u64();
    let got = (
        answer["status"].as_str(),
        jobs("jobs_created"),
        jobs("jobs_existing"),
    );
    assert_eq!(got, (Some("accepted"), Some(0), Some(existing)), "{answer}");
}

/// Once the queued jobs ran, every send as (template, its last body parameter: the order
/// number in every rule here), sorted; the sandbox must have accepted each.
pub async fn sent_per_template(app: &TestApp) -> Vec<(u64, String)> {
    app.service.run_pending_jobs().await.unwrap();
    let calls = app.sandbox.control.calls_to("/api/v2/whatsapp/templates");
    let mut sends: Vec<(u64, String)> = calls
        .await
        .unwrap()
        .into_iter()
        .map(|call| {
            assert_eq!(call.status, 200, "a refused send: {call:?}");
            let template = call.path.split('/').nth(5).unwrap().parse().unwrap();
            let params = &call.json.as_ref().unwrap()["body_params"];
            let last = params.as_array().unwrap().last().unwrap();
            (template, last.as_str().unwrap().to_owned())
        })
        .collect();
    sends.sort();
    sends
}

/// The order numbers of every send, sorted.
pub async fn sent_numbers(app: &TestApp) -> Vec<String> {
    let sends = sent_per_template(app).await;
    let mut numbers: Vec<String> = sends.into_iter().map(|(_, n)| n).collect();
    numbers.sort();
    numbers
}

/// The order numbers of every send with `template`, sorted.
pub async fn sent_with(app: &TestApp, template: u64) -> Vec<String> {
    let sends = sent_per_template(app).await.into_iter();
    let with = sends.filter(|(t, _)| *t == template);
    with.map(|(_, n)| n).collect()
}

/// A first sweep of `store`, which must wait out a 429's second and a slow page within
/// itself.
pub async fn sweep_waiting(app: &TestApp, store: &str) -> SweepReport {
    let started = Instant::now();
    let report = sweep(app, store).await;
    let (took, least) = (started.elapsed(), Duration::from_secs(1) + SLOW_PAGE);
    assert!(took >= least, "{took:?}: {report:?}");
    report
}

/// Sweeps `store` again: no error, nothing recovered, the store's jobs as they were. The report.
pub async fn sweep_again_changes_nothing(app: &TestApp, store: &str) -> SweepReport {
    let jobs = job_keys(app, store).await;
    let again = sweep(app, store).await;
    let got = (again.recovered(), again.error.clone());
    assert_eq!(got, (0, None), "{again:?}");
    assert_eq!(job_keys(app, store).await, jobs, "a second sweep made jobs");
    again
}

/// A sweep after webhooks brought the orders `handled`: no error, those already handled,
/// `recovered` others recovered; then the sends are `all`, one per order and event.
pub async fn sweep_after_webhooks(
    app: &TestApp,
    store: &str,
    handled: &[&str],
    recovered: usize,
    all: Vec<(u64, String)>,
) {
    let report = sweep(app, store).await;
    assert_eq!(report.error, None, "{report:?}");
    for id in handled {
        assert_eq!(outcome_of(&report, id), &Outcome::AlreadyHandled, "{id}");
    }
    assert_eq!(report.recovered(), recovered, "{report:?}");
    let sends = sent_per_template(app).await;
    assert_eq!(sends, all, "one message per order and event");
}

/// A sweep ended by a refusal: its error names each of `fix` and shows none of `secrets`; no
/// page, no watermark, no job.
pub async fn assert_refused(app: &TestApp, report: &SweepReport, fix: &[&str], secrets: &[&str]) {
    let error = report.error.clone().unwrap_or_default();
    for needle in fix {
        assert!(error.contains(needle), "{needle}: {report:?}");
    }
    for secret in secrets {
        assert!(!error.contains(secret), "{error}");
    }
    assert_eq!((report.pages, report.watermark), (0, None), "{report:?}");
    assert!(job_keys(app, &report.store_id).await.is_empty());
}

/// The ids of the swept orders whose outcome passes `f`, in listing order.
pub fn ids_where(report: &SweepReport, f: impl Fn(&Outcome) -> bool) -> Vec<&str> {
    let orders = report.orders.iter().filter(|o| f(&o.outcome));
    orders.map(|o| o.order_id.as_str()).collect()
}

/// Each swept order as (id, outcome), in listing order.
pub fn outcomes(report: &SweepReport) -> Vec<(&str, &Outcome)> {
    let orders = report.orders.iter();
    orders.map(|o| (o.order_id.as_str(), &o.outcome)).collect()
}

/// The outcome of the swept order `id`; it must have been listed.
pub fn outcome_of<'a>(report: &'a SweepReport, id: &str) -> &'a Outcome {
    let order = report.orders.iter().find(|o| o.order_id == id);
    &order
        .unwrap_or_else(|| panic!("{id} not listed: {report:?}"))
        .outcome
}

/// `at` (Unix ms) is where a first sweep starts: 48 hours back.
pub fn assert_48h_back(at: i64, shown: &str) {
    let since = shopbip::clock::now_ms() - 48 * 3600 * 1000;
    assert!((at - since).abs() < 60_000, "48 h back: {shown}");
}
