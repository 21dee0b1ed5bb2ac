//! `GET /console/stores/{id}/optouts`: the store's opt-out list (the customers who answered
//! STOP, or were added by hand), numbers masked; an operator adds a number
//! (`POST …/optouts`) or takes one off (`POST …/optouts/remove`). A store the user may not
//! see is a 404, as everywhere.

use actix_web::{HttpResponse, web};
use maud::html;

use super::auth::Ctx;
use super::error::ConsoleError;
use super::layout::{self, when};
use super::messages::redirect;
use super::words::{W, t};
use crate::http::AppState;
use crate::phone::Phone;
use crate::telemetry::mask_phone;

/// `GET /console/stores/{id}/optouts`.
pub async fn list(
    ctx: Ctx,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.visible(&id)?;
    let Some(store) = state.stores.load().get(&id).cloned() else {
        return Err(ctx.not_found());
    };
    let list = state
        .optouts
        .opt_outs(store.id.as_str(), 1_000)
        .await
        .map_err(|e| ctx.store_error(e))?;
    let lang = ctx.lang;
    let action = format!("/console/stores/{}/optouts", store.id);
    let flash = url::form_urlencoded::parse(ctx.query.as_bytes())
        .find(|(k, _)| k == "note")
        .map(|(_, v)| v.into_owned());
    let title = format!("{} · {}", store.id, t(lang, W::OptOuts));
    let body = html! {
        h1 { (title) }
        p.muted { (t(lang, W::OptOutsHelp)) }
        @if let Some(flash) = flash {
            p.flash role="status" data-note=(flash) {
                @match flash.as_str() {
                    "added" => (t(lang, W::OptOutAdded)),
                    "removed" => (t(lang, W::OptOutRemoved)),
                    _ => (t(lang, W::OptOutUnchanged)),
                }
            }
        }
        @if ctx.user.is_operator() {
            form.inline method="post" action=(action) {
                (ctx.csrf_field())
                label { (t(lang, W::Phone)) " " input type="tel" name="phone" required placeholder="+216…"; }
                " " button type="submit" { (t(lang, W::OptOutAdd)) }
            }
        }
        @if list.is_empty() {
            p.notice { (t(lang, W::OptOutsNone)) }
        } @else {
            table.optouts {
                thead { tr {
                    th { (t(lang, W::Phone)) }
                    th { (t(lang, W::OptOutSource)) }
                    th { (t(lang, W::Time)) }
                    @if ctx.user.is_operator() { th {} }
                } }
                tbody {
                    @for r in &list {
                        tr {
                            td { (mask_phone(&r.phone)) }
                            td { (r.source) }
                            td { (when(lang, Some(r.created_at))) }
                            @if ctx.user.is_operator() {
                                td {
                                    form.inline method="post" action={ (action) "/remove" } {
                                        (ctx.csrf_field())
                                        input type="hidden" name="key" value=(key(&r.phone));
                                        button type="submit" { (t(lang, W::OptOutRemove)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&ctx, &title, body))
}

/// How the remove form names a listed number without putting it in the page.
fn key(phone: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(phone.as_bytes())[..12])
}

/// The posted number, read with the store's country (E.164).
async fn posted(
    ctx: &Ctx,
    state: &AppState,
    id: &str,
    body: &[u8],
) -> Result<(String, String), ConsoleError> {
    ctx.visible(id)?;
    let Some(store) = state.stores.load().get(id).cloned() else {
        return Err(ctx.not_found());
    };
    ctx.operator()?;
    let phone = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "phone")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let phone = Phone::parse(&phone, &store.default_country)
        .map_err(|e| ctx.bad_request(format!("{}: {e}", mask_phone(&phone))))?;
    Ok((store.id.to_string(), phone.e164()))
}

/// `POST /console/stores/{id}/optouts`.
pub async fn add(
    ctx: Ctx,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let (store, phone) = posted(&ctx, &state, &id, &body).await?;
    let added = state
        .optouts
        .opt_out(&store, &phone, "manual", crate::clock::now_ms())
        .await
        .map_err(|e| ctx.store_error(e))?;
    tracing::info!(user = %ctx.user.name, store = %store, phone = %mask_phone(&phone), "console: opt-out added");
    let note = if added { "added" } else { "unchanged" };
    Ok(redirect(&format!(
        "/console/stores/{store}/optouts?note={note}"
    )))
}

/// `POST /console/stores/{id}/optouts/remove`: the number by its `key` (the list's forms), or
/// as `phone`.
pub async fn remove(
    ctx: Ctx,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let wanted = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.into_owned());
    let (store, phone) = match wanted {
        Some(wanted) => {
            ctx.visible(&id)?;
            ctx.operator()?;
            let list = state
                .optouts
                .opt_outs(&id, 100_000)
                .await
                .map_err(|e| ctx.store_error(e))?;
            let Some(found) = list.into_iter().find(|r| key(&r.phone) == wanted) else {
                return Ok(redirect(&format!(
                    "/console/stores/{}/optouts?note=unchanged",
                    crate::telemetry::untrusted(&id)
                )));
            };
            (found.store_id, found.phone)
        }
        None => posted(&ctx, &state, &id, &body).await?,
    };
    let removed = state
        .optouts
        .opt_in(&store, &phone)
        .await
        .map_err(|e| ctx.store_error(e))?;
    tracing::info!(user = %ctx.user.name, store = %store, phone = %mask_phone(&phone), "console: opt-out removed");
    let note = if removed { "removed" } else { "unchanged" };
    Ok(redirect(&format!(
        "/console/stores/{store}/optouts?note={note}"
    )))
}
