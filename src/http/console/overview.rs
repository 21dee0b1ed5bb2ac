//! `GET /console`: every store the user may see, with what it needs to be set up and whether
//! it is in trouble; `GET /console/stores/{id}`: one of them.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::auth::Ctx;
use super::error::ConsoleError;
use super::i18n::{Key, Lang};
use super::layout::{self, state_badge, when};
use crate::http::AppState;
use crate::jobs::{JobState, StoreStats};
use crate::stores::Store;

const DAY_MS: i64 = 24 * 3_600_000;

/// Why a store is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// More signature refusals in the last 3 hours than in the 3 before.
    RefusalsRising,
    DeadJobs,
    /// It has had webhooks, but none for a day.
    Silent,
}

impl Trouble {
    fn key(self) -> Key {
        match self {
            Trouble::RefusalsRising => Key::TroubleRefusalsRising,
            Trouble::DeadJobs => Key::TroubleDeadJobs,
            Trouble::Silent => Key::TroubleSilent,
        }
    }
}

/// What is wrong with a store, from its figures.
pub fn troubles(stats: &StoreStats, refusals_rising: bool, now_ms: i64) -> Vec<Trouble> {
    let mut out = Vec::new();
    if refusals_rising {
        out.push(Trouble::RefusalsRising);
    }
    if stats
        .jobs
        .get(JobState::Dead.as_str())
        .copied()
        .unwrap_or(0)
        > 0
    {
        out.push(Trouble::DeadJobs);
    }
    if stats.last_webhook_at.is_some_and(|t| now_ms - t > DAY_MS) {
        out.push(Trouble::Silent);
    }
    out
}

/// One store's row, as the overview and the store page show it.
struct Row {
    store: Arc<Store>,
    stats: StoreStats,
    refusals_24h: u64,
    troubles: Vec<Trouble>,
    webhook_url: String,
}

fn rows(ctx: &Ctx, req: &HttpRequest, state: &AppState, stats: &StoreStatsMap) -> Vec<Row> {
    let now = crate::clock::now_ms();
    let base = webhook_base(req, &state.console.settings.public_url);
    ctx.user
        .visible_stores(&state.stores.load())
        .into_iter()
        .map(|store| {
            let id = store.id.as_str();
            let st = stats.get(id).cloned().unwrap_or_default();
            let rising = state.refusals.rising(id, now);
            Row {
                refusals_24h: state.refusals.last_day(id, now),
                troubles: troubles(&st, rising, now),
                webhook_url: format!("{base}/webhooks/{id}"),
                stats: st,
                store,
            }
        })
        .collect()
}

type StoreStatsMap = std::collections::BTreeMap<String, StoreStats>;

/// Where platforms reach this server: `console.public_url`, else the scheme and host this
/// request came with (as a proxy reports them in `Forwarded`/`X-Forwarded-*`).
pub fn webhook_base(req: &HttpRequest, public_url: &str) -> String {
    let configured = public_url.trim().trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_owned();
    }
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// `GET /console`.
pub async fn overview(
    ctx: Ctx,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let stats = state
        .reads
        .store_stats()
        .await
        .map_err(|e| ctx.store_error(e))?;
    let rows = rows(&ctx, &req, &state, &stats);
    let lang = ctx.lang;
    let title = lang.t(Key::StoresTitle);
    let body = html! {
        h1 { (title) }
        @if rows.is_empty() {
            p.notice { (lang.t(Key::NoStores)) }
        } @else {
            // With JavaScript on, the figures refresh themselves every 30 s (htmx).
            div #stores hx-get=(format!("{}?{}", ctx.path, ctx.query)) hx-trigger="every 30s"
                hx-select="#stores" hx-swap="outerHTML" {
                (table(lang, &rows))
            }
        }
    };
    Ok(layout::page(&ctx, title, body))
}

/// `GET /console/stores/{id}`: one store; a store the user may not see is a 404, the same as
/// one that does not exist.
pub async fn store(
    ctx: Ctx,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.visible(&id)?;
    if state.stores.load().get(&id).is_none() {
        return Err(ctx.not_found());
    }
    let stats = state
        .reads
        .store_stats()
        .await
        .map_err(|e| ctx.store_error(e))?;
    let rows: Vec<Row> = rows(&ctx, &req, &state, &stats)
        .into_iter()
        .filter(|r| r.store.id.as_str() == id.as_str())
        .collect();
    let body = html! {
        h1 { (id) }
        (table(ctx.lang, &rows))
    };
    Ok(layout::page(&ctx, &id, body))
}

fn table(lang: Lang, rows: &[Row]) -> Markup {
    html! {
        table.stores {
            thead { tr {
                th { (lang.t(Key::Store)) }
                th { (lang.t(Key::Status)) }
                th { (lang.t(Key::WebhookUrl)) }
                th { (lang.t(Key::LastWebhook)) }
                th { (lang.t(Key::LastSend)) }
                th { (lang.t(Key::Refusals24h)) }
                th { (lang.t(Key::JobsByState)) }
                th { (lang.t(Key::DeadJobs)) }
            } }
            tbody {
                @for row in rows { (store_row(lang, row)) }
            }
        }
    }
}

fn store_row(lang: Lang, row: &Row) -> Markup {
    let id = row.store.id.as_str();
    let url_id = format!("webhook-url-{id}");
    let dead = row.stats.jobs.get("dead").copied().unwrap_or(0);
    html! {
        tr.trouble[!row.troubles.is_empty()] data-store=(id) {
            td data-label=(lang.t(Key::Store)) {
                a href={ "/console/stores/" (id) } { strong { (id) } }
                br;
                span.muted { (lang.t(Key::Platform)) ": " (row.store.platform.to_string()) }
                br;
                span.muted { (lang.t(Key::Environment)) ": "
                    (format!("{:?}", row.store.environment).to_lowercase()) }
                br;
                a.optouts href={ "/console/stores/" (id) "/optouts" } { (super::words::t(lang, super::words::W::OptOuts)) }
            }
            td data-label=(lang.t(Key::Status)) {
                @if row.troubles.is_empty() {
                    span.state.state-ok { (lang.t(Key::AllGood)) }
                } @else {
                    ul.reasons {
                        @for t in &row.troubles {
                            li { span.state.state-trouble data-trouble=(format!("{t:?}")) { (lang.t(t.key())) } }
                        }
                    }
                }
            }
            td data-label=(lang.t(Key::WebhookUrl)) {
                div.url {
                    code id=(url_id) { (row.webhook_url) }
                    button.small type="button" data-copy=(url_id)
                        data-copied=(lang.t(Key::Copied)) hidden { (lang.t(Key::Copy)) }
                }
                span.muted { (lang.t(Key::WebhookUrlHelp)) }
            }
            td data-label=(lang.t(Key::LastWebhook)) { (when(lang, row.stats.last_webhook_at)) }
            td data-label=(lang.t(Key::LastSend)) { (when(lang, row.stats.last_send_at)) }
            td.num data-label=(lang.t(Key::Refusals24h)) { (row.refusals_24h) }
            td data-label=(lang.t(Key::JobsByState)) {
                ul.states {
                    @for state in JobState::ALL {
                        @if let Some(n) = row.stats.jobs.get(state.as_str()).filter(|n| **n > 0) {
                            li { (state_badge(lang, state)) " " (n) }
                        }
                    }
                }
            }
            td.num data-label=(lang.t(Key::DeadJobs)) {
                @if dead > 0 {
                    a href={ "/console/messages?store=" (id) "&state=dead" } { (dead) }
                } @else { "0" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_in_trouble_for_rising_refusals_dead_jobs_or_silence() {
        let now = 10 * DAY_MS;
        let mut stats = StoreStats::default();
        assert!(
            troubles(&stats, false, now).is_empty(),
            "a new store is fine"
        );
        stats.last_webhook_at = Some(now - DAY_MS + 1);
        stats.jobs.insert("done".into(), 3);
        assert!(troubles(&stats, false, now).is_empty());
        assert_eq!(troubles(&stats, true, now), vec![Trouble::RefusalsRising]);
        stats.jobs.insert("dead".into(), 1);
        stats.last_webhook_at = Some(now - DAY_MS - 1);
        assert_eq!(
            troubles(&stats, false, now),
            vec![Trouble::DeadJobs, Trouble::Silent]
        );
    }
}
