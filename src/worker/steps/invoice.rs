//! Step 3: the invoice PDF (rendered from the order, or fetched where the platform made it),
//! numbered once per order.

use std::sync::Arc;

use sha2::Digest;

use super::{Deps, StepError, Steps, context, save, step_done};
use crate::clock::now_ms;
use crate::invoice::CreditNoteOf;
use crate::invoice::data::OriginalInvoice;
use crate::invoice::fetch;
use crate::jobs::{Failure, InvoiceNumbers, Job};
use crate::order::{EventKind, Order};
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
    let (number, pdf) = if is_credit_note(store, job) {
        refund_says_what(order)?;
        let (number, of) = credit_note_number(deps, store, job, order, steps, worker).await?;
        let pdf = credit_note_pdf(store, order, &number, of).await;
        (number, pdf)
    } else {
        let number = invoice_number(deps, store, job, order, steps, worker).await?;
        let pdf = invoice_pdf(deps, store, order, &number).await;
        (number, pdf)
    };
    step_done(
        job,
        "invoice",
        started,
        if pdf.is_ok() { "ok" } else { "failed" },
    );
    let pdf = pdf?;
    let filename = if is_credit_note(store, job) {
        credit_note_filename(store, order, &number)
    } else {
        filename(store, order, &number)
    };
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

/// A refund's document is a credit note, where shopbip renders the documents: a store whose
/// invoices are fetched from the platform gets the platform's own (the order's invoice URL).
fn is_credit_note(store: &Store, job: &Job) -> bool {
    job.kind == EventKind::OrderRefunded && store.invoice.source == InvoiceSource::Generate
}

/// A credit note states what is given back: an order known by its id only gives nothing to
/// state, nor does a refund of nothing (no lines, no shipping, no money); no number of the
/// series is taken for either.
fn refund_says_what(order: &Order) -> Result<(), StepError> {
    let nothing = match &order.refund {
        Some(r) => {
            r.lines.is_empty() && r.shipping.is_zero() && r.amount.is_none_or(|a| a.is_zero())
        }
        None => order.lines.is_empty() && order.total_missing,
    };
    if nothing {
        return Err(StepError(
            "the refund's webhook does not say what was refunded (no lines, no amount): no \
             credit note is made"
                .into(),
            Failure::Permanent,
        ));
    }
    Ok(())
}

/// What names a refund in the credit-note series (its own series, so the order's id does not
/// clash with the order's invoice): `{order}:{refund}` for a refund the platform named, so
/// each partial refund has its own credit note and a second delivery of one finds its number
/// again; the order's id alone for a refund of the whole order without an id.
fn refund_key(job: &Job) -> String {
    match &job.order.refund {
        Some(refund) => format!("{}:{}", job.order_id, refund.id),
        None => job.order_id.clone(),
    }
}

/// The credit note's number in the store's credit-note series (`credit_note.number_format`),
/// taken once per refund and kept on the steps like an invoice's, so `{invoice.number}` of the
/// message is the credit note's; and the invoice it refers to.
async fn credit_note_number(
    deps: &Deps,
    store: &Store,
    job: &Job,
    order: &Order,
    steps: &mut Steps,
    worker: &str,
) -> Result<(String, CreditNoteOf), StepError> {
    // Taken (or, on a retry or replay, found again: the same number and day) before rendering,
    // as an invoice's is.
    let issued = deps
        .invoice_numbers
        .allocate(
            store.id.as_str(),
            SeriesKind::CreditNote,
            store.invoice.reset,
            &refund_key(job),
            now_ms(),
        )
        .await?;
    let number = match &steps.invoice_number {
        Some(n) => n.clone(),
        None => store
            .credit_note
            .number_format
            .render(issued.number, issued.at_ms),
    };
    if steps.invoice_number.is_none() {
        steps.invoice_number = Some(number.clone());
        save(deps, worker, job, steps).await?;
    }
    let of = credit_note_of(
        deps.invoice_numbers.as_ref(),
        store,
        order,
        &job.order_id,
        issued.at_ms,
    )
    .await?;
    Ok((number, of))
}

/// What a credit note of `order_id` numbered at `issued_at_ms` says besides the order: its
/// date and the invoice it refers to (also what the console renders again).
pub async fn credit_note_of(
    numbers: &dyn InvoiceNumbers,
    store: &Store,
    order: &Order,
    order_id: &str,
    issued_at_ms: i64,
) -> Result<CreditNoteOf, crate::jobs::StoreError> {
    Ok(CreditNoteOf {
        issued_at: Some(crate::platforms::unix_rfc3339(
            issued_at_ms.div_euclid(1000),
        )),
        original: original_invoice(numbers, store, order, order_id).await?,
    })
}

/// The credit note's day, as the series recorded it, for a job that has one.
pub async fn credit_note_issued_at(
    numbers: &dyn InvoiceNumbers,
    store_id: &str,
    job: &Job,
) -> Result<Option<i64>, crate::jobs::StoreError> {
    Ok(numbers
        .find(store_id, SeriesKind::CreditNote, &refund_key(job))
        .await?
        .map(|i| i.at_ms))
}

/// Whether `job`'s document is a credit note (the console renders it again as one).
pub fn is_refund_document(store: &Store, job: &Job) -> bool {
    is_credit_note(store, job)
}

/// The invoice a credit note refers to: the platform's invoice number where the order carries
/// one; else the number shopbip issued for the order (looked up, never taken: the invoice
/// series stays gap-free), printed with the store's format and dated the day it was taken; else
/// none was issued.
async fn original_invoice(
    numbers: &dyn InvoiceNumbers,
    store: &Store,
    order: &Order,
    order_id: &str,
) -> Result<OriginalInvoice, crate::jobs::StoreError> {
    if let Some(n) = &order.invoice_number {
        return Ok(OriginalInvoice {
            number: Some(n.clone()),
            issued_at: order.paid_at.clone().or_else(|| order.created_at.clone()),
            none_issued: false,
        });
    }
    let found = numbers
        .find(store.id.as_str(), SeriesKind::Invoice, order_id)
        .await?;
    Ok(match found {
        Some(issued) => OriginalInvoice {
            number: Some(
                store
                    .invoice
                    .number_format
                    .render(issued.number, issued.at_ms),
            ),
            issued_at: Some(crate::platforms::unix_rfc3339(
                issued.at_ms.div_euclid(1000),
            )),
            none_issued: false,
        },
        None => OriginalInvoice {
            number: None,
            issued_at: None,
            none_issued: true,
        },
    })
}

async fn credit_note_pdf(
    store: &Arc<Store>,
    order: &Order,
    number: &str,
    of: CreditNoteOf,
) -> Result<Vec<u8>, StepError> {
    let (store, order, number) = (store.clone(), order.clone(), number.to_owned());
    tokio::task::spawn_blocking(move || {
        crate::invoice::render_credit_note_for_store(&store, &order, &number, &of)
    })
    .await
    .map_err(|e| {
        StepError(
            format!("credit note rendering crashed: {e}"),
            Failure::Permanent,
        )
    })?
    .map_err(|e| StepError(e.to_string(), Failure::Permanent))
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

/// A credit note's file name (`credit_note.filename`, `{invoice.number}` its own number).
pub fn credit_note_filename(store: &Store, order: &Order, number: &str) -> String {
    placeholders::render(
        &store.credit_note.filename,
        &context(store, order, Some(number)),
        placeholders::file_name_part,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_known_by_its_order_id_only_makes_no_credit_note() {
        let bare = Order {
            id: "450789469".into(),
            total_missing: true,
            ..Order::default()
        };
        let err = refund_says_what(&bare).unwrap_err();
        assert!(
            err.0.contains("does not say what was refunded"),
            "{}",
            err.0
        );
        assert!(matches!(err.1, Failure::Permanent));
        assert!(refund_says_what(&crate::invoice::sample_order()).is_ok());
        // A refund that names nothing given back (no lines, no shipping, no money) neither;
        // its money alone is enough (a goodwill refund).
        let mut empty = crate::invoice::sample_order();
        empty.refund = Some(crate::order::Refund {
            id: "r1".into(),
            ..Default::default()
        });
        assert!(refund_says_what(&empty).is_err());
        empty.refund.as_mut().unwrap().amount = Some(rust_decimal::Decimal::TEN);
        assert!(refund_says_what(&empty).is_ok());
    }
}
