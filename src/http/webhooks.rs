//! `POST /webhooks/{store_id}`: verify over the raw bytes, parse once, store the event and its
//! jobs in one transaction, answer. No upstream call happens here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Semaphore;

use super::AppState;
use super::error::IngestError;
use crate::ingest::Prepared;
use crate::jobs::IngestOutcome;
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
    let mut order_id = None;
    let result = receive_for(&store_id, &req, payload, &state, &mut order_id).await;
    let (label, jobs, response) = match &result {
        Ok(taken) => (taken.label(), taken.jobs(), taken.response()),
        Err(e) => (e.label(), 0, e.error_response()),
    };
    if matches!(result, Err(IngestError::BadSignature(_))) {
        state.count_signature_failure(&store_id);
    }
    // Made-up store ids share one series: a stranger cannot grow the metrics.
    let store_label = match result {
        Err(IngestError::UnknownStore(_)) => "unknown".to_owned(),
        _ => store_id.clone(),
    };
    metrics::counter!(crate::metrics::WEBHOOKS, "store" => store_label, "outcome" => label)
        .increment(1);
    metrics::histogram!(crate::metrics::WEBHOOK_SECONDS).record(started.elapsed().as_secs_f64());
    // The store id comes from the URL and the order id from the body: escaped and cut.
    tracing::info!(
        store = %crate::telemetry::untrusted(&store_id),
        outcome = label,
        order = %crate::telemetry::untrusted(order_id.as_deref().unwrap_or("")),
        jobs,
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "webhook"
    );
    response
}

async fn receive_for(
    store_id: &str,
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    order_id: &mut Option<String>,
) -> Result<Taken, IngestError> {
    // The store first: a body for a store that does not exist is never read, and nothing a
    // stranger sends to a made-up store id takes memory or a metrics series.
    let store = state.stores.load().get(store_id).cloned().ok_or_else(|| {
        IngestError::UnknownStore(crate::telemetry::untrusted(store_id).to_string())
    })?;
    let body = read_body(req, payload, &state.body_limits).await?;
    handle(&store, req, &body, state, order_id).await
}

/// What became of a webhook that was taken (answered 200).
enum Taken {
    Ping,
    /// Nothing to do for it; the answer says why.
    Ignored(serde_json::Value),
    /// This delivery was stored before.
    Duplicate,
    Accepted(Accepted),
}

impl Taken {
    fn label(&self) -> &'static str {
        match self {
            Taken::Ping => "ping",
            Taken::Ignored(_) => "ignored",
            Taken::Duplicate => "duplicate",
            Taken::Accepted(_) => "accepted",
        }
    }

    fn jobs(&self) -> usize {
        match self {
            Taken::Accepted(a) => a.jobs_created,
            _ => 0,
        }
    }

    fn response(&self) -> HttpResponse {
        match self {
            Taken::Ping => HttpResponse::Ok().json(json!({"status": "pong"})),
            Taken::Ignored(answer) => HttpResponse::Ok().json(answer),
            Taken::Duplicate => HttpResponse::Ok().json(json!({"status": "duplicate"})),
            Taken::Accepted(accepted) => HttpResponse::Ok().json(accepted),
        }
    }
}

async fn handle(
    store: &crate::stores::Store,
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
    order_id: &mut Option<String>,
) -> Result<Taken, IngestError> {
    let headers = request_headers(req);
    let platform = store.platform.adapter();
    match platform.verify(
        &headers,
        body,
        &store.webhook_secrets,
        store.webhook_tolerance,
    )? {
        Verified::Signed => {}
        Verified::Ping => return Ok(Taken::Ping),
    }
    let event = match platform.parse(&headers, body) {
        Ok(Parsed::Event(event)) => *event,
        Ok(Parsed::Ignored { topic, reason }) => {
            return Ok(Taken::Ignored(
                json!({"status": "ignored", "topic": topic, "reason": reason}),
            ));
        }
        Err(e) => return Err(IngestError::BadBody(e.to_string())),
    };
    let id = event.order.id.clone();
    let new = match crate::ingest::prepare(store, event, Some(body)) {
        Err(reason) => return Err(IngestError::BadBody(reason)),
        Ok(Prepared::Ignored(answer)) => {
            *order_id = Some(id);
            return Ok(Taken::Ignored(answer));
        }
        Ok(Prepared::Store(new)) => {
            *order_id = Some(id);
            *new
        }
    };
    match state.queue.ingest(new).await {
        Ok(IngestOutcome::DuplicateDelivery) => Ok(Taken::Duplicate),
        Ok(IngestOutcome::Stored {
            event_id,
            jobs_created,
            jobs_existing,
        }) => Ok(Taken::Accepted(Accepted {
            event_id,
            jobs_created,
            jobs_existing,
            status: "accepted",
        })),
        Err(e) => {
            tracing::error!(store = %store.id, error = %e, "could not store a verified webhook");
            Err(IngestError::Unstored)
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
/// bodies of the largest size, if more), counting what the HTTP layer buffers for each (see
/// [`HTTP_BUFFERS_PER_CHUNK`]): a flood of clients sending large bodies gets 503 (and retries)
/// instead of the server's memory. 8 MiB still reads a hundred ordinary webhooks at once; at
/// 16 MiB 500 hostile clients made the server peak near 100 MB (BENCHMARKS.md).
pub const BODY_BUDGET_KIB: usize = 8 * 1024;

/// What actix-http holds for a connection whose body is being read, besides our copy, in
/// multiples of the largest chunk it handed over: the read buffer the chunk was cut from
/// (up to 128 KiB while bytes keep coming) and the chunks queued behind it. Counting it keeps
/// the number of connections read at once within the budget too: uncounted, it was most of
/// the memory a flood took. A slow sender's chunks are small, and so is its count.
pub const HTTP_BUFFERS_PER_CHUNK: usize = 2;

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
pub(crate) async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limits: &BodyLimits,
) -> Result<web::Bytes, IngestError> {
    if let Some(encoding) = req.headers().get(header::CONTENT_ENCODING) {
        let encoding = String::from_utf8_lossy(encoding.as_bytes());
        if !encoding.trim().eq_ignore_ascii_case("identity") {
            // Echoed back: escaped and cut, it is the sender's own text.
            return Err(IngestError::Encoded(
                encoding.escape_debug().take(64).collect(),
            ));
        }
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes) {
        return Err(IngestError::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    let deadline = tokio::time::Instant::now() + limits.timeout;
    // Memory is counted as it is taken, as bytes arrive: an idle connection holds none of the
    // budget. Each chunk is copied out at once (a chunk handed over by the HTTP layer keeps its
    // whole read buffer alive), into a buffer whose every growth is counted.
    let mut held = Vec::new();
    let mut buffers_kib = 0u32;
    let mut body = web::BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Err(_) => {
                return Err(IngestError::Late {
                    secs: limits.timeout.as_secs(),
                });
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(IngestError::Broken(e.to_string())),
            Ok(Some(Ok(chunk))) => chunk,
        };
        let buffers =
            u32::try_from(chunk.len().div_ceil(1024) * HTTP_BUFFERS_PER_CHUNK).unwrap_or(u32::MAX);
        if buffers > buffers_kib {
            let permit = limits
                .in_flight
                .clone()
                .try_acquire_many_owned(buffers - buffers_kib)
                .map_err(|_| IngestError::Busy)?;
            held.push(permit);
            buffers_kib = buffers;
        }
        let needed = body.len() + chunk.len();
        if needed > limits.max_bytes {
            return Err(IngestError::TooLarge {
                max_bytes: limits.max_bytes,
            });
        }
        if needed > body.capacity() {
            let grown = needed.max(body.capacity() * 2).min(limits.max_bytes);
            let kib = u32::try_from((grown - body.capacity()).div_ceil(1024)).map_err(|_| {
                IngestError::TooLarge {
                    max_bytes: limits.max_bytes,
                }
            })?;
            let permit = limits
                .in_flight
                .clone()
                .try_acquire_many_owned(kib)
                .map_err(|_| IngestError::Busy)?;
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
