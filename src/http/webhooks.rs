//! `POST /webhooks/{store_id}`: verify over the raw bytes, parse once, store the event and its
//! jobs in one transaction, answer. No upstream call happens here.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::jobs::{IngestOutcome, NewEvent};
use crate::platforms::{Headers, Parsed, Verified};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/{store_id}", web::post().to(receive));
}

async fn receive(
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    let store_id = path.into_inner();
    let (outcome, response) = handle(&store_id, &req, &body, &state).await;
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
    tracing::info!(
        store = %store_id,
        outcome = outcome.label,
        order = outcome.order_id.as_deref().unwrap_or(""),
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
    store_id: &str,
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
) -> (Outcome, HttpResponse) {
    let Some(store) = state.stores.load().get(store_id).cloned() else {
        return (
            Outcome::new("unknown_store"),
            error(
                HttpResponse::NotFound(),
                &format!("unknown store {store_id:?}"),
            ),
        );
    };
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
                "reason": "no [[notify]] rule for this event",
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

fn error(mut builder: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    builder.json(json!({ "error": message }))
}
