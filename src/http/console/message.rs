//! `GET /console/messages/{id}`: one job — the timeline of its steps, the parameters sent, its
//! invoice (inline, downloadable, compared with what was sent), the event as received with
//! phones masked, every error in full, and the operator's actions.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde_json::Value;

use super::auth::Ctx;
use super::error::ConsoleError;
use super::i18n::{Key, Lang};
use super::invoice_pdf::{Invoice, order_of, remake};
use super::layout::{self, state_badge, when};
use super::messages::note;
use super::words::{W, t};
use crate::http::AppState;
use crate::jobs::{EventRecord, Job, JobState};
use crate::stores::placeholders::{self, Context};
use crate::telemetry::{mask_json, mask_phone, redact_phones};

/// The job `id` names, if the user may see its store: anything else (not a number, no such
/// job, another store's job) is the same 404.
pub async fn visible_job(ctx: &Ctx, state: &AppState, id: &str) -> Result<Job, ConsoleError> {
    let id: i64 = id.parse().map_err(|_| ctx.not_found())?;
    let job = state
        .reads
        .get(id)
        .await
        .map_err(|e| ctx.store_error(e))?
        .ok_or_else(|| ctx.not_found())?;
    ctx.visible(&job.store_id)?;
    Ok(job)
}

/// `GET /console/messages/{id}`.
pub async fn show(
    ctx: Ctx,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let job = visible_job(&ctx, &state, &id).await?;
    let event = state
        .reads
        .event(job.event_id)
        .await
        .map_err(|e| ctx.store_error(e))?;
    let invoice = remake(&state, &job).await;
    let lang = ctx.lang;
    let order = order_of(&job);
    let title = format!("{} {}", t(lang, W::Message), order.display_name());
    let body = html! {
        h1 { (title) " " (state_badge(lang, job.state)) }
        (note(lang, &ctx.query))
        p.muted { (job.store_id) " · " code { (job.kind.as_str()) } " · "
            (t(lang, W::Template)) " " (sent_template(&job)) " · "
            (t(lang, W::Attempts)) " " (job.attempts) "/" (job.max_attempts) }
        (actions(&ctx, &job))
        h2 { (t(lang, W::Timeline)) }
        (timeline(lang, &job, event.as_ref()))
        h2 { (t(lang, W::BodyParams)) }
        (body_params(lang, &job))
        h2 { (t(lang, W::Invoice)) }
        (invoice_section(lang, &job, &invoice))
        h2 { (t(lang, W::Errors)) }
        (errors(lang, &job))
        h2 { (t(lang, W::EventReceived)) }
        (event_section(lang, event.as_ref()))
        p { a href="/console/messages" { (t(lang, W::BackToMessages)) } }
    };
    Ok(layout::page(&ctx, &title, body))
}

/// Replay and retry-now, for operators, where they apply.
fn actions(ctx: &Ctx, job: &Job) -> Markup {
    let lang = ctx.lang;
    let replayable = matches!(
        job.state,
        JobState::Done | JobState::Dead | JobState::Skipped
    );
    let waiting = job.state == JobState::Queued && job.run_at > crate::clock::now_ms();
    if !ctx.user.is_operator() || !(replayable || waiting) {
        return html! {};
    }
    html! {
        div.actions {
            @if replayable {
                form.inline method="post" action={ "/console/messages/" (job.id) "/replay" } {
                    (ctx.csrf_field())
                    button type="submit" { (t(lang, W::Replay)) }
                }
            }
            @if waiting {
                form.inline method="post" action={ "/console/messages/" (job.id) "/retry-now" } {
                    (ctx.csrf_field())
                    button type="submit" { (t(lang, W::RetryNow)) }
                    " " span.muted { (t(lang, W::NextAttempt)) " " (when(lang, Some(job.run_at))) }
                }
            }
        }
    }
}

fn step_str<'a>(job: &'a Job, key: &str) -> Option<&'a str> {
    job.steps.get(key).and_then(Value::as_str)
}

/// A duration for people, in the page's language: `850 ms`, `12.4 s`, `3 min 5 s`
/// (French `12,4 s`; Arabic with its unit words).
fn duration(lang: Lang, ms: i64) -> String {
    let (milli, sec, min, comma) = match lang {
        Lang::En => ("ms", "s", "min", false),
        Lang::Fr => ("ms", "s", "min", true),
        Lang::Ar => ("ملّي ثانية", "ثانية", "دقيقة", false),
    };
    match ms {
        ..0 => "—".into(),
        0..1_000 => format!("{ms} {milli}"),
        1_000..60_000 => {
            let s = format!("{:.1}", ms as f64 / 1000.0);
            let s = if comma { s.replace('.', ",") } else { s };
            format!("{s} {sec}")
        }
        _ => format!("{} {min} {} {sec}", ms / 60_000, (ms % 60_000) / 1000),
    }
}

fn timeline(lang: Lang, job: &Job, event: Option<&EventRecord>) -> Markup {
    let received = event.map(|e| e.received_at).unwrap_or(job.created_at);
    let send_at = job.steps.get("send_started_at").and_then(Value::as_i64);
    let sent = step_str(job, "whatsapp_bulk_group_id");
    let closed = matches!(
        job.state,
        JobState::Done | JobState::Dead | JobState::Skipped
    );
    let to = step_str(job, "to").map(mask_phone);
    // A closed job's missing step will not happen any more.
    let pending = if closed { W::NotDone } else { W::NotYet };
    // The cleanup after a send that can never succeed deletes the media (and its id): a send
    // started means the upload was done.
    let uploaded = step_str(job, "media_id").is_some() || send_at.is_some();
    let item = |done: bool, name: W, at: Option<i64>, since: Option<i64>, what: Markup| {
        html! {
            li.step.done[done] {
                strong { (t(lang, name)) }
                @if let Some(at) = at { " " (when(lang, Some(at))) }
                @if let (Some(at), Some(since)) = (at, since) {
                    " " span.muted { "(+" (duration(lang, at - since)) ")" }
                }
                @if !done { " " span.muted { (t(lang, pending)) } }
                div { (what) }
            }
        }
    };
    html! {
        ol.timeline {
            (item(true, W::StepWebhook, Some(received), None, html! {
                @if let Some(e) = event { (e.platform) " · " code { (e.topic) } }
                @if job.recovered { br; strong.recovered { (t(lang, W::Recovered)) } }
            }))
            (item(to.is_some(), W::StepPhone, None, None, html! {
                @if let Some(to) = &to { (to) }
                @if let Some(cc) = step_str(job, "country_code") { " (" (cc) ")" }
            }))
            @if job.rule.attach_invoice {
                (item(step_str(job, "pdf_sha256").is_some(), W::StepInvoice, None, None, html! {
                    @if let Some(n) = step_str(job, "invoice_number") { (t(lang, W::InvoiceNumber)) " " strong { (n) } }
                    @if let Some(b) = job.steps.get("pdf_bytes").and_then(Value::as_u64) { " · " (b) " B" }
                    @if let Some(h) = step_str(job, "pdf_sha256") { br; code.hash { "sha256 " (h) } }
                }))
                (item(uploaded, W::StepUpload, None, None, html! {
                    @if let Some(m) = step_str(job, "media_id") { code { (m) } }
                }))
            }
            (item(sent.is_some(), W::StepSend, send_at, Some(received), html! {
                @if let Some(g) = sent { code { (g) } }
            }))
            @if closed {
                (item(true, W::StepClosed, Some(job.updated_at), Some(received), state_badge(lang, job.state)))
            }
            @if let Some(state) = &job.delivery.state {
                (item(true, W::StepDelivery, job.delivery.at, Some(received), html! {
                    span.state class={ "state-delivery-" (state) } data-delivery=(state) { (state) }
                    @if let Some(raw) = job.delivery.detail.get("raw").and_then(Value::as_str) {
                        @if raw != state { " (" code { (raw) } ")" }
                    }
                    @if let Some(r) = job.delivery.detail.get("reason").and_then(Value::as_str) {
                        br; span.error { (crate::telemetry::redact_phones(r)) }
                    }
                    @if let Some(next) = job.delivery.poll_at {
                        br; span.muted { (t(lang, W::NextLookup)) " " (when(lang, Some(next))) }
                    }
                }))
            }
            @if let Some(wb) = job.writeback.detail.get("state").and_then(Value::as_str) {
                (item(wb == "done", W::StepWriteBack, job.writeback.detail.get("done_at").and_then(Value::as_i64), Some(received), html! {
                    span.state data-writeback=(wb) { (wb) }
                    @if let Some(text) = job.writeback.detail.get("text").and_then(Value::as_str) {
                        br; q { (text) }
                    }
                    @if let Some(e) = job.writeback.detail.get("last_error").and_then(Value::as_str) {
                        br; span.error { (crate::telemetry::redact_phones(e)) }
                    }
                    @if let Some(next) = job.writeback.at {
                        br; span.muted { (t(lang, W::NextAttempt)) " " (when(lang, Some(next))) }
                    }
                }))
            }
        }
    }
}

/// The template's parameters as the send step fills them (the rule's placeholders, the order,
/// the recorded invoice number).
fn body_params(lang: Lang, job: &Job) -> Markup {
    let order = order_of(job);
    let ctx = Context {
        store_id: &job.store_id,
        order: &order,
        invoice_number: step_str(job, "invoice_number"),
    };
    html! {
        @if step_str(job, "whatsapp_bulk_group_id").is_none() {
            p.muted { (t(lang, W::ParamsNotSent)) }
        }
        ol.params {
            @for p in &job.rule.body_params {
                li { code { (placeholders::render(p, &ctx, placeholders::plain)) } }
            }
        }
    }
}

fn invoice_section(lang: Lang, job: &Job, invoice: &Invoice) -> Markup {
    let src = format!("/console/messages/{}/invoice.pdf", job.id);
    match invoice {
        Invoice::Pdf { same, .. } => html! {
            @match same {
                Some(true) => p.same { (t(lang, W::PdfSame)) },
                Some(false) => p.differs { (t(lang, W::PdfDiffers)) },
                None => p.muted { (t(lang, W::PdfNotSentYet)) },
            }
            p { a href={ (src) "?download=1" } download { (t(lang, W::DownloadPdf)) } }
            iframe.pdf src=(src) title=(t(lang, W::Invoice)) {}
        },
        Invoice::NotAttached => html! { p.muted { (t(lang, W::PdfNotAttached)) } },
        Invoice::NotYet => html! { p.muted { (t(lang, W::PdfNotYet)) } },
        Invoice::NoStore => html! { p.notice { (t(lang, W::PdfNoStore)) } },
        Invoice::Failed(why) => html! {
            p.notice { (t(lang, W::PdfFailed)) }
            pre.error { (redact_phones(why)) }
        },
    }
}

fn errors(lang: Lang, job: &Job) -> Markup {
    let warnings: Vec<&str> = job
        .steps
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| w.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let previous = job.steps.get("previous_runs").and_then(Value::as_array);
    html! {
        @if job.last_error.is_none() && warnings.is_empty() && previous.is_none() {
            p.muted { (t(lang, W::NoErrors)) }
        }
        @if let Some(e) = &job.last_error {
            h3 { (t(lang, W::LastError)) }
            pre.error { (redact_phones(e)) }
        }
        @if !warnings.is_empty() {
            h3 { (t(lang, W::Warnings)) }
            ul { @for w in &warnings { li { (redact_phones(w)) } } }
        }
        @if let Some(runs) = previous {
            h3 { (t(lang, W::PreviousRuns)) " (" (runs.len()) ")" }
            @for run in runs { pre.json { (pretty(&mask_json(run))) } }
        }
    }
}

fn event_section(lang: Lang, event: Option<&EventRecord>) -> Markup {
    let Some(e) = event else {
        return html! { p.muted { (t(lang, W::EventGone)) } };
    };
    let order = serde_json::from_str::<Value>(&e.order_json).unwrap_or(Value::Null);
    html! {
        dl.event {
            dt { (t(lang, W::Received)) } dd { (when(lang, Some(e.received_at))) }
            dt { (lang.t(Key::Platform)) } dd { (e.platform) }
            dt { (t(lang, W::Topic)) } dd { code { (e.topic) } }
            dt { (t(lang, W::Delivery)) } dd { code { (e.delivery_key) } }
        }
        pre.json { (pretty(&mask_json(&order))) }
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The template the job sent (recorded with its language at the send), else the rule's: one
/// id, or one per language.
fn sent_template(job: &Job) -> String {
    match (
        job.steps.get("template_id").and_then(|t| t.as_u64()),
        job.steps.get("language").and_then(|l| l.as_str()),
    ) {
        (Some(id), Some(lang)) => format!("{id} ({lang})"),
        (Some(id), None) => id.to_string(),
        _ => job.rule.templates_label(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked_wherever_they_are() {
        let v = serde_json::json!({
            "customer": { "phone": "+216 96 816 277", "first_name": "Zoë" },
            "previous_runs": [{ "to": "21696816277" }],
            "note": "call me on +21696816277",
        });
        let text = pretty(&mask_json(&v));
        assert!(
            !text.contains("816277") && !text.contains("816 277"),
            "{text}"
        );
        assert!(text.contains("Zoë"), "{text}");
    }

    #[test]
    fn durations_read_for_people() {
        assert_eq!(duration(Lang::En, 850), "850 ms");
        assert_eq!(duration(Lang::En, 12_400), "12.4 s");
        assert_eq!(duration(Lang::Fr, 12_400), "12,4 s");
        assert_eq!(duration(Lang::En, 185_000), "3 min 5 s");
        assert_eq!(duration(Lang::Ar, 185_000), "3 دقيقة 5 ثانية");
        assert_eq!(duration(Lang::Ar, 850), "850 ملّي ثانية");
        assert_eq!(duration(Lang::En, -1), "—");
    }
}
