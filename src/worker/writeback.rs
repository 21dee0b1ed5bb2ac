//! The message's outcome written on the shop's order, for stores whose profile gives API
//! credentials for their platform (`platforms::writeback`): "WhatsApp invoice INV-000123 sent
//! 14:02 UTC · delivered 14:03 UTC", once the delivery is final or its lookups have ended. A
//! write-back that fails never touches the message: it is retried on its own schedule and its
//! outcome is kept on the job (`writeback_json`), shown by the admin API.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

use super::Deps;
use super::delivery::sent_at;
use crate::clock::now_ms;
use crate::jobs::Job;
use crate::platforms::writeback::{Note, WriteBackError, note_tag, note_text, write_back};
use crate::telemetry::redact_phones;

const LEASE: Duration = Duration::from_secs(120);
/// After a failed attempt: 1 min, 5 min, 15 min, 1 h, 3 h, 6 h; then it is given up.
const RETRY_AFTER_MS: [i64; 6] = [60_000, 300_000, 900_000, 3_600_000, 10_800_000, 21_600_000];

/// When attempt `attempts + 1` is due after a transient failure at `now`; `None`: give up.
pub fn next_attempt(now: i64, attempts: u32, retry_after: Option<Duration>) -> Option<i64> {
    let wait = *RETRY_AFTER_MS.get(attempts.saturating_sub(1) as usize)?;
    let asked = retry_after.map_or(0, |d| d.as_millis() as i64);
    Some(now + wait.max(asked))
}

/// The note for `job`: its invoice number, when it was sent, and its final delivery state.
fn note_for(job: &Job, language: &str) -> (String, String) {
    let state = job.delivery.state.as_deref();
    let final_state = state.filter(|s| matches!(*s, "delivered" | "read" | "failed"));
    let reason = job.delivery.detail.get("reason").and_then(Value::as_str);
    let delivery = final_state.map(|s| (s, job.delivery.at.unwrap_or_else(now_ms), reason));
    let number = job.steps.get("invoice_number").and_then(Value::as_str);
    (
        note_text(language, number, sent_at(job), delivery),
        note_tag(final_state),
    )
}

async fn write_one(deps: &Deps, job: &Job) {
    let now = now_ms();
    let store = deps.stores.load().get(&job.store_id).cloned();
    let attempts = job
        .writeback
        .detail
        .get("attempts")
        .and_then(Value::as_u64)
        .unwrap_or(0) as u32
        + 1;
    // The note is made once: what is sent is what is recorded.
    let (text, tag) = store
        .as_ref()
        // The merchant reads it: the store's default language, whatever the customer's.
        .map(|s| note_for(job, &crate::invoice::language::default_language(&s.invoice)))
        .unwrap_or_default();
    let (outcome, label, at, error) = match store.as_ref().and_then(|s| s.api.clone()) {
        None => (
            "skipped",
            "skipped",
            None,
            Some("the store has no platform API credentials (any more)".to_owned()),
        ),
        Some(access) => {
            let note = Note {
                text: &text,
                tag: &tag,
            };
            match write_back(&deps.api_client, &access, &job.order_id, &note).await {
                Ok(_) => ("done", "done", None, None),
                Err(WriteBackError::Transient {
                    reason,
                    retry_after,
                }) => match next_attempt(now, attempts, retry_after) {
                    Some(next) => ("pending", "retry", Some(next), Some(reason)),
                    None => ("failed", "failed", None, Some(reason)),
                },
                Err(WriteBackError::Permanent(reason)) => ("failed", "failed", None, Some(reason)),
            }
        }
    };
    let mut record = json!({
        "state": outcome,
        "attempts": attempts,
        "text": redact_phones(&text),
    });
    if outcome == "done" {
        record["done_at"] = json!(now);
    }
    if let Some(e) = &error {
        record["last_error"] = json!(redact_phones(e));
    }
    match deps
        .deliveries
        .record_writeback(job.id, at, &record.to_string(), &job.writeback.raw_json)
        .await
    {
        Ok(_) => {}
        Err(e) => tracing::error!(job = job.id, error = %e, "could not record a write-back"),
    }
    metrics::counter!(crate::metrics::WRITEBACKS, "store" => job.store_id.clone(), "outcome" => label)
        .increment(1);
    match &error {
        Some(e) if outcome != "skipped" => {
            tracing::warn!(job = job.id, store = %job.store_id, order = %job.order_id, outcome, error = %redact_phones(e), "write-back to the shop failed")
        }
        _ => {
            tracing::info!(job = job.id, store = %job.store_id, order = %job.order_id, outcome, "write-back to the shop")
        }
    }
}

/// Writes back what is due until `shutdown`.
pub async fn run(deps: Arc<Deps>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let due = match deps.deliveries.claim_writebacks(now_ms(), LEASE, 8).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "claiming write-backs failed");
                Vec::new()
            }
        };
        let idle = due.is_empty();
        futures_util::future::join_all(due.iter().map(|job| write_one(&deps, job))).await;
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Every write-back due now, once (tests drive the loop with it).
pub async fn write_due(deps: &Deps) -> anyhow::Result<usize> {
    let due = deps
        .deliveries
        .claim_writebacks(now_ms(), LEASE, 100)
        .await?;
    for job in &due {
        write_one(deps, job).await;
    }
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_back_waits_longer_each_time_then_gives_up() {
        assert_eq!(next_attempt(0, 1, None), Some(60_000));
        assert_eq!(next_attempt(0, 2, None), Some(300_000));
        assert_eq!(
            next_attempt(0, 1, Some(Duration::from_secs(600))),
            Some(600_000),
            "the shop's Retry-After wins when longer"
        );
        assert_eq!(next_attempt(0, 6, None), Some(21_600_000));
        assert_eq!(next_attempt(0, 7, None), None);
    }
}
