//! The steps of one job (PRODUCT.md §5), one module each: the order (where the platform's
//! webhook carries only its id), phone, conditions (staging allow-list, the rule, the amounts),
//! invoice, upload, send, and the cleanup after a send that can never succeed. Each result is
//! saved on the job before the next step starts, so a retry or a restart resumes there.

mod cleanup;
mod conditions;
mod invoice;
mod order;
mod phone;
mod record;
mod send;
mod upload;

use std::time::Duration;

pub use invoice::{
    credit_note_issued_at, credit_note_of, filename as invoice_filename, is_refund_document,
    pdf as invoice_pdf,
};
pub use record::Steps;
pub use send::send_request;

use super::Deps;
use crate::buzzbip::{BuzzbipClient, BuzzbipError};
use crate::jobs::{Failure, Job};
use crate::order::Order;
use crate::stores::Store;
use crate::stores::placeholders::Context;

/// The reason a job for a customer on the store's opt-out list is skipped with.
pub const OPTED_OUT: &str = "customer opted out";

/// How a job attempt ended.
#[derive(Debug)]
pub enum Outcome {
    /// Sent; with the final steps to record as the job closes.
    Done(Option<serde_json::Value>),
    Skipped(String),
    Failed(String, Failure),
    /// Not run now (pacing): back to the queue without counting an attempt.
    Later(Duration),
}

pub async fn run(deps: &Deps, worker: &str, job: &Job) -> Outcome {
    match run_steps(deps, worker, job).await {
        Ok(outcome) => outcome,
        Err(StepError(reason, failure)) => Outcome::Failed(reason, failure),
    }
}

struct StepError(String, Failure);

impl From<BuzzbipError> for StepError {
    fn from(e: BuzzbipError) -> Self {
        let failure = match e.class() {
            crate::buzzbip::ErrorClass::Transient { retry_after } => {
                Failure::Transient { retry_after }
            }
            crate::buzzbip::ErrorClass::Permanent => Failure::Permanent,
        };
        StepError(e.to_string(), failure)
    }
}

impl From<crate::jobs::StoreError> for StepError {
    fn from(e: crate::jobs::StoreError) -> Self {
        StepError(e.to_string(), Failure::Transient { retry_after: None })
    }
}

/// One log line and one histogram sample per step.
fn step_done(job: &Job, step: &'static str, started: std::time::Instant, outcome: &str) {
    let elapsed = started.elapsed();
    metrics::histogram!(crate::metrics::JOB_STEP_SECONDS, "step" => step)
        .record(elapsed.as_secs_f64());
    tracing::info!(
        job = job.id,
        store = %job.store_id,
        order = %job.order_id,
        step,
        outcome,
        elapsed_ms = elapsed.as_millis() as u64,
        "job step"
    );
}

fn permanent(reason: impl Into<String>) -> StepError {
    StepError(reason.into(), Failure::Permanent)
}

async fn save(deps: &Deps, worker: &str, job: &Job, steps: &Steps) -> Result<(), StepError> {
    if deps
        .jobs
        .save_steps(job.id, worker, &steps.to_json())
        .await?
    {
        Ok(())
    } else {
        Err(StepError(
            "lost the job's lease before saving a step".into(),
            Failure::Transient { retry_after: None },
        ))
    }
}

fn context<'a>(store: &'a Store, order: &'a Order, invoice_number: Option<&'a str>) -> Context<'a> {
    Context {
        store_id: store.id.as_str(),
        order,
        invoice_number,
    }
}

async fn run_steps(deps: &Deps, worker: &str, job: &Job) -> Result<Outcome, StepError> {
    let stores = deps.stores.load();
    let Some(store) = stores.get(&job.store_id).cloned() else {
        // Often for seconds only (a ConfigMap swap, an editor's rename): the job waits on its
        // retry schedule and goes on once the profile is back.
        return Err(StepError(
            format!(
                "store {} is not configured in {} (for now?): retrying",
                job.store_id,
                deps.stores_dir.display()
            ),
            Failure::Transient { retry_after: None },
        ));
    };
    let mut steps = Steps::from_json(&job.steps);
    if steps.whatsapp_bulk_group_id.is_some() {
        // Sent, then interrupted before the job was closed: nothing left to do.
        return Ok(Outcome::Done(None));
    }
    let fetched;
    let order: &Order = if store.platform.fetches_order() {
        fetched = order::fetched(deps, &store, job, &mut steps, worker).await?;
        &fetched
    } else if job.order.is_refund_only() {
        fetched = order::completed(deps, &store, job, &mut steps, worker).await?;
        &fetched
    } else {
        &job.order
    };
    if job.kind == crate::order::EventKind::OrderRefunded
        && let Some(reason) = order::credited_as_whole(deps, &store, job).await?
    {
        return Ok(Outcome::Skipped(reason));
    }
    let recipient = match phone::recipient(job, &store, order, &mut steps) {
        Ok(recipient) => recipient,
        Err(reason) => return Ok(Outcome::Skipped(reason)),
    };
    if let Some(reason) = conditions::skip_reason(&store, job, order, &recipient.0) {
        return Ok(Outcome::Skipped(reason));
    }
    // Before anything is made or uploaded: the customer said STOP (or an operator listed them).
    if deps
        .optouts
        .is_opted_out(store.id.as_str(), &format!("+{}", recipient.0))
        .await?
    {
        return Ok(Outcome::Skipped(OPTED_OUT.into()));
    }
    let client = BuzzbipClient::new(
        deps.http.clone(),
        &deps.tokens,
        store.buzzbip.clone(),
        deps.client_options.clone(),
    )?;
    if job.rule.attach_invoice && steps.media_id.is_none() {
        let pdf = invoice::invoice(deps, &store, job, order, &mut steps, worker).await?;
        upload::upload(deps, &client, job, pdf, &mut steps, worker).await?;
    }
    // Paced per Buzzbip account: a send that must wait goes back to the queue.
    if let Some(wait) = deps.pacer.wait(&store).await {
        return Ok(Outcome::Later(wait));
    }
    send::send(deps, &client, job, &store, order, recipient, steps, worker).await
}
