//! A job's invoice PDF, made again rather than kept: re-rendered from the order the job stored,
//! with the store's current template and the invoice number the job recorded (Typst output is
//! deterministic: the same order, template and number give the same bytes, `render.rs`'s
//! `ident`), or, for `invoice.source = "fetch"`, fetched again through the worker's fetch path.
//! Its SHA-256 against the job's `pdf_sha256` says whether it is the document that was sent.
//!
//! `GET /console/messages/{id}/invoice.pdf` serves it inline (`?download=1`: as an
//! attachment), framable by the console's own pages only. The message page makes the PDF to
//! compare it and then frames this route, so the last few PDFs rendered are kept a short while
//! (`Recent`): one view renders once.

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use super::auth::Ctx;
use super::error::ConsoleError;
use super::message::visible_job;
use crate::http::AppState;
use crate::invoice::fetch::{self, FetchClients, FetchOptions, fetch_pdf};
use crate::jobs::Job;
use crate::order::Order;
use crate::stores::{InvoiceSource, Store};

/// The console's own fetch clients (the worker's are in its `Deps`), made on first use; a
/// shorter timeout than the worker's, as a person waits for the page.
static FETCH: LazyLock<(FetchClients, FetchOptions)> = LazyLock::new(|| {
    let options = FetchOptions {
        timeout: std::time::Duration::from_secs(10),
        ..FetchOptions::default()
    };
    (FetchClients::new(&options), options)
});

/// What can be shown of a job's invoice.
#[derive(Debug)]
pub enum Invoice {
    /// The PDF as made now, and whether its SHA-256 is the one recorded at sending (`None`:
    /// nothing was recorded).
    Pdf { bytes: Vec<u8>, same: Option<bool> },
    /// The job's rule attaches no invoice.
    NotAttached,
    /// The job has not reached its invoice step (no number recorded).
    NotYet,
    /// The job's store is not configured any more.
    NoStore,
    /// Rendering or fetching failed: why, in full.
    Failed(String),
}

/// The order the job worked from: the one fetched from the platform's API when the worker
/// fetched it (kept on the steps), else the one the webhook carried.
pub fn order_of(job: &Job) -> Order {
    job.steps
        .get("order")
        .and_then(|o| serde_json::from_value(o.clone()).ok())
        .unwrap_or_else(|| job.order.clone())
}

/// The job's invoice, made again.
pub async fn remake(state: &AppState, job: &Job) -> Invoice {
    if !job.rule.attach_invoice {
        return Invoice::NotAttached;
    }
    let Some(number) = job.steps.get("invoice_number").and_then(|n| n.as_str()) else {
        return Invoice::NotYet;
    };
    let Some(store) = state.stores.load().get(&job.store_id).cloned() else {
        return Invoice::NoStore;
    };
    // Only a rendering is kept: it is the same bytes until the job or the store changes,
    // while a fetched PDF is the platform's and may change any time.
    let keep = store.invoice.source == InvoiceSource::Generate;
    let key = (job.id, job.updated_at);
    let cached = match RECENT.lock() {
        Ok(mut recent) if keep => recent.get(key, &store),
        _ => None,
    };
    let made = match cached {
        Some(bytes) => Ok(bytes),
        None => {
            let made = if crate::worker::steps::is_refund_document(&store, job) {
                credit_note(state, store.clone(), job, number).await
            } else {
                make(store.clone(), order_of(job), number.to_owned()).await
            };
            if let (true, Ok(bytes), Ok(mut recent)) = (keep, &made, RECENT.lock()) {
                recent.put(key, store, bytes.clone());
            }
            made
        }
    };
    match made {
        Ok(bytes) => {
            let recorded = job.steps.get("pdf_sha256").and_then(|s| s.as_str());
            let same =
                recorded.map(|r| r.eq_ignore_ascii_case(&hex::encode(Sha256::digest(&bytes))));
            Invoice::Pdf { bytes, same }
        }
        Err(why) => Invoice::Failed(why),
    }
}

/// PDFs made in the last `Recent::TTL`, by job: the same job (not changed since: its
/// `updated_at`) with the same store configuration (the same `Arc`, replaced on every reload)
/// gives the same bytes. A handful, so the memory stays small.
struct Recent(VecDeque<Made>);

struct Made {
    /// The job's id and `updated_at`.
    job: (i64, i64),
    store: Arc<Store>,
    at: Instant,
    bytes: Vec<u8>,
}

static RECENT: LazyLock<Mutex<Recent>> = LazyLock::new(|| Mutex::new(Recent(VecDeque::new())));

impl Recent {
    const TTL: Duration = Duration::from_secs(60);
    const KEEP: usize = 8;

    fn get(&mut self, job: (i64, i64), store: &Arc<Store>) -> Option<Vec<u8>> {
        self.0.retain(|m| m.at.elapsed() < Self::TTL);
        self.0
            .iter()
            .find(|m| m.job == job && Arc::ptr_eq(&m.store, store))
            .map(|m| m.bytes.clone())
    }

    fn put(&mut self, job: (i64, i64), store: Arc<Store>, bytes: Vec<u8>) {
        self.0.retain(|m| m.job.0 != job.0);
        if self.0.len() >= Self::KEEP {
            self.0.pop_front();
        }
        self.0.push_back(Made {
            job,
            store,
            at: Instant::now(),
            bytes,
        });
    }
}

/// The credit note the worker made for a refund job, made again the same way (its day and
/// the invoice it refers to read from the series, nothing taken).
async fn credit_note(
    state: &AppState,
    store: Arc<Store>,
    job: &Job,
    number: &str,
) -> Result<Vec<u8>, String> {
    use crate::worker::steps::{credit_note_issued_at, credit_note_of};
    let numbers = state.invoice_numbers.as_ref();
    let at = credit_note_issued_at(numbers, store.id.as_str(), job)
        .await
        .map_err(|e| e.to_string())?
        .unwrap_or(job.created_at);
    let order = order_of(job);
    let of = credit_note_of(numbers, &store, &order, &job.order_id, at)
        .await
        .map_err(|e| e.to_string())?;
    let number = number.to_owned();
    tokio::task::spawn_blocking(move || {
        crate::invoice::render_credit_note_for_store(&store, &order, &number, &of)
    })
    .await
    .map_err(|e| format!("credit note rendering crashed: {e}"))?
    .map_err(|e| e.to_string())
}

/// The PDF the worker would make now for `order` numbered `number`.
async fn make(store: Arc<Store>, order: Order, number: String) -> Result<Vec<u8>, String> {
    match store.invoice.source {
        InvoiceSource::Generate => tokio::task::spawn_blocking(move || {
            crate::invoice::render_for_store(&store, &order, &number)
        })
        .await
        .map_err(|e| format!("invoice rendering crashed: {e}"))?
        .map_err(|e| e.to_string()),
        InvoiceSource::Fetch => {
            // The same URL and policy as the worker's invoice step.
            let url = fetch::source_url(&store, &order, &number)
                .ok_or_else(|| fetch::NO_FETCH_URL.to_owned())?;
            let policy = fetch::policy(&store);
            let (clients, options) = &*FETCH;
            fetch_pdf(clients, policy, &url, options)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// `GET /console/messages/{id}/invoice.pdf`.
pub async fn serve(
    ctx: Ctx,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let job = visible_job(&ctx, &state, &id).await?;
    let Invoice::Pdf { bytes, .. } = remake(&state, &job).await else {
        return Err(ctx.not_found());
    };
    let download = url::form_urlencoded::parse(ctx.query.as_bytes()).any(|(k, _)| k == "download");
    let number = job.steps["invoice_number"].as_str().unwrap_or("invoice");
    let name: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    Ok(pdf_response(
        bytes,
        &format!("invoice-{name}.pdf"),
        download,
    ))
}

/// A PDF answer the console's pages may frame (the console's middleware keeps these headers).
pub fn pdf_response(bytes: Vec<u8>, name: &str, download: bool) -> HttpResponse {
    let disposition = if download { "attachment" } else { "inline" };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/pdf"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("{disposition}; filename=\"{name}\""),
        ))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            // Only framing is said: a browser's own PDF viewer must still run in the answer.
            "frame-ancestors 'self'",
        ))
        .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .body(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Arc<Store> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(
            &file,
            "platform = \"woocommerce\"\nbase_uri = \"https://s.test\"\ndefault_country = \"FR\"\n\
             [webhook]\nsecrets = [\"x\"]\n[buzzbip]\nusername = \"u\"\npassword = \"p\"\n\
             api_key = \"k\"\n[[notify]]\non = \"order.paid\"\ntemplate_id = 1\n",
        )
        .unwrap();
        Arc::new(crate::stores::load_file(&file, &|_: &str| None).unwrap())
    }

    #[test]
    fn a_pdf_is_reused_only_for_the_same_job_version_and_store_configuration() {
        let mut recent = Recent(VecDeque::new());
        let store = store();
        let job = (7, 1_000);
        assert_eq!(recent.get(job, &store), None);
        recent.put(job, store.clone(), b"%PDF-1".to_vec());
        assert_eq!(recent.get(job, &store), Some(b"%PDF-1".to_vec()));
        assert_eq!(
            recent.get((7, 2_000), &store),
            None,
            "the job changed since"
        );
        let reloaded = Arc::new((*store).clone());
        assert_eq!(recent.get(job, &reloaded), None, "the store was reloaded");
        for id in 100..100 + Recent::KEEP as i64 {
            recent.put((id, 1_000), store.clone(), vec![]);
        }
        assert_eq!(recent.0.len(), Recent::KEEP);
        assert_eq!(recent.get(job, &store), None, "pushed out by newer ones");
        recent.0[0].at = Instant::now() - Recent::TTL;
        recent.get(job, &store);
        assert_eq!(
            recent.0.len(),
            Recent::KEEP - 1,
            "expired entries are dropped"
        );
    }
}
