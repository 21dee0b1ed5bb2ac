//! After the send: what the delivery lookups and Buzzbip's events say became of a message,
//! recorded on its job (`jobs::delivery`). The lookups run on a schedule from the send
//! (`jobs::delivery::next_poll`) until a final state (delivered, read, failed) or two days;
//! an event may settle a message sooner. Both go through [`apply`], so a state only moves
//! forward (a late `sent` never undoes `delivered`) and every change is kept in its history.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use super::Deps;
use crate::buzzbip::{BuzzbipClient, DeliveryObservation, DeliveryState, ErrorClass};
use crate::clock::now_ms;
use crate::jobs::delivery::next_poll;
use crate::jobs::{DeliveryUpdate, Job};
use crate::telemetry::redact_phones;

/// How long a claimed lookup is held before another poller may take it.
const POLL_LEASE: Duration = Duration::from_secs(60);
/// A lookup that failed transiently is tried again this much later, at the latest.
const RETRY_LOOKUP_MS: i64 = 60_000;

/// Where a delivery observation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Lookup,
    Event,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Lookup => "lookup",
            Via::Event => "event",
        }
    }
}

/// A state only moves forward: accepted (or unknown) → sent → delivered → read; failed ends it
/// from anywhere before read.
fn rank(state: DeliveryState) -> u8 {
    match state {
        DeliveryState::Accepted | DeliveryState::Unknown => 0,
        DeliveryState::Sent => 1,
        DeliveryState::Delivered => 2,
        DeliveryState::Read => 3,
        DeliveryState::Failed => 4,
    }
}

fn current(job: &Job) -> DeliveryState {
    job.delivery
        .state
        .as_deref()
        .and_then(DeliveryState::parse)
        .unwrap_or(DeliveryState::Accepted)
}

/// When the message was sent: the time recorded before the send call, else when its job
/// closed.
pub fn sent_at(job: &Job) -> i64 {
    job.steps
        .get("send_started_at")
        .and_then(Value::as_i64)
        .or(job.delivery.at)
        .unwrap_or(job.updated_at)
}

/// What a lookup or an event changes on `job`'s delivery at `now`. `seen`: the observation
/// (`None`: a lookup that had nothing yet); `lookup_error`: why a lookup failed (and whether
/// polling should go on). `writes_back`: the store records outcomes on the shop's orders.
/// Answers the update and whether the state changed.
pub fn apply(
    job: &Job,
    seen: Option<&DeliveryObservation>,
    via: Via,
    lookup_error: Option<(&str, bool)>,
    now: i64,
    writes_back: bool,
) -> (DeliveryUpdate, bool) {
    let mut detail = match &job.delivery.detail {
        Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    let cur = current(job);
    let mut state = cur;
    let mut at = job.delivery.at;
    let mut changed = false;
    if let Some(seen) = seen {
        let same_unknown = seen.state == DeliveryState::Unknown
            && detail.get("raw").and_then(Value::as_str) == Some(seen.raw.as_str());
        let forward = rank(seen.state) > rank(cur)
            || (rank(seen.state) == rank(cur) && seen.state != cur && !same_unknown);
        let settled = matches!(cur, DeliveryState::Failed | DeliveryState::Read);
        if forward && !settled {
            changed = true;
            state = seen.state;
            at = Some(seen.at.unwrap_or(now));
            detail.insert("raw".into(), seen.raw.clone().into());
            let reason = seen.reason.as_deref().map(redact_phones);
            match (&reason, seen.state) {
                (Some(r), DeliveryState::Failed) => {
                    detail.insert("reason".into(), r.clone().into());
                }
                _ => {
                    detail.remove("reason");
                }
            }
            let entry = json!({
                "state": seen.state.as_str(),
                "raw": seen.raw,
                "at": at,
                "seen_at": now,
                "reason": reason,
                "via": via.as_str(),
            });
            match detail.get_mut("history").and_then(Value::as_array_mut) {
                Some(history) => history.push(entry),
                None => {
                    detail.insert("history".into(), Value::Array(vec![entry]));
                }
            }
        }
    }
    match lookup_error {
        Some((e, _)) => {
            detail.insert("lookup_error".into(), redact_phones(e).into());
        }
        None if via == Via::Lookup => {
            detail.remove("lookup_error");
        }
        None => {}
    }
    let polls = job.delivery.polls + u32::from(via == Via::Lookup);
    let poll_at = if state.is_final() || lookup_error.is_some_and(|(_, go_on)| !go_on) {
        None
    } else if via == Via::Lookup {
        let next = next_poll(sent_at(job), polls);
        match lookup_error {
            // A failed lookup is tried again soon, within the schedule's end.
            Some(_) => next.map(|n| n.min(now + RETRY_LOOKUP_MS)),
            None => next,
        }
    } else {
        job.delivery.poll_at
    };
    // The shop hears of it once: when the state is final or the lookups have ended.
    let due_now = writes_back
        && (state.is_final() || poll_at.is_none())
        && job.writeback.at.is_none()
        && job.writeback.detail.get("state").is_none();
    let update = DeliveryUpdate {
        state: Some(state.as_str().to_owned()),
        at,
        poll_at,
        polls,
        json: Value::Object(detail).to_string(),
        writeback_at: due_now.then_some(now),
    };
    (update, changed)
}

/// Counts a change (`shopbip_message_status_total`) and, on the first delivered or read, the
/// time since the send.
pub fn count_change(job: &Job, update: &DeliveryUpdate) {
    let Some(state) = update.state.as_deref() else {
        return;
    };
    metrics::counter!(crate::metrics::MESSAGE_STATUS, "store" => job.store_id.clone(), "status" => state.to_owned())
        .increment(1);
    let was = current(job);
    if matches!(state, "delivered" | "read") && rank(was) < rank(DeliveryState::Delivered) {
        let at = update.at.unwrap_or_else(now_ms);
        let secs = (at - sent_at(job)).max(0) as f64 / 1000.0;
        metrics::histogram!(crate::metrics::TIME_TO_DELIVERED, "store" => job.store_id.clone())
            .record(secs);
    }
}

/// Whether the job's store writes outcomes back to the shop.
pub fn writes_back(deps: &Deps, job: &Job) -> bool {
    deps.stores
        .load()
        .get(&job.store_id)
        .is_some_and(|s| s.api.as_ref().is_some_and(|a| a.writes_back()))
}

/// One due lookup: ask Buzzbip, record what it said.
async fn poll_one(deps: &Deps, job: &Job) {
    let now = now_ms();
    let group = job
        .steps
        .get("whatsapp_bulk_group_id")
        .and_then(Value::as_str);
    let to = job.steps.get("to").and_then(Value::as_str);
    let store = deps.stores.load().get(&job.store_id).cloned();
    // Lookups draw from the same per-account budget as the sends: a lookup that would have
    // to wait is moved to when a slot frees, without counting as one.
    if let (Some(_), Some(_), Some(store)) = (group, to, &store)
        && let Some(wait) = deps.pacer.wait(store).await
    {
        let later = DeliveryUpdate {
            state: job.delivery.state.clone(),
            at: job.delivery.at,
            poll_at: Some(now + wait.as_millis() as i64),
            polls: job.delivery.polls,
            json: job.delivery.raw_json.clone(),
            writeback_at: None,
        };
        if let Err(e) = deps
            .deliveries
            .record_delivery(job.id, &later, &job.delivery.raw_json)
            .await
        {
            tracing::error!(job = job.id, error = %e, "could not put off a delivery lookup");
        }
        return;
    }
    let (seen, error) = match (group, to, store) {
        (Some(group), Some(to), Some(store)) => {
            let client = BuzzbipClient::new(
                deps.http.clone(),
                &deps.tokens,
                store.buzzbip.clone(),
                deps.client_options.clone(),
            );
            match client {
                Ok(client) => match client.delivery(group, to).await {
                    Ok(seen) => (seen, None),
                    Err(e) => {
                        let go_on = matches!(e.class(), ErrorClass::Transient { .. });
                        (None, Some((e.to_string(), go_on)))
                    }
                },
                Err(e) => (None, Some((e.to_string(), false))),
            }
        }
        (_, _, None) => (
            None,
            Some((
                format!("store {} is not configured (for now?)", job.store_id),
                true,
            )),
        ),
        _ => (
            None,
            Some((
                "the send recorded no whatsapp_bulk_group_id: nothing to look up".to_owned(),
                false,
            )),
        ),
    };
    let error_ref = error.as_ref().map(|(e, go_on)| (e.as_str(), *go_on));
    let (update, changed) = apply(
        job,
        seen.as_ref(),
        Via::Lookup,
        error_ref,
        now,
        writes_back(deps, job),
    );
    match deps
        .deliveries
        .record_delivery(job.id, &update, &job.delivery.raw_json)
        .await
    {
        Ok(true) => {
            if changed {
                count_change(job, &update);
                tracing::info!(job = job.id, store = %job.store_id, delivery = update.state.as_deref().unwrap_or(""), "delivery status");
            }
            if let Some((e, _)) = &error {
                tracing::warn!(job = job.id, store = %job.store_id, error = %redact_phones(e), "delivery lookup failed");
            }
        }
        // An event changed it meanwhile: its lease ends and it is looked up again.
        Ok(false) => {}
        Err(e) => tracing::error!(job = job.id, error = %e, "could not record a delivery lookup"),
    }
}

/// Looks up due deliveries until `shutdown`, a few at a time.
pub async fn run_polls(deps: Arc<Deps>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let due = match deps.deliveries.claim_polls(now_ms(), POLL_LEASE, 16).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "claiming delivery lookups failed");
                Vec::new()
            }
        };
        let idle = due.is_empty();
        futures_util::future::join_all(due.iter().map(|job| poll_one(&deps, job))).await;
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Every lookup due now, once (tests drive the loop with it).
pub async fn poll_due(deps: &Deps) -> anyhow::Result<usize> {
    let due = deps
        .deliveries
        .claim_polls(now_ms(), POLL_LEASE, 100)
        .await?;
    for job in &due {
        poll_one(deps, job).await;
    }
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent_job() -> Job {
        Job {
            id: 1,
            event_id: 1,
            store_id: "acme".into(),
            order_id: "42".into(),
            kind: crate::order::EventKind::OrderPaid,
            rule: serde_json::from_value(json!({"on": "order.paid", "template_id": 1})).unwrap(),
            state: crate::jobs::JobState::Done,
            attempts: 1,
            max_attempts: 5,
            run_at: 0,
            locked_by: None,
            locked_until: None,
            last_error: None,
            steps: json!({"send_started_at": 1_000_000, "to": "21696816277", "whatsapp_bulk_group_id": "g1"}),
            replays: 0,
            created_at: 0,
            updated_at: 1_000_100,
            order: Default::default(),
            delivery: crate::jobs::Delivery {
                state: Some("accepted".into()),
                at: Some(1_000_100),
                poll_at: Some(1_015_100),
                polls: 0,
                detail: json!({}),
                raw_json: "{}".into(),
            },
            writeback: Default::default(),
            recovered: false,
        }
    }

    fn seen(state: &str, reason: Option<&str>) -> DeliveryObservation {
        DeliveryObservation {
            state: DeliveryState::from_raw(state),
            raw: state.into(),
            at: Some(1_020_000),
            reason: reason.map(String::from),
        }
    }

    fn after(job: &Job, u: &DeliveryUpdate) -> Job {
        let mut next = job.clone();
        next.delivery.state = u.state.clone();
        next.delivery.at = u.at;
        next.delivery.poll_at = u.poll_at;
        next.delivery.polls = u.polls;
        next.delivery.detail = serde_json::from_str(&u.json).unwrap();
        next.delivery.raw_json = u.json.clone();
        next
    }

    #[test]
    fn a_lookup_moves_the_state_forward_and_schedules_the_next() {
        let job = sent_job();
        let (u, changed) = apply(
            &job,
            Some(&seen("sent", None)),
            Via::Lookup,
            None,
            1_016_000,
            false,
        );
        assert!(changed);
        assert_eq!(u.state.as_deref(), Some("sent"));
        assert_eq!(u.polls, 1);
        assert_eq!(
            u.poll_at,
            Some(1_000_000 + 60_000),
            "the second lookup, 1 min after the send"
        );
        let job = after(&job, &u);
        // Nothing yet, then delivered: final, no more lookups, the shop is due a note.
        let (u, changed) = apply(&job, None, Via::Lookup, None, 1_061_000, true);
        assert!(!changed);
        assert_eq!(u.state.as_deref(), Some("sent"));
        assert_eq!(u.writeback_at, None);
        let job = after(&job, &u);
        let (u, changed) = apply(
            &job,
            Some(&seen("delivered", None)),
            Via::Lookup,
            None,
            1_300_000,
            true,
        );
        assert!(changed);
        assert_eq!(u.poll_at, None);
        assert_eq!(u.writeback_at, Some(1_300_000));
        let history: Value = serde_json::from_str(&u.json).unwrap();
        assert_eq!(history["history"].as_array().unwrap().len(), 2);
        // A late "sent" does not undo it.
        let job = after(&job, &u);
        let (u, changed) = apply(
            &job,
            Some(&seen("sent", None)),
            Via::Event,
            None,
            1_400_000,
            true,
        );
        assert!(!changed);
        assert_eq!(u.state.as_deref(), Some("delivered"));
    }

    #[test]
    fn a_failure_keeps_its_reason_masked_and_an_unknown_state_its_raw_value() {
        let job = sent_job();
        let (u, _) = apply(
            &job,
            Some(&seen(
                "undelivered",
                Some("131026: 21696816277 is not on WhatsApp"),
            )),
            Via::Event,
            None,
            1_016_000,
            false,
        );
        assert_eq!(u.state.as_deref(), Some("failed"));
        assert_eq!(u.poll_at, None);
        assert_eq!(u.polls, 0, "an event is not a lookup");
        let d: Value = serde_json::from_str(&u.json).unwrap();
        assert_eq!(d["raw"], "undelivered");
        assert!(d["reason"].as_str().unwrap().contains("not on WhatsApp"));
        assert!(!u.json.contains("816277"), "{}", u.json);
        let (u, changed) = apply(
            &job,
            Some(&seen("on_hold", None)),
            Via::Lookup,
            None,
            1_016_000,
            false,
        );
        assert!(changed);
        assert_eq!(u.state.as_deref(), Some("unknown"));
        let d: Value = serde_json::from_str(&u.json).unwrap();
        assert_eq!(d["raw"], "on_hold");
    }

    #[test]
    fn lookups_end_on_a_permanent_error_and_retry_soon_on_a_transient_one() {
        let job = sent_job();
        let (u, _) = apply(
            &job,
            None,
            Via::Lookup,
            Some(("HTTP 503", true)),
            1_016_000,
            false,
        );
        assert_eq!(u.poll_at, Some(1_000_000 + 60_000));
        let (u, _) = apply(
            &job,
            None,
            Via::Lookup,
            Some(("HTTP 404", false)),
            1_016_000,
            true,
        );
        assert_eq!(u.poll_at, None);
        assert_eq!(
            u.writeback_at,
            Some(1_016_000),
            "the shop hears the message was sent"
        );
        let d: Value = serde_json::from_str(&u.json).unwrap();
        assert_eq!(d["lookup_error"], "HTTP 404");
    }
}
