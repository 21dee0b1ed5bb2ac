//! `GET /console/messages`: one row per job, newest first, filtered by a GET form and paged by
//! cursor; `GET /console/messages.csv`: the same filtered view as CSV (same masking), streamed
//! a batch at a time; `POST /console/messages/retry-dead`: "retry all shown" on the dead list.
//!
//! The user's stores are the query's scope (the job store applies it in SQL), so another
//! store's rows are never read; a `store=` naming one of them is the console's usual 404.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};

use super::auth::Ctx;
use super::error::ConsoleError;
use super::filters::Filters;
use super::i18n::Lang;
use super::layout::{self, state_badge, when};
use super::words::{W, t};
use crate::http::AppState;
use crate::jobs::JobState;
use crate::jobs::messages::{CSV_MAX_ROWS, CsvExport, DEFAULT_PAGE, MessageRow};
use crate::order::EventKind;

/// The filters of this request, a store outside the user's scope being a 404.
fn filters(ctx: &Ctx, query: &str) -> Result<Filters, ConsoleError> {
    let f = Filters::parse(query).map_err(|e| ctx.bad_request(e))?;
    if let Some(store) = &f.store {
        ctx.visible(store)?;
    }
    Ok(f)
}

/// `GET /console/messages`.
pub async fn list(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let f = filters(&ctx, &ctx.query)?;
    let page = state
        .console
        .messages
        .messages(&f.query(ctx.user.stores.clone(), DEFAULT_PAGE))
        .await
        .map_err(|e| ctx.store_error(e))?;
    let lang = ctx.lang;
    let title = t(lang, W::MessagesTitle);
    let stores: Vec<String> = ctx
        .user
        .visible_stores(&state.stores.load())
        .iter()
        .map(|s| s.id.as_str().to_owned())
        .collect();
    let body = html! {
        h1 { (title) }
        (note(lang, &ctx.query))
        (filter_form(lang, &f, &stores))
        div.actions {
            a.button href=(f.href("/console/messages.csv", None)) download { (t(lang, W::ExportCsv)) }
            @if f.state == Some(JobState::Dead) && ctx.user.is_operator() && !page.rows.is_empty() {
                form.inline method="post" action="/console/messages/retry-dead" {
                    (ctx.csrf_field())
                    @for (k, v) in f.pairs() { input type="hidden" name=(k) value=(v); }
                    button type="submit" { (t(lang, W::RetryAllShown)) }
                }
            }
        }
        @if page.rows.is_empty() {
            p.notice { (t(lang, W::NoMessages)) }
        } @else {
            (table(lang, &page.rows))
        }
        @if let Some(next) = page.next_before_id {
            p.pager { a rel="next" href=(f.href("/console/messages", Some(next))) { (t(lang, W::Older)) } }
        }
    };
    Ok(layout::page(&ctx, title, body))
}

/// The outcome of an action, from the query string it redirected to (known codes only: no
/// text of the request is echoed).
pub fn note(lang: Lang, query: &str) -> Markup {
    let mut code = None;
    let mut n = None;
    let mut more = false;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "note" => code = Some(v.into_owned()),
            "n" => n = v.parse::<u64>().ok(),
            "more" => more = true,
            _ => {}
        }
    }
    let text = match code.as_deref() {
        Some("replayed") => t(lang, W::NoteReplayed),
        Some("retried") => t(lang, W::NoteRetried),
        Some("already-due") => t(lang, W::NoteAlreadyDue),
        Some("not-queued") => t(lang, W::NoteNotQueued),
        Some("not-finished") => t(lang, W::NoteNotFinished),
        Some("replayed-shown") => t(lang, W::NoteReplayedShown),
        _ => return html! {},
    };
    html! {
        p.flash role="status" {
            (text) @if let Some(n) = n { " " strong { (n) } }
            @if more { " " (t(lang, W::NoteMore)) }
        }
    }
}

fn filter_form(lang: Lang, f: &Filters, stores: &[String]) -> Markup {
    let chosen = |v: &str, current: Option<&str>| current == Some(v);
    html! {
        form.filters method="get" action="/console/messages" {
            label { (t(lang, W::Store)) " "
                select name="store" {
                    option value="" { (t(lang, W::Any)) }
                    @for s in stores { option value=(s) selected[chosen(s, f.store.as_deref())] { (s) } }
                }
            }
            label { (t(lang, W::State)) " "
                select name="state" {
                    option value="" { (t(lang, W::Any)) }
                    @for s in JobState::ALL {
                        option value=(s.as_str()) selected[f.state == Some(s)] {
                            (lang.t(super::i18n::state_key(s)))
                        }
                    }
                }
            }
            label { (t(lang, W::Event)) " "
                select name="event" {
                    option value="" { (t(lang, W::Any)) }
                    @for e in EventKind::ALL {
                        option value=(e.as_str()) selected[f.event == Some(e)] { (e.as_str()) }
                    }
                }
            }
            label { (t(lang, W::From)) " " input type="date" name="from" value=[f.from.as_deref()]; }
            label { (t(lang, W::To)) " " input type="date" name="to" value=[f.to.as_deref()]; }
            label { (t(lang, W::Search)) " "
                input type="search" name="q" value=[f.q.as_deref()] maxlength="100"
                    placeholder=(t(lang, W::SearchHint));
            }
            button type="submit" { (t(lang, W::Filter)) }
            " " a href="/console/messages" { (t(lang, W::ClearFilters)) }
        }
    }
}

fn table(lang: Lang, rows: &[MessageRow]) -> Markup {
    html! {
        table.messages {
            thead { tr {
                th { (t(lang, W::Time)) }
                th { (t(lang, W::Store)) }
                th { (t(lang, W::Order)) }
                th { (t(lang, W::Customer)) }
                th { (t(lang, W::Phone)) }
                th { (t(lang, W::Event)) }
                th { (t(lang, W::Template)) }
                th { (t(lang, W::State)) }
            } }
            tbody {
                @for r in rows {
                    tr data-job=(r.id) {
                        td data-label=(t(lang, W::Time)) { (when(lang, Some(r.created_at))) }
                        td data-label=(t(lang, W::Store)) { (r.store_id) }
                        td data-label=(t(lang, W::Order)) {
                            a href={ "/console/messages/" (r.id) } { (r.order_name) }
                        }
                        td data-label=(t(lang, W::Customer)) { (r.first_name) }
                        td data-label=(t(lang, W::Phone)) { (r.phone.as_deref().unwrap_or("—")) }
                        td data-label=(t(lang, W::Event)) { code { (r.event.as_str()) } }
                        td.num data-label=(t(lang, W::Template)) { (r.template_id) }
                        td data-label=(t(lang, W::State)) {
                            (state_badge(lang, r.state))
                            @if let Some(reason) = &r.reason { br; span.reason { (reason) } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/messages.csv`: the filtered view (its cursor aside), at most
/// [`CSV_MAX_ROWS`] rows, streamed; the first batch is read before answering, so a database
/// that does not answer is a 503 page rather than a truncated file.
pub async fn csv(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let f = Filters {
        before: None,
        ..filters(&ctx, &ctx.query)?
    };
    let query = f.query(ctx.user.stores.clone(), DEFAULT_PAGE);
    let messages = state.console.messages.clone();
    let mut export = CsvExport::new(&query, CSV_MAX_ROWS);
    let first = export
        .next_chunk(&*messages)
        .await
        .map_err(|e| ctx.store_error(e))?
        .unwrap_or_default();
    let rest = futures_util::stream::unfold(Some(export), move |export| {
        let messages = messages.clone();
        async move {
            let mut export = export?;
            let started = std::time::Instant::now();
            match export.next_chunk(&*messages).await {
                Ok(Some(chunk)) => {
                    // An export rests as long as each batch took: it never holds a core for
                    // more than half the time, so the webhooks sharing the machine keep their
                    // latency (BENCHMARKS.md "Console traffic and the webhook's p99").
                    tokio::time::sleep(started.elapsed()).await;
                    Some((Ok(bytes::Bytes::from(chunk)), Some(export)))
                }
                Ok(None) => None,
                Err(e) => {
                    // The file is cut short; the client sees the connection end in error.
                    tracing::error!(error = %e, "console: CSV export failed mid-way");
                    Some((Err(actix_web::error::ErrorServiceUnavailable("")), None))
                }
            }
        }
    });
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok(bytes::Bytes::from(first)) }),
        rest,
    );
    let name = format!(
        "messages-{}.csv",
        f.store.as_deref().unwrap_or("all").replace(['"', '\\'], "")
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming::<_, actix_web::Error>(body))
}

/// `POST /console/messages/retry-dead`: the dead jobs the posted filters show run again
/// (E's `replay_shown`, in the user's scope), then back to the list with a note.
pub async fn retry_dead(
    ctx: Ctx,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let body = std::str::from_utf8(&body).map_err(|_| ctx.bad_request("not a form"))?;
    let f = Filters {
        state: Some(JobState::Dead),
        before: None,
        ..filters(&ctx, body)?
    };
    ctx.operator()?;
    let done = state
        .console
        .messages
        .replay_shown(&f.query(ctx.user.stores.clone(), DEFAULT_PAGE))
        .await
        .map_err(|e| ctx.store_error(e))?;
    tracing::info!(
        user = %ctx.user.name,
        requeued = done.requeued,
        unchanged = done.unchanged,
        "console: retry all shown"
    );
    let back = f.href("/console/messages", None);
    let sep = if back.contains('?') { '&' } else { '?' };
    let more = if done.more { "&more=1" } else { "" };
    Ok(redirect(&format!(
        "{back}{sep}note=replayed-shown&n={}{more}",
        done.requeued
    )))
}

/// A 303 to `to` (a console path built here).
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}
