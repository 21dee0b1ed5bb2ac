//! Jobs as operators see them (admin API and `shopbip jobs`): phone numbers masked, the order
//! summarised, the steps with their results.
//!
//! Times: every `…_at` field is an RFC 3339 UTC string with milliseconds
//! (`2026-12-02T20:55:17.123Z`) and has its epoch-milliseconds twin beside it under `…_at_ms`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::jobs::{EventRecord, Job};
use crate::order::format_money;
use crate::telemetry::{mask_phone, redact_phones};

#[derive(Debug, Serialize, ToSchema)]
pub struct JobSummary {
    pub id: i64,
    pub store_id: String,
    pub order_id: String,
    pub order_number: String,
    /// Canonical event, e.g. `order.paid`.
    pub event: String,
    /// The template the send went with (its language's, for a rule with `template_ids`);
    /// before the send, the rule's (its default language's).
    pub template_id: u64,
    /// queued, running, done, skipped or dead.
    pub state: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub replays: u32,
    pub last_error: Option<String>,
    /// When the job was made (RFC 3339, UTC, milliseconds).
    #[schema(example = "2026-12-02T20:55:17.123Z")]
    pub created_at: String,
    /// `created_at` in epoch milliseconds.
    pub created_at_ms: i64,
    /// When the job last changed (RFC 3339).
    pub updated_at: String,
    pub updated_at_ms: i64,
    /// When the job runs next, or ran last (RFC 3339).
    pub run_at: String,
    pub run_at_ms: i64,
    /// What became of the message once sent: accepted, sent, delivered, read, failed or
    /// unknown; absent before a send.
    pub message_state: Option<String>,
    /// A reconciliation sweep found the order through the shop's API: no webhook had brought
    /// this event (`[reconcile]`).
    pub recovered: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: JobSummary,
    /// The webhook delivery the job came from (absent if its event row is gone).
    pub delivery: Option<DeliveryView>,
    pub order: OrderView,
    pub rule: serde_json::Value,
    /// Results of the steps so far (phone masked): `to`, `country_code`, `invoice_number`,
    /// `pdf_sha256`, `media_id`, `send_started_at` (RFC 3339, with `send_started_at_ms`
    /// beside it), `language` and `template_id` (what the send went with),
    /// `whatsapp_bulk_group_id`, and the earlier runs of a replayed job under
    /// `previous_runs`.
    pub steps: serde_json::Value,
    /// What the operator should know although the job went on (an order whose own numbers
    /// do not add up).
    pub warnings: Vec<String>,
    /// The worker holding the job while it runs.
    pub locked_by: Option<String>,
    /// When that worker's lease ends (RFC 3339).
    pub locked_until: Option<String>,
    pub locked_until_ms: Option<i64>,
    /// The message's fate after the send (delivery lookups and Buzzbip's events).
    pub message_status: Option<MessageStatusView>,
    /// The note written back on the shop's order.
    pub writeback: Option<serde_json::Value>,
}

/// A sent message's delivery state with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageStatusView {
    /// accepted, sent, delivered, read, failed or unknown.
    pub state: String,
    /// The state as Buzzbip wrote it (kept for `unknown`).
    pub raw: Option<String>,
    /// Why it failed, in full (phones masked).
    pub reason: Option<String>,
    /// When that state was reached (RFC 3339).
    pub at: Option<String>,
    pub at_ms: Option<i64>,
    /// The next delivery lookup (RFC 3339); absent: no more lookups.
    pub next_lookup_at: Option<String>,
    pub lookups: u32,
    /// Every change: `state`, `raw`, `at`, `seen_at`, `reason`, `via` (lookup or event).
    pub history: serde_json::Value,
}

/// The stored webhook delivery a job came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The stored event's id.
    pub id: i64,
    pub platform: String,
    /// The platform's own topic (`order.updated`, `orders/paid`).
    pub topic: String,
    /// What deduplicates the delivery (the platform's delivery or event id; for an order a
    /// reconciliation sweep found, `reconcile:{order id}:{topic}:{change time in ms}`).
    pub delivery_key: String,
    /// When shopbip received it (RFC 3339).
    pub received_at: String,
    pub received_at_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub number: String,
    /// The order's name as the customer sees it (`#1001`).
    pub name: String,
    pub status: Option<String>,
    pub total: String,
    pub customer: String,
    pub phone: Option<String>,
    pub lines: usize,
    pub payment: PaymentView,
}

/// The order's payment block.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// The platform's method id (`cod`, `bacs`, `shopify_payments`).
    pub method: Option<String>,
    pub title: Option<String>,
    /// `cod`, `online`, `bank_transfer` or `other`.
    pub kind: String,
    pub paid: bool,
}

pub fn summary(job: &Job) -> JobSummary {
    JobSummary {
        id: job.id,
        store_id: job.store_id.clone(),
        order_id: job.order_id.clone(),
        order_number: job.order.number.clone(),
        event: job.kind.to_string(),
        // The template sent (the language's, with `template_ids`), else the rule's default.
        template_id: job
            .steps
            .get("template_id")
            .and_then(|t| t.as_u64())
            .unwrap_or(job.rule.template_id),
        state: job.state.to_string(),
        attempts: job.attempts,
        max_attempts: job.max_attempts,
        replays: job.replays,
        last_error: job.last_error.as_deref().map(redact_phones),
        created_at: rfc3339_ms(job.created_at),
        created_at_ms: job.created_at,
        updated_at: rfc3339_ms(job.updated_at),
        updated_at_ms: job.updated_at,
        run_at: rfc3339_ms(job.run_at),
        run_at_ms: job.run_at,
        message_state: job.delivery.state.clone(),
        recovered: job.recovered,
    }
}

pub fn detail(job: &Job, event: Option<EventRecord>) -> JobDetail {
    let o = &job.order;
    let phone = o
        .billing
        .as_ref()
        .and_then(|a| a.phone.clone())
        .or_else(|| o.shipping.as_ref().and_then(|a| a.phone.clone()))
        .or_else(|| o.customer.phone.clone());
    JobDetail {
        job: summary(job),
        delivery: event.map(|e| DeliveryView {
            id: e.id,
            platform: e.platform,
            topic: e.topic,
            delivery_key: e.delivery_key,
            received_at: rfc3339_ms(e.received_at),
            received_at_ms: e.received_at,
        }),
        order: OrderView {
            id: o.id.clone(),
            number: o.number.clone(),
            name: o.display_name().to_owned(),
            status: o.status.clone(),
            total: format_money(o.total, &o.currency),
            customer: o.customer.full_name(),
            phone: phone.as_deref().map(mask_phone),
            lines: o.lines.len(),
            payment: PaymentView {
                method: o.payment.method.clone(),
                title: o.payment.title.clone(),
                kind: o.payment.kind.to_string(),
                paid: o.payment.paid,
            },
        },
        rule: serde_json::to_value(&job.rule).unwrap_or_default(),
        steps: steps_view(&job.steps),
        warnings: job
            .steps
            .get("warnings")
            .and_then(|w| w.as_array())
            .map(|w| {
                w.iter()
                    .filter_map(|s| s.as_str().map(redact_phones))
                    .collect()
            })
            .unwrap_or_default(),
        locked_by: job.locked_by.clone(),
        locked_until: job.locked_until.map(rfc3339_ms),
        locked_until_ms: job.locked_until,
        message_status: message_status(job),
        writeback: (job
            .writeback
            .detail
            .as_object()
            .is_some_and(|o| !o.is_empty())
            || job.writeback.at.is_some())
        .then(|| {
            let mut w = steps_view(&job.writeback.detail);
            if let (Some(at), Some(o)) = (job.writeback.at, w.as_object_mut()) {
                o.insert("next_attempt_at".into(), rfc3339_ms(at).into());
            }
            w
        }),
    }
}

fn message_status(job: &Job) -> Option<MessageStatusView> {
    let d = &job.delivery;
    let state = d.state.clone()?;
    let text = |k: &str| d.detail.get(k).and_then(|v| v.as_str()).map(redact_phones);
    Some(MessageStatusView {
        state,
        raw: text("raw"),
        reason: text("reason"),
        at: d.at.map(rfc3339_ms),
        at_ms: d.at,
        next_lookup_at: d.poll_at.map(rfc3339_ms),
        lookups: d.polls,
        history: steps_view(d.detail.get("history").unwrap_or(&serde_json::Value::Null)),
    })
}

/// Epoch milliseconds as RFC 3339 in UTC with milliseconds: `2026-12-02T20:55:17.123Z`.
pub fn rfc3339_ms(ms: i64) -> String {
    let secs = crate::platforms::unix_rfc3339(ms.div_euclid(1000));
    let secs = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{secs}.{:03}Z", ms.rem_euclid(1000))
}

/// The steps as recorded, for operators: every `to` (also inside `previous_runs`) and every
/// `phone` (an order fetched from the platform's API is kept on the steps) masked, and any
/// phone-looking run of digits in other text (warnings, an order's notes) too, as the job's
/// `last_error` is, but not in identifiers (`*_id`, `invoice_number`, a hash), which would
/// otherwise lose their digits; the
/// worker's epoch-ms times (`send_started_at`) as RFC 3339 with the number beside them under
/// `…_ms`, like the job's own times.
fn steps_view(steps: &serde_json::Value) -> serde_json::Value {
    match steps {
        serde_json::Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("to" | "phone", serde_json::Value::String(s)) => {
                        out.insert(k.clone(), mask_phone(s).into());
                    }
                    (key, serde_json::Value::Number(n)) if key.ends_with("_at") => {
                        match n.as_i64() {
                            Some(ms) if !map.contains_key(&format!("{key}_ms")) => {
                                out.insert(k.clone(), rfc3339_ms(ms).into());
                                out.insert(format!("{key}_ms"), v.clone());
                            }
                            _ => {
                                out.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    (key, serde_json::Value::String(_)) if is_identifier(key) => {
                        out.insert(k.clone(), v.clone());
                    }
                    _ => {
                        out.insert(k.clone(), steps_view(v));
                    }
                }
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(items) => items.iter().map(steps_view).collect(),
        serde_json::Value::String(s) => redact_phones(s).into(),
        other => other.clone(),
    }
}

fn is_identifier(key: &str) -> bool {
    key == "id"
        || key.ends_with("_id")
        || key.ends_with("_ids")
        || key.ends_with("number")
        || key.ends_with("sha256")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_print_as_rfc3339() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_796_244_917_123), "2026-12-02T20:55:17.123Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn step_times_get_their_rfc3339_twin_and_phones_are_masked() {
        let steps = serde_json::json!({
            "to": "21696816277",
            "send_started_at": 1_796_244_917_123_i64,
            "previous_runs": [{ "send_started_at": 0, "last_error": "no WhatsApp on 21696816277" }],
            "warnings": ["customer note: call +216 96 816 277"],
            "whatsapp_bulk_group_id": "1234567890123",
            "invoice_number": "INV-2026-00012345",
        });
        let view = steps_view(&steps);
        let text = view.to_string();
        assert!(
            !text.contains("816277") && !text.contains("816 277"),
            "{text}"
        );
        assert_eq!(view["whatsapp_bulk_group_id"], "1234567890123");
        assert_eq!(view["invoice_number"], "INV-2026-00012345");
        assert_eq!(view["send_started_at"], "2026-12-02T20:55:17.123Z");
        assert_eq!(view["send_started_at_ms"], 1_796_244_917_123_i64);
        assert_eq!(
            view["previous_runs"][0]["send_started_at"],
            "1970-01-01T00:00:00.000Z"
        );
        assert!(view["to"].as_str().unwrap().contains('•'));
    }
}
