//! `POST /webhooks/{store_id}`: verify over the raw bytes, parse once, store the event and its
//! jobs in one transaction, answer. No upstream call happens here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Semaphore;

use super::AppState;
use crate::jobs::{IngestOutcome, NewEvent};
use crate::platforms::{Headers, Parsed, Verified};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/{store_id}", web::post().to(receive));
}

async fn receive(
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    let store_id = path.into_inner();
    // The store first: a body for a store that does not exist is never read, and nothing a
    // stranger sends to a made-up store id takes memory or a metrics series.
    let store = state.stores.load().get(&store_id).cloned();
    let (outcome, response) = match store {
        None => (
            Outcome::new("unknown_store"),
            closing(
                HttpResponse::NotFound(),
                &format!(
                    "unknown store {:?}",
                    crate::telemetry::untrusted(&store_id).to_string()
                ),
            ),
        ),
        Some(store) => match read_body(&req, payload, &state.body_limits).await {
            Ok(body) => handle(&store, &req, &body, &state).await,
            Err(refused) => {
                let (label, response) = refused.answer(&state.body_limits);
                (Outcome::new(label), response)
            }
        },
    };
    let store_label = if outcome.label == "unknown_store" {
        "unknown".to_owned()
    } else {
        store_id.clone()
    };
    if outcome.label == "bad_signature" {
        state.count_signature_failure(&store_id);
    }
    metrics::counter!(crate::metrics::WEBHOOKS, "store" => store_label, "outcome" => outcome.label)
        .increment(1);
    metrics::histogram!(crate::metrics::WEBHOOK_SECONDS).record(started.elapsed().as_secs_f64());
    // The store id comes from the URL and the order id from the body: escaped and cut.
    tracing::info!(
        store = %crate::telemetry::untrusted(&store_id),
        outcome = outcome.label,
        order = %crate::telemetry::untrusted(outcome.order_id.as_deref().unwrap_or("")),
        jobs = outcome.jobs,
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "webhook"
    );
    response
}

struct Outcome {
    label: &'static str,
    order_id: Option<String>,
    jobs: usize,
}

impl Outcome {
    fn new(label: &'static str) -> Self {
        Self {
            label,
            order_id: None,
            jobs: 0,
        }
    }
}

async fn handle(
    store: &crate::stores::Store,
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
) -> (Outcome, HttpResponse) {
    let headers = request_headers(req);
    let platform = store.platform.adapter();
    match platform.verify(
        &headers,
        body,
        &store.webhook_secrets,
        store.webhook_tolerance,
    ) {
        Ok(Verified::Signed) => {}
        Ok(Verified::Ping) => {
            return (
                Outcome::new("ping"),
                HttpResponse::Ok().json(json!({"status": "pong"})),
            );
        }
        Err(e) => {
            return (
                Outcome::new("bad_signature"),
                error(HttpResponse::Unauthorized(), &e.to_string()),
            );
        }
    }
    let mut event = match platform.parse(&headers, body) {
        Ok(Parsed::Event(event)) => *event,
        Ok(Parsed::Ignored { topic, reason }) => {
            return (
                Outcome::new("ignored"),
                HttpResponse::Ok()
                    .json(json!({"status": "ignored", "topic": topic, "reason": reason})),
            );
        }
        Err(e) => {
            return (
                Outcome::new("bad_body"),
                error(HttpResponse::BadRequest(), &e.to_string()),
            );
        }
    };
    if let Err(e) = event.order.check_amounts() {
        return (
            Outcome::new("bad_body"),
            error(HttpResponse::BadRequest(), &e),
        );
    }
    store.complete_order(&mut event.order);
    let meta_keys = &store.invoice.number_meta_keys;
    if !meta_keys.is_empty()
        && let Some(number) = platform.invoice_number(body, meta_keys)
    {
        event.order.invoice_number = Some(number);
    }
    let rules = store.rules_matching(&event.kinds, &event.order);
    let mut outcome = Outcome::new("ignored");
    outcome.order_id = Some(event.order.id.clone());
    if rules.is_empty() {
        let events: Vec<&str> = event.kinds.iter().map(|k| k.as_str()).collect();
        return (
            outcome,
            HttpResponse::Ok().json(json!({
                "status": "ignored",
                "event": events.join(","),
                "reason": if store.rules.iter().any(|r| event.kinds.contains(&r.on)) {
                    "no [[notify]] rule for this event and this order's payment"
                } else {
                    "no [[notify]] rule for this event"
                },
            })),
        );
    }
    let new = NewEvent {
        store_id: store.id.to_string(),
        platform: store.platform.to_string(),
        kind: event.kind(),
        delivery_key: event.delivery_key,
        topic: event.topic,
        order: event.order,
        rules,
    };
    match state.jobs.ingest(new).await {
        Ok(IngestOutcome::DuplicateDelivery) => {
            outcome.label = "duplicate";
            (
                outcome,
                HttpResponse::Ok().json(json!({"status": "duplicate"})),
            )
        }
        Ok(IngestOutcome::Stored {
            event_id,
            jobs_created,
            jobs_existing,
        }) => {
            outcome.label = "accepted";
            outcome.jobs = jobs_created;
            (
                outcome,
                HttpResponse::Ok().json(Accepted {
                    event_id,
                    jobs_created,
                    jobs_existing,
                    status: "accepted",
                }),
            )
        }
        Err(e) => {
            // Not bad input: the platform should retry, so a 5xx is the honest answer.
            tracing::error!(store = %store.id, error = %e, "could not store a verified webhook");
            outcome.label = "store_error";
            (
                outcome,
                error(
                    HttpResponse::ServiceUnavailable(),
                    "could not store the event; retry later",
                ),
            )
        }
    }
}

/// How webhook bodies are read: at most `max_bytes` each, whole within `timeout`, and all the
/// bodies being read at once together within `in_flight` (KiB permits).
pub struct BodyLimits {
    pub max_bytes: usize,
    pub timeout: Duration,
    pub in_flight: Arc<Semaphore>,
}

/// Every webhook body being read at once holds at most this much memory together (or four
/// bodies of the largest size, if more): a flood of clients sending large bodies gets 503 (and
/// retries) instead of the server's memory.
pub const BODY_BUDGET_KIB: usize = 16 * 1024;

impl BodyLimits {
    pub fn new(max_bytes: usize, timeout: Duration) -> Self {
        let budget = BODY_BUDGET_KIB.max(max_bytes.div_ceil(1024).saturating_mul(4));
        Self {
            max_bytes,
            timeout,
            in_flight: Arc::new(Semaphore::new(budget.min(Semaphore::MAX_PERMITS))),
        }
    }
}

/// The raw body, never decompressed (a compressed body is refused before it is read: a few KB
/// of zstd inflate to gigabytes), refused past `max_bytes` as it arrives, and cut off at the
/// deadline with the connection closed. Memory it holds is counted against the shared budget
/// until the request ends.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limits: &BodyLimits,
) -> Result<web::Bytes, Refused> {
    if let Some(encoding) = req.headers().get(header::CONTENT_ENCODING) {
        let encoding = String::from_utf8_lossy(encoding.as_bytes());
        if !encoding.trim().eq_ignore_ascii_case("identity") {
            // Echoed back: escaped and cut, it is the sender's own text.
            return Err(Refused::Encoded(encoding.escape_debug().take(64).collect()));
        }
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes) {
        return Err(Refused::TooLarge);
    }
    let deadline = tokio::time::Instant::now() + limits.timeout;
    // Memory is counted as it is taken, as bytes arrive: an idle connection holds none of the
    // budget. Each chunk is copied out at once (a chunk handed over by the HTTP layer keeps its
    // whole read buffer alive), into a buffer whose every growth is counted.
    let mut held = Vec::new();
    let mut body = web::BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Err(_) => return Err(Refused::Late),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(Refused::Broken(e.to_string())),
            Ok(Some(Ok(chunk))) => chunk,
        };
        let needed = body.len() + chunk.len();
        if needed > limits.max_bytes {
            return Err(Refused::TooLarge);
        }
        if needed > body.capacity() {
            let grown = needed.max(body.capacity() * 2).min(limits.max_bytes);
            let kib = u32::try_from((grown - body.capacity()).div_ceil(1024))
                .map_err(|_| Refused::TooLarge)?;
            let permit = limits
                .in_flight
                .clone()
                .try_acquire_many_owned(kib)
                .map_err(|_| Refused::Busy)?;
            held.push(permit);
            body.reserve(grown - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    // The permits go with this function; the body itself is handed on and dropped when the
    // request ends, moments later.
    drop(held);
    Ok(body.freeze())
}

/// Why a body was not read to its end.
enum Refused {
    /// A `Content-Encoding` (escaped, cut) other than `identity`.
    Encoded(String),
    TooLarge,
    /// Not all there by the deadline.
    Late,
    Broken(String),
    /// The bodies being read at once already hold the whole budget.
    Busy,
}

impl Refused {
    /// The outcome label and the answer, which closes the connection: the rest of the body
    /// is not read.
    fn answer(self, limits: &BodyLimits) -> (&'static str, HttpResponse) {
        match self {
            Refused::Encoded(encoding) => (
                "bad_body",
                closing(
                    HttpResponse::UnsupportedMediaType(),
                    &format!(
                        "Content-Encoding {encoding} is not accepted: webhooks are signed over \
                         the bytes as sent, uncompressed"
                    ),
                ),
            ),
            Refused::TooLarge => (
                "too_large",
                closing(
                    HttpResponse::PayloadTooLarge(),
                    &format!("body larger than the {}-byte limit", limits.max_bytes),
                ),
            ),
            Refused::Late => (
                "body_timeout",
                closing(
                    HttpResponse::RequestTimeout(),
                    &format!(
                        "the body was not received within {} s",
                        limits.timeout.as_secs()
                    ),
                ),
            ),
            Refused::Broken(why) => (
                "bad_body",
                closing(
                    HttpResponse::BadRequest(),
                    &format!("the body could not be read: {why}"),
                ),
            ),
            Refused::Busy => {
                let mut busy = HttpResponse::ServiceUnavailable();
                busy.insert_header((header::RETRY_AFTER, "5"));
                (
                    "busy",
                    closing(
                        busy,
                        "too many webhook bodies are being received at once; retry later",
                    ),
                )
            }
        }
    }
}

/// The answer to every stored webhook, written straight out rather than built as a JSON tree
/// first; fields in the order `json!` printed them.
#[derive(serde::Serialize)]
struct Accepted {
    event_id: i64,
    jobs_created: usize,
    jobs_existing: usize,
    status: &'static str,
}

/// A request's headers as the platform adapters read them (the ingestion benchmark's parse-only
/// server uses this too, so it does exactly the handler's work).
pub fn request_headers(req: &HttpRequest) -> Headers {
    Headers::new(req.headers().iter().map(|(k, v)| {
        (
            k.as_str().to_owned(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
    }))
}

/// An error answer that also closes the connection: the rest of the body is not read.
fn closing(mut builder: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    builder.force_close();
    error(builder, message)
}

fn error(mut builder: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    builder.json(json!({ "error": message }))
}
