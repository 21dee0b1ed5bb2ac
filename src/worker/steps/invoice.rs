//! Step 3: the invoice PDF (rendered from the order, or fetched where the platform made it),
//! numbered once per order.

use std::sync::Arc;

use sha2::Digest;

use super::{Deps, StepError, Steps, context, save, step_done};
use crate::clock::now_ms;
use crate::invoice::fetch;
use crate::jobs::{Failure, Job};
use crate::order::Order;
use crate::stores::placeholders;
use crate::stores::profile::SeriesKind;
use crate::stores::{InvoiceSource, Store};

/// The invoice as `(file name, PDF bytes)`; its number and digest recorded on the steps.
pub(super) async fn invoice(
    deps: &Deps,
    store: &Arc<Store>,
    job: &Job,
    order: &Order,
    steps: &mut Steps,
    worker: &str,
) -> Result<(String, Vec<u8>), StepError> {
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
    let number = invoice_number(deps, store, job, order, steps, worker).await?;
    let pdf = invoice_pdf(deps, store, order, &number).await;
    step_done(
        job,
        "invoice",
        started,
        if pdf.is_ok() { "ok" } else { "failed" },
    );
    let pdf = pdf?;
    let filename = filename(store, order, &number);
    steps.pdf_sha256 = Some(hex::encode(sha2::Sha256::digest(&pdf)));
    steps.pdf_bytes = Some(pdf.len() as u64);
    Ok((filename, pdf))
}

/// The platform's invoice number, or the next of the store's invoice series printed with
/// `invoice.number_format`, once per order.
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
        None => {
            // Taken only here, once the invoice is being issued: a job that stops before
            // (no phone, staging, opted out) uses up no number of the series.
            let issued = deps
                .invoice_numbers
                .allocate(
                    store.id.as_str(),
                    SeriesKind::Invoice,
                    store.invoice.reset,
                    &job.order_id,
                    now_ms(),
                )
                .await?;
            store
                .invoice
                .number_format
                .render(issued.number, issued.at_ms)
        }
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
    pdf(
        &deps.fetch_clients,
        &deps.fetch_options,
        store,
        order,
        number,
    )
    .await
    .map_err(|(reason, failure)| StepError(reason, failure))
}

/// The invoice PDF as the worker makes it, rendered or fetched: also what `shopbip test-send`
/// attaches. The error is the reason and whether trying again may help.
pub async fn pdf(
    fetch_clients: &fetch::FetchClients,
    fetch_options: &fetch::FetchOptions,
    store: &Arc<Store>,
    order: &Order,
    number: &str,
) -> Result<Vec<u8>, (String, Failure)> {
    let fetch_from = match store.invoice.source {
        InvoiceSource::Fetch => fetch::source_url(store, order, number),
        InvoiceSource::Generate => None,
    };
    match (store.invoice.source, fetch_from) {
        (InvoiceSource::Fetch, Some(url)) => {
            let policy = fetch::policy(store);
            fetch::fetch_pdf(fetch_clients, policy, &url, fetch_options)
                .await
                .map_err(|e| {
                    let failure = if e.is_transient() {
                        Failure::Transient { retry_after: None }
                    } else {
                        Failure::Permanent
                    };
                    (e.to_string(), failure)
                })
        }
        (InvoiceSource::Fetch, None) => Err((fetch::NO_FETCH_URL.to_owned(), Failure::Permanent)),
        (InvoiceSource::Generate, _) => {
            let (store, order, number) = (store.clone(), order.clone(), number.to_owned());
            tokio::task::spawn_blocking(move || {
                crate::invoice::render_for_store(&store, &order, &number)
            })
            .await
            .map_err(|e| {
                (
                    format!("invoice rendering crashed: {e}"),
                    Failure::Permanent,
                )
            })?
            .map_err(|e| (e.to_string(), Failure::Permanent))
        }
    }
}

/// The invoice's file name as the customer sees it (`invoice.filename` filled from the order).
pub fn filename(store: &Store, order: &Order, number: &str) -> String {
    placeholders::render(
        &store.invoice.filename,
        &context(store, order, Some(number)),
        placeholders::file_name_part,
    )
}
