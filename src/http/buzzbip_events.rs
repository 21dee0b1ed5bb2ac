//! `POST /buzzbip/events/{store_id}`: the events Buzzbip posts (BUZZBIP.md "Events"). The
//! signature (`X-BuzzBip-Signature`: hex HMAC-SHA256 of the raw body with the store's
//! `buzzbip.webhook_secret`) is checked over the bytes as received, in constant time, and a
//! store without that secret refuses every event (fail closed). A verified event is stored
//! once per id and answered at once; `worker::buzzbip_events` does the rest.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::{Value, json};

use super::AppState;
use super::error::IngestError;
use super::webhooks::read_body;
use crate::clock::now_ms;
use crate::jobs::NewBuzzbipEvent;
use crate::platforms::VerifyError;
use crate::platforms::signature::verify_hex_body;
use crate::telemetry::untrusted;

pub const SIGNATURE_HEADER: &str = "X-BuzzBip-Signature";
/// Longer ids are not Buzzbip's (`evt_7f3a9b2c`): refused rather than stored.
const MAX_EVENT_ID: usize = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/buzzbip/events/{store_id}", web::post().to(receive));
}

async fn receive(
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    let store_id = path.into_inner();
    let result = receive_for(&store_id, &req, payload, &state).await;
    let (label, response) = match &result {
        Ok((true, answer)) => ("duplicate", HttpResponse::Ok().json(answer)),
        Ok((false, answer)) => ("stored", HttpResponse::Ok().json(answer)),
        Err(e) => (e.label(), e.error_response()),
    };
    let store_label = match result {
        Err(IngestError::UnknownStore(_)) => "unknown".to_owned(),
        _ => store_id.clone(),
    };
    metrics::counter!(crate::metrics::BUZZBIP_EVENTS, "store" => store_label, "outcome" => label)
        .increment(1);
    tracing::info!(
        store = %untrusted(&store_id),
        outcome = label,
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "buzzbip event"
    );
    response
}

/// Whether the event was a duplicate, and the answer's body.
async fn receive_for(
    store_id: &str,
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(bool, Value), IngestError> {
    let store = state
        .stores
        .load()
        .get(store_id)
        .cloned()
        .ok_or_else(|| IngestError::UnknownStore(untrusted(store_id).to_string()))?;
    let body = read_body(req, payload, &state.body_limits).await?;
    let Some(secret) = store.buzzbip_webhook_secret.clone() else {
        return Err(IngestError::BadSignature(VerifyError::NotConfigured(
            "buzzbip.webhook_secret",
        )));
    };
    let header = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    verify_hex_body(SIGNATURE_HEADER, header, &body, &[secret])?;
    let envelope: Value = serde_json::from_slice(&body)
        .map_err(|e| IngestError::BadBody(format!("the event is not JSON: {e}")))?;
    let field = |k: &str| envelope.get(k).and_then(Value::as_str).map(str::trim);
    let (Some(id), Some(kind)) = (field("id"), field("type")) else {
        return Err(IngestError::BadBody(
            "the event has no `id` or no `type`".into(),
        ));
    };
    if id.is_empty() || id.len() > MAX_EVENT_ID || kind.is_empty() || kind.len() > MAX_EVENT_ID {
        return Err(IngestError::BadBody(
            "the event's `id` or `type` is empty or too long".into(),
        ));
    }
    let event = NewBuzzbipEvent {
        store_id: store.id.to_string(),
        event_id: id.to_owned(),
        kind: kind.to_owned(),
        body: String::from_utf8_lossy(&body).into_owned(),
        received_at: now_ms(),
    };
    let stored = state
        .buzzbip_events
        .store_buzzbip_event(&event)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not store a Buzzbip event");
            IngestError::Unstored
        })?;
    if stored {
        state.events_wake.notify_one();
    }
    let status = if stored { "stored" } else { "duplicate" };
    Ok((!stored, json!({"status": status, "id": event.event_id})))
}
