//! Step 5: the approved template sent, its document header the uploaded invoice. The send is not
//! idempotent: its start is recorded first, so an attempt after a crash knows a duplicate is
//! possible and says so.

use super::{Deps, Outcome, StepError, Steps, cleanup, context, save, step_done};
use crate::buzzbip::{Button, BuzzbipClient, SendRequest};
use crate::clock::now_ms;
use crate::jobs::Job;
use crate::order::Order;
use crate::stores::placeholders;
use crate::stores::{NotifyRule, Store};

/// What is sent: the rule's parameters and buttons filled from the order.
fn request(
    job: &Job,
    store: &Store,
    order: &Order,
    steps: &Steps,
    recipient: (String, String),
) -> SendRequest {
    send_request(
        &job.rule,
        store,
        order,
        steps.invoice_number.as_deref(),
        steps.media_id.clone(),
        recipient,
    )
}

/// The send request for `rule` and `order`: the worker's, and `shopbip test-send`'s, so a test
/// send is exactly what a customer would get.
pub fn send_request(
    rule: &NotifyRule,
    store: &Store,
    order: &Order,
    invoice_number: Option<&str>,
    header_media_id: Option<String>,
    (to, country_code): (String, String),
) -> SendRequest {
    let ctx = context(store, order, invoice_number);
    SendRequest {
        to,
        country_code,
        body_params: rule
            .body_params
            .iter()
            .map(|p| placeholders::render(p, &ctx, placeholders::plain))
            .collect(),
        buttons: rule
            .buttons
            .iter()
            .map(|b| Button {
                index: b.index as u32,
                sub_type: b.sub_type.clone(),
                value: placeholders::render(&b.value, &ctx, placeholders::plain),
            })
            .collect(),
        header_media_id,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn send(
    deps: &Deps,
    client: &BuzzbipClient,
    job: &Job,
    store: &Store,
    order: &Order,
    recipient: (String, String),
    mut steps: Steps,
    worker: &str,
) -> Result<Outcome, StepError> {
    let request = request(job, store, order, &steps, recipient);
    if let Some(started) = steps.send_started_at {
        // Recorded for the operator: this order may receive this message twice.
        steps
            .other
            .insert("possible_duplicate_send_after".into(), started.into());
        tracing::warn!(
            job = job.id,
            store = %job.store_id,
            started_at_ms = started,
            "an earlier send attempt of this job ended without a recorded answer; Buzzbip may have sent it"
        );
    }
    // The template of the language the invoice is in (`template_ids`), recorded with it for
    // the operator.
    let language = crate::invoice::language::invoice_language(store, order);
    let template_id = job.rule.template_for(&language);
    steps.other.insert("language".into(), language.into());
    steps.other.insert("template_id".into(), template_id.into());
    steps.send_started_at = Some(now_ms());
    save(deps, worker, job, &steps).await?;
    let started = std::time::Instant::now();
    let sent = client.send_template(template_id, &request).await;
    step_done(
        job,
        "send",
        started,
        if sent.is_ok() { "ok" } else { "failed" },
    );
    match sent {
        Ok(receipt) => {
            metrics::counter!(crate::metrics::SENDS, "store" => job.store_id.clone()).increment(1);
            steps.whatsapp_bulk_group_id = Some(receipt.whatsapp_bulk_group_id);
            // Recorded in the same write that closes the job.
            Ok(Outcome::Done(Some(steps.to_json())))
        }
        Err(e) if !e.is_transient() => {
            cleanup::unused_media(deps, client, job, &mut steps, worker).await;
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}
