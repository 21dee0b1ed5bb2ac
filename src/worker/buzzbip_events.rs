//! What Buzzbip's events do once stored (`POST /buzzbip/events/{store}` answered at once):
//! `message.received` whose text is an opt-out (or resume) keyword lists (or unlists) the
//! sender; `message.sent` / `message.failed` settle the delivery of the job they are about.
//!
//! An event is matched to a job by recipient and time: among the store's jobs sent to that
//! number in the 48 hours before the event (and up to 5 minutes after, for clock skew), the
//! most recent. The v2 send's answer gives a `whatsapp_bulk_group_id`, not the `messageId`
//! events carry, so no id ties the two.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, watch};

use super::Deps;
use super::delivery::{Via, apply, count_change, writes_back};
use crate::buzzbip::{DeliveryObservation, DeliveryState};
use crate::clock::now_ms;
use crate::jobs::BuzzbipEventRecord;
use crate::stores::{OptOutWord, Store};

const EVENT_LEASE: Duration = Duration::from_secs(30);
const MATCH_BEFORE_MS: i64 = 48 * 3_600_000;
const MATCH_AFTER_MS: i64 = 5 * 60_000;

/// What processing an event did, kept on its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    OptedOut(String),
    OptedIn(String),
    Delivery {
        job_id: i64,
        state: String,
    },
    /// Nothing to do, and why.
    Ignored(String),
}

impl Processed {
    fn record(&self) -> String {
        match self {
            Processed::OptedOut(p) => format!("opted out {}", crate::telemetry::mask_phone(p)),
            Processed::OptedIn(p) => format!("opted in {}", crate::telemetry::mask_phone(p)),
            Processed::Delivery { job_id, state } => format!("job {job_id}: {state}"),
            Processed::Ignored(why) => format!("ignored: {why}"),
        }
    }
}

fn text<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Epoch ms of the event's `createdAt`, read as the delivery lookup reads Buzzbip's times.
fn time_ms(s: &str) -> Option<i64> {
    crate::buzzbip::parse_time(s)
}

/// Processes one stored event.
pub async fn process(deps: &Deps, event: &BuzzbipEventRecord) -> anyhow::Result<Processed> {
    let Ok(body) = serde_json::from_str::<Value>(&event.body) else {
        return Ok(Processed::Ignored("the body is not JSON".into()));
    };
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let Some(store) = deps.stores.load().get(&event.store_id).cloned() else {
        anyhow::bail!("store {} is not configured (for now?)", event.store_id);
    };
    match event.kind.as_str() {
        "message.received" => received(deps, &store, &data).await,
        "message.sent" | "message.failed" => {
            let at = text(&body, &["createdAt", "created_at"])
                .and_then(time_ms)
                .unwrap_or(event.received_at);
            settled(deps, &store, &event.kind, &data, at).await
        }
        other => Ok(Processed::Ignored(format!(
            "event type {other:?} is not used"
        ))),
    }
}

async fn received(deps: &Deps, store: &Store, data: &Value) -> anyhow::Result<Processed> {
    let (Some(from), Some(body)) = (text(data, &["from"]), text(data, &["body", "text"])) else {
        return Ok(Processed::Ignored("no sender or no text".into()));
    };
    let from = digits(from);
    if !(8..=15).contains(&from.len()) {
        return Ok(Processed::Ignored(
            "the sender is not a phone number".into(),
        ));
    }
    let phone = format!("+{from}");
    match store.optout.word(body) {
        Some(OptOutWord::Stop) => {
            deps.optouts
                .opt_out(store.id.as_str(), &phone, "keyword", now_ms())
                .await?;
            tracing::info!(store = %store.id, phone = %crate::telemetry::mask_phone(&phone), "customer opted out");
            Ok(Processed::OptedOut(phone))
        }
        Some(OptOutWord::Resume) => {
            deps.optouts.opt_in(store.id.as_str(), &phone).await?;
            tracing::info!(store = %store.id, phone = %crate::telemetry::mask_phone(&phone), "customer opted in again");
            Ok(Processed::OptedIn(phone))
        }
        None => Ok(Processed::Ignored("not an opt-out keyword".into())),
    }
}

async fn settled(
    deps: &Deps,
    store: &Store,
    kind: &str,
    data: &Value,
    at: i64,
) -> anyhow::Result<Processed> {
    let Some(to) = text(data, &["to", "recipient"]).map(digits) else {
        return Ok(Processed::Ignored("no recipient".into()));
    };
    let (raw, state) = if kind == "message.failed" {
        let raw = text(data, &["status"]).unwrap_or("failed");
        (raw.to_owned(), DeliveryState::Failed)
    } else {
        let raw = text(data, &["status"]).unwrap_or("sent");
        (raw.to_owned(), DeliveryState::from_raw(raw))
    };
    let seen = DeliveryObservation {
        state,
        raw,
        at: Some(at),
        reason: text(data, &["error", "reason", "message", "error_message"]).map(String::from),
    };
    // A conflicting write (a lookup at the same moment) is read again and applied on top.
    for _ in 0..3 {
        let candidates = deps
            .deliveries
            .sent_to(
                store.id.as_str(),
                &to,
                at - MATCH_BEFORE_MS,
                at + MATCH_AFTER_MS,
            )
            .await?;
        let Some(job) = candidates
            .into_iter()
            .find(|j| j.steps.get("to").and_then(Value::as_str) == Some(to.as_str()))
        else {
            return Ok(Processed::Ignored(
                "no message sent to that number in the last 48 h".into(),
            ));
        };
        let (update, changed) = apply(
            &job,
            Some(&seen),
            Via::Event,
            None,
            now_ms(),
            writes_back(deps, &job),
        );
        if !changed {
            return Ok(Processed::Ignored(format!(
                "job {} is already {}",
                job.id,
                job.delivery.state.as_deref().unwrap_or("not sent")
            )));
        }
        if deps
            .deliveries
            .record_delivery(job.id, &update, &job.delivery.raw_json)
            .await?
        {
            count_change(&job, &update);
            return Ok(Processed::Delivery {
                job_id: job.id,
                state: update.state.unwrap_or_default(),
            });
        }
    }
    anyhow::bail!("the job's delivery kept changing while this event was applied")
}

/// Processes stored events until `shutdown`; `wake` is notified when one is stored.
pub async fn run(
    deps: Arc<Deps>,
    wake: Arc<Notify>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let n = match process_due(&deps).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "claiming Buzzbip events failed");
                0
            }
        };
        if n == 0 {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Every stored event not yet processed, once; how many were claimed.
pub async fn process_due(deps: &Deps) -> anyhow::Result<usize> {
    let due = deps
        .buzzbip_events
        .claim_buzzbip_events(now_ms(), EVENT_LEASE, 32)
        .await?;
    for event in &due {
        match process(deps, event).await {
            Ok(done) => {
                deps.buzzbip_events
                    .finish_buzzbip_event(event.id, now_ms(), &done.record())
                    .await?;
            }
            // Left leased: tried again when the lease ends.
            Err(e) => {
                tracing::warn!(store = %event.store_id, event = %event.event_id, error = %e, "a Buzzbip event could not be processed yet")
            }
        }
    }
    Ok(due.len())
}
