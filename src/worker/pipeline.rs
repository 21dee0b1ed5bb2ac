//! The steps of one job (PRODUCT.md §5): phone, staging filter, invoice, upload, send. Each
//! result is saved before the next step starts.

use std::sync::Arc;
use std::time::Duration;

use sha2::Digest;

use super::Deps;
use super::steps::Steps;
use crate::buzzbip::{Button, BuzzbipClient, BuzzbipError, SendRequest};
use crate::clock::now_ms;
use crate::invoice::fetch;
use crate::jobs::{Failure, Job, format_invoice_number};
use crate::order::Order;
use crate::stores::placeholders::{self, Context};
use crate::stores::{Environment, InvoiceSource, NotifyRule, Store};

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

    // 0. The order itself, for platforms whose webhooks carry only its id.
    let fetched;
    let order: &Order = if store.platform.fetches_order() {
        fetched = fetched_order(deps, &store, job, &mut steps, worker).await?;
        &fetched
    } else {
        &job.order
    };

    // 1. Phone.
    let started = std::time::Instant::now();
    let (to, country_code) = match (&steps.to, &steps.country_code) {
        (Some(to), Some(cc)) => (to.clone(), cc.clone()),
        _ => match crate::phone::recipient(order, &store.default_country) {
            Ok(phone) => {
                // Saved with the next step's write: recomputing it after a crash gives the
                // same number, so a write of its own would only slow every job down.
                steps.to = Some(phone.to().to_owned());
                steps.country_code = Some(phone.country_code().to_owned());
                step_done(job, "phone", started, "ok");
                (phone.to().to_owned(), phone.country_code().to_owned())
            }
            Err(reason) => {
                step_done(job, "phone", started, "skipped");
                return Ok(Outcome::Skipped(reason));
            }
        },
    };

    // 2. Staging stores send only to their allow-list.
    if store.environment == Environment::Staging && !store.allow_phones.contains(&to) {
        return Ok(Outcome::Skipped(format!(
            "staging store: {} is not in [test].allow_phones",
            crate::telemetry::mask_phone(&format!("+{to}"))
        )));
    }

    // A rule's conditions, for an order only known now (fetched from the platform's API).
    if !job.rule.matches(order) {
        return Ok(Outcome::Skipped(format!(
            "the order is paid by {} ({}): this rule is only for payment = {:?}",
            order.payment.kind,
            order.payment.method.as_deref().unwrap_or("no method"),
            job.rule
                .payment
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
        )));
    }
    if let Some(missing) = missing_for_message(&store, &job.rule, order) {
        return Ok(Outcome::Skipped(missing));
    }

    let client = BuzzbipClient::new(
        deps.http.clone(),
        &deps.tokens,
        store.buzzbip.clone(),
        deps.client_options.clone(),
    )?;

    // 3-4. Invoice and upload.
    if job.rule.attach_invoice && steps.media_id.is_none() {
        if store.invoice.source == InvoiceSource::Generate
            && let Err(off) = order.reconcile()
        {
            tracing::warn!(job = job.id, store = %job.store_id, problem = %off, "order does not add up");
            let warning = format!("the platform's numbers do not add up: {off}");
            if !steps.warnings.contains(&warning) {
                steps.warnings.push(warning);
            }
        }
        let started = std::time::Instant::now();
        let number = invoice_number(deps, &store, job, order, &mut steps, worker).await?;
        let pdf = invoice_pdf(deps, &store, order, &number).await;
        step_done(
            job,
            "invoice",
            started,
            if pdf.is_ok() { "ok" } else { "failed" },
        );
        let pdf = pdf?;
        let filename = placeholders::render(
            &store.invoice.filename,
            &context(&store, order, Some(&number)),
            placeholders::file_name_part,
        );
        steps.pdf_sha256 = Some(hex::encode(sha2::Sha256::digest(&pdf)));
        steps.pdf_bytes = Some(pdf.len() as u64);
        let started = std::time::Instant::now();
        let media_id = client.upload_pdf(&filename, bytes::Bytes::from(pdf)).await;
        step_done(
            job,
            "upload",
            started,
            if media_id.is_ok() { "ok" } else { "failed" },
        );
        steps.media_id = Some(media_id?);
        save(deps, worker, job, &steps).await?;
    }

    // 5. Send, paced per Buzzbip account.
    if let Some(wait) = deps.pacer.wait(deps.jobs.as_ref(), &store).await {
        return Ok(Outcome::Later(wait));
    }
    let ctx = context(&store, order, steps.invoice_number.as_deref());
    let request = SendRequest {
        to,
        country_code,
        body_params: job
            .rule
            .body_params
            .iter()
            .map(|p| placeholders::render(p, &ctx, placeholders::plain))
            .collect(),
        buttons: job
            .rule
            .buttons
            .iter()
            .map(|b| Button {
                index: b.index as u32,
                sub_type: b.sub_type.clone(),
                value: placeholders::render(&b.value, &ctx, placeholders::plain),
            })
            .collect(),
        header_media_id: steps.media_id.clone(),
    };
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
    steps.send_started_at = Some(now_ms());
    save(deps, worker, job, &steps).await?;
    let started = std::time::Instant::now();
    let sent = client.send_template(job.rule.template_id, &request).await;
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
            // A send that can never succeed: do not leave its document on Buzzbip.
            if let Some(media_id) = &steps.media_id {
                if let Err(del) = client.delete_media(media_id).await {
                    tracing::warn!(job = job.id, error = %del, "could not delete the unused media");
                } else {
                    steps.other.insert("media_deleted".into(), true.into());
                    steps.media_id = None;
                    let _ = deps.jobs.save_steps(job.id, worker, &steps.to_json()).await;
                }
            }
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Why the message cannot go out with what the order carries: an amount it would show (in a
/// parameter, a button or the invoice) is not known. Never sent as " 0.00".
fn missing_for_message(store: &Store, rule: &NotifyRule, order: &Order) -> Option<String> {
    let shows_amounts = rule.attach_invoice && store.invoice.source == InvoiceSource::Generate
        || rule
            .body_params
            .iter()
            .any(|p| placeholders::uses_amounts(p))
        || rule
            .buttons
            .iter()
            .any(|b| placeholders::uses_amounts(&b.value));
    if !shows_amounts {
        return None;
    }
    if order.currency.trim().is_empty() {
        return Some(
            "the order names no currency and the store sets no default_currency: \
             its amounts cannot be written"
                .into(),
        );
    }
    if order.total_missing {
        return Some("the order carries no total and no line prices to work one out from".into());
    }
    None
}

fn context<'a>(store: &'a Store, order: &'a Order, invoice_number: Option<&'a str>) -> Context<'a> {
    Context {
        store_id: store.id.as_str(),
        order,
        invoice_number,
    }
}

/// The order fetched from the platform's API, once: saved on the steps so a retry (of the
/// upload, say) does not fetch it again.
async fn fetched_order(
    deps: &Deps,
    store: &Store,
    job: &Job,
    steps: &mut Steps,
    worker: &str,
) -> Result<Order, StepError> {
    if let Some(saved) = &steps.order
        && let Ok(order) = serde_json::from_value::<Order>(saved.clone())
    {
        return Ok(order);
    }
    let api = store
        .bigcommerce
        .as_ref()
        .ok_or_else(|| permanent("[bigcommerce] API access is not configured for this store"))?;
    let started = std::time::Instant::now();
    let fetched = super::order_fetch::bigcommerce(&deps.api_client, api, &job.order_id).await;
    step_done(
        job,
        "order",
        started,
        if fetched.is_ok() { "ok" } else { "failed" },
    );
    let order = fetched.map_err(|e| match &e {
        super::order_fetch::OrderFetchError::Transient { retry_after, .. } => StepError(
            e.to_string(),
            Failure::Transient {
                retry_after: *retry_after,
            },
        ),
        super::order_fetch::OrderFetchError::Permanent { .. } => permanent(e.to_string()),
    })?;
    let mut order = order;
    store.complete_order(&mut order);
    steps.order = Some(serde_json::to_value(&order).map_err(|e| permanent(e.to_string()))?);
    save(deps, worker, job, steps).await?;
    Ok(order)
}

/// The platform's invoice number, or one from the store's sequence, once per order.
async fn invoice_number(
    deps: &Deps,
    store: &Store,
    job: &Job,
    order: &Order,
    steps: &mut Steps,
    worker: &str,
) -> Result<String, StepError> {
    if let Some(n) = &steps.invoice_number {
        return Ok(n.clone());
    }
    let number = match &order.invoice_number {
        Some(n) => n.clone(),
        None => format_invoice_number(
            deps.jobs
                .invoice_number(store.id.as_str(), &job.order_id)
                .await?,
        ),
    };
    steps.invoice_number = Some(number.clone());
    save(deps, worker, job, steps).await?;
    Ok(number)
}

async fn invoice_pdf(
    deps: &Deps,
    store: &Arc<Store>,
    order: &Order,
    number: &str,
) -> Result<Vec<u8>, StepError> {
    let fetch_from = match (store.invoice.source, &store.invoice.fetch_url) {
        (InvoiceSource::Fetch, Some(url)) => Some(placeholders::render(
            url,
            &context(store, order, Some(number)),
            encode_component,
        )),
        (InvoiceSource::Fetch, None) => order.invoice_url.clone(),
        (InvoiceSource::Generate, _) => None,
    };
    match (store.invoice.source, fetch_from) {
        (InvoiceSource::Fetch, Some(url)) => {
            let policy = crate::outbound::UrlPolicy {
                allow_private: store.invoice.fetch_allow_private,
            };
            fetch::fetch_pdf(&deps.fetch_clients, policy, &url, &deps.fetch_options)
                .await
                .map_err(|e| {
                    let failure = if e.is_transient() {
                        Failure::Transient { retry_after: None }
                    } else {
                        Failure::Permanent
                    };
                    StepError(e.to_string(), failure)
                })
        }
        (InvoiceSource::Fetch, None) => Err(permanent(
            "invoice.source is \"fetch\" but the order carries no invoice PDF URL",
        )),
        (InvoiceSource::Generate, _) => {
            let (store, order, number) = (store.clone(), order.clone(), number.to_owned());
            tokio::task::spawn_blocking(move || {
                crate::invoice::render_for_store(&store, &order, &number)
            })
            .await
            .map_err(|e| permanent(format!("invoice rendering crashed: {e}")))?
            .map_err(|e| permanent(e.to_string()))
        }
    }
}

/// Percent-encodes a placeholder value for a URL query or path.
fn encode_component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
