//! Jobs as operators see them (admin API and `shopbip jobs`): phone numbers masked, the order
//! summarised, the steps with their results.

use serde::Serialize;
use utoipa::ToSchema;

use super::{EventRecord, Job};
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
    pub template_id: u64,
    /// queued, running, done, skipped or dead.
    pub state: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub replays: u32,
    pub last_error: Option<String>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub run_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: JobSummary,
    pub event: Option<EventView>,
    pub order: OrderView,
    pub rule: serde_json::Value,
    /// Results of the steps so far (phone masked): `to`, `country_code`, `invoice_number`,
    /// `pdf_sha256`, `media_id`, `send_started_at`, `whatsapp_bulk_group_id`, and the earlier
    /// runs of a replayed job under `previous_runs`.
    pub steps: serde_json::Value,
    /// What the operator should know although the job went on (an order whose own numbers
    /// do not add up).
    pub warnings: Vec<String>,
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    pub platform: String,
    pub topic: String,
    pub delivery_key: String,
    pub received_at: i64,
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
        template_id: job.rule.template_id,
        state: job.state.to_string(),
        attempts: job.attempts,
        max_attempts: job.max_attempts,
        replays: job.replays,
        last_error: job.last_error.as_deref().map(redact_phones),
        created_at: job.created_at,
        updated_at: job.updated_at,
        run_at: job.run_at,
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
        event: event.map(|e| EventView {
            id: e.id,
            platform: e.platform,
            topic: e.topic,
            delivery_key: e.delivery_key,
            received_at: e.received_at,
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
        steps: mask_steps(&job.steps),
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
        locked_until: job.locked_until,
    }
}

/// Masks every `to` (also inside `previous_runs`) and every `phone` (an order fetched from the
/// platform's API is kept on the steps).
fn mask_steps(steps: &serde_json::Value) -> serde_json::Value {
    match steps {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("to" | "phone", serde_json::Value::String(s)) => mask_phone(s).into(),
                        _ => mask_steps(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => items.iter().map(mask_steps).collect(),
        other => other.clone(),
    }
}
