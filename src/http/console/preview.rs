//! `/console/preview`: the invoice a store's template renders now, before any customer sees it,
//! for one of the store's recent orders (from the job store) or an uploaded order payload.
//!
//! - `GET /console/preview?store=…[&job=…]`: the page; with a job, its invoice framed inline.
//! - `GET /console/preview.pdf?job=…`: that job's order rendered with the current template.
//! - `GET /console/preview.png?job=…`: page 1 of the same invoice as a PNG, shown above the
//!   frame, so a browser without a PDF viewer (many phones) still sees the invoice.
//! - `POST /console/preview?store=…&csrf=…` (multipart, field `order`, at most
//!   [`MAX_UPLOAD`]): the payload parsed as `shopbip invoice --order` parses it, rendered.
//!
//! The upload form posts into the page's frame, so the PDF (or the error) shows beside the
//! form, without JavaScript. An error — bad JSON, a template that does not compile — is an
//! HTML answer with status 422 saying why, never a 500.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use maud::{Markup, html};

use super::auth::Ctx;
use super::error::ConsoleError;
use super::filters::Filters;
use super::invoice_pdf::{order_of, pdf_response};
use super::layout;
use super::message::visible_job;
use super::words::{W, t};
use crate::http::AppState;
use crate::invoice::preview::{PREVIEW_NUMBER, order_from_payload};
use crate::order::Order;
use crate::stores::Store;

/// Largest order payload read (a real order is a few KiB).
pub const MAX_UPLOAD: usize = 1024 * 1024;
/// Recent orders offered per store.
const RECENT: u32 = 20;
const FRAME: &str = "preview-frame";

/// `GET /console/preview`.
pub async fn page(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let lang = ctx.lang;
    let mut store_id = None;
    let mut job_id = None;
    for (k, v) in url::form_urlencoded::parse(ctx.query.as_bytes()) {
        match &*k {
            "store" if !v.is_empty() => store_id = Some(v.into_owned()),
            "job" if !v.is_empty() => job_id = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some(s) = &store_id {
        ctx.visible(s)?;
    }
    let job = match &job_id {
        Some(id) => Some(visible_job(&ctx, &state, id).await?),
        None => None,
    };
    let stores = ctx.user.visible_stores(&state.stores.load());
    let recent = match &store_id {
        Some(s) => {
            let f = Filters {
                store: Some(s.clone()),
                ..Filters::default()
            };
            let page = state
                .console
                .messages
                .messages(&f.query(ctx.user.stores.clone(), RECENT))
                .await
                .map_err(|e| ctx.store_error(e))?;
            let mut seen = std::collections::HashSet::new();
            page.rows
                .into_iter()
                .filter(|r| seen.insert(r.order_id.clone()))
                .collect()
        }
        None => Vec::new(),
    };
    let title = t(lang, W::PreviewTitle);
    let body = html! {
        h1 { (title) }
        p.muted { (t(lang, W::PreviewHelp)) }
        form.filters method="get" action="/console/preview" {
            label { (t(lang, W::Store)) " "
                select name="store" {
                    @for s in &stores {
                        option value=(s.id.as_str()) selected[store_id.as_deref() == Some(s.id.as_str())] { (s.id.as_str()) }
                    }
                }
            }
            @if !recent.is_empty() {
                label { (t(lang, W::RecentOrder)) " "
                    select name="job" {
                        @for r in &recent {
                            option value=(r.id) selected[job.as_ref().is_some_and(|j| j.id == r.id)] {
                                (r.order_name) " · " (r.first_name)
                            }
                        }
                    }
                }
            }
            button type="submit" { (t(lang, W::ShowPreview)) }
        }
        @if let Some(store) = &store_id {
            @if recent.is_empty() { p.muted { (t(lang, W::NoRecentOrders)) } }
            (upload_form(&ctx, store))
            @if let Some(j) = &job {
                @let png = format!("/console/preview.png?job={}", j.id);
                // Shown at 1 CSS pixel per point (an A4 page at its printed size, sharp on
                // dense screens: the PNG has 2 pixels per point), and as wide as the screen
                // allows on a phone; `sizes` says so without a style (the CSP allows none
                // inline).
                a href=(png) {
                    img.invoice-page src=(png) srcset={ (png) " 1191w" }
                        sizes="(max-width: 38rem) calc(100vw - 2.5rem), 595px"
                        alt=(t(lang, W::Invoice));
                }
            }
            iframe.pdf name=(FRAME) title=(t(lang, W::Invoice))
                src=[job.as_ref().map(|j| format!("/console/preview.pdf?job={}", j.id))] {}
        }
    };
    Ok(layout::page(&ctx, title, body))
}

fn upload_form(ctx: &Ctx, store: &str) -> Markup {
    let lang = ctx.lang;
    let mut action = url::form_urlencoded::Serializer::new(String::new());
    action
        .append_pair("store", store)
        .append_pair("csrf", &ctx.csrf);
    html! {
        form.upload method="post" enctype="multipart/form-data" target=(FRAME)
            action={ "/console/preview?" (action.finish()) } {
            label { (t(lang, W::UploadOrder)) " "
                input type="file" name="order" accept="application/json,.json" required;
            }
            button type="submit" { (t(lang, W::RenderUpload)) }
        }
    }
}

/// `GET /console/preview.pdf?job=…`.
pub async fn job_pdf(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let (store, order, number) = job_invoice(&ctx, &state).await?;
    Ok(render(&ctx, store, order, number).await)
}

/// `GET /console/preview.png?job=…`: the job chosen and checked as for the PDF, so a user
/// gets a 404 for another store's job here too.
pub async fn job_png(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let (store, order, number) = job_invoice(&ctx, &state).await?;
    let made = tokio::task::spawn_blocking(move || {
        crate::invoice::render_first_png_for_store(
            &store,
            &order,
            &number,
            crate::invoice::DEFAULT_PIXELS_PER_PT,
        )
    })
    .await;
    Ok(match made {
        Ok(Ok(png)) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "image/png"))
            .body(png),
        Ok(Err(e)) => failed(&ctx, &e.to_string()),
        Err(e) => failed(&ctx, &format!("invoice rendering crashed: {e}")),
    })
}

/// The store, order and invoice number of `?job=…`, a job of one of the user's stores.
async fn job_invoice(
    ctx: &Ctx,
    state: &AppState,
) -> Result<(std::sync::Arc<Store>, Order, String), ConsoleError> {
    let id = url::form_urlencoded::parse(ctx.query.as_bytes())
        .find(|(k, _)| k == "job")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let job = visible_job(ctx, state, &id).await?;
    let store = state
        .stores
        .load()
        .get(&job.store_id)
        .cloned()
        .ok_or_else(|| ctx.not_found())?;
    let order = order_of(&job);
    let number = job
        .steps
        .get("invoice_number")
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .or_else(|| order.invoice_number.clone())
        .unwrap_or_else(|| PREVIEW_NUMBER.to_owned());
    Ok((store, order, number))
}

/// `POST /console/preview?store=…` with the order payload as the multipart field `order`.
pub async fn upload(
    ctx: Ctx,
    state: web::Data<AppState>,
    form: Multipart,
) -> Result<HttpResponse, ConsoleError> {
    let store_id = url::form_urlencoded::parse(ctx.query.as_bytes())
        .find(|(k, _)| k == "store")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    ctx.visible(&store_id)?;
    let store = state
        .stores
        .load()
        .get(&store_id)
        .cloned()
        .ok_or_else(|| ctx.not_found())?;
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), read_order(form)).await;
    let body = match read {
        Ok(Ok(body)) => body,
        Ok(Err(why)) => return Ok(failed(&ctx, t(ctx.lang, why))),
        Err(_) => return Ok(failed(&ctx, t(ctx.lang, W::UploadSlow))),
    };
    match order_from_payload(&store, &body) {
        Ok((order, number)) => Ok(render(&ctx, store, order, number).await),
        Err(e) => Ok(failed(&ctx, &e.to_string())),
    }
}

/// The bytes of the field `order`, at most [`MAX_UPLOAD`]; other fields are skipped.
async fn read_order(mut form: Multipart) -> Result<Vec<u8>, W> {
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| W::UploadBad)?;
        let wanted = field.name() == Some("order");
        let mut body = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| W::UploadBad)?;
            if wanted {
                if body.len() + chunk.len() > MAX_UPLOAD {
                    return Err(W::UploadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
        }
        if wanted {
            return Ok(body);
        }
    }
    Err(W::UploadMissing)
}

async fn render(
    ctx: &Ctx,
    store: std::sync::Arc<Store>,
    order: Order,
    number: String,
) -> HttpResponse {
    let made = tokio::task::spawn_blocking(move || {
        crate::invoice::render_for_store(&store, &order, &number)
    })
    .await;
    match made {
        Ok(Ok(pdf)) => pdf_response(pdf, "preview.pdf", false),
        Ok(Err(e)) => failed(ctx, &e.to_string()),
        Err(e) => failed(ctx, &format!("invoice rendering crashed: {e}")),
    }
}

/// Why the preview could not be made, as a small page the preview's frame can show.
fn failed(ctx: &Ctx, why: &str) -> HttpResponse {
    let lang = ctx.lang;
    let body = html! {
        h1 { (t(lang, W::PreviewFailed)) }
        pre.error { (crate::telemetry::redact_phones(why)) }
    };
    HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY)
        .content_type(header::ContentType::html())
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'self'",
        ))
        .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .body(layout::bare(lang, t(lang, W::PreviewFailed), body).into_string())
}
