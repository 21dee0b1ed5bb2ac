//! The control API under `/_sandbox`: script faults, expire tokens, register accounts and
//! templates, set how sends move towards delivered and where events go, simulate a customer's
//! message, and read back every call received and event posted. Its own calls are not recorded.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::model::{Account, DeliveryUpdate, EventsTarget, Fault, Inbound, Template};
use super::{Shared, check_events_url, delivery, events};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_sandbox")
            .route("/calls", web::get().to(calls))
            .route("/calls", web::delete().to(clear_calls))
            .route("/faults", web::post().to(add_faults))
            .route("/faults", web::delete().to(clear_faults))
            .route("/tokens/expire", web::post().to(expire_tokens))
            .route("/token-ttl", web::put().to(set_token_ttl))
            .route("/accounts", web::get().to(accounts))
            .route("/accounts", web::post().to(add_account))
            .route("/templates", web::get().to(templates))
            .route("/templates", web::post().to(add_template))
            .route("/media", web::get().to(media))
            .route("/media/{id}/content", web::get().to(media_content))
            .route("/delivery", web::get().to(delivery_settings))
            .route("/delivery", web::put().to(set_delivery))
            .route("/events/target", web::put().to(set_events_target))
            .route("/events", web::get().to(posted_events))
            .route("/inbound", web::post().to(inbound))
            .route("/reset", web::post().to(reset)),
    );
}

async fn calls(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(&shared.lock().calls)
}

async fn clear_calls(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().calls.clear();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Fault),
    Many(Vec<Fault>),
}

async fn add_faults(shared: web::Data<Shared>, body: web::Json<OneOrMany>) -> HttpResponse {
    let faults = match body.into_inner() {
        OneOrMany::One(f) => vec![f],
        OneOrMany::Many(v) => v,
    };
    let mut state = shared.lock();
    let count = faults.len();
    for f in faults {
        state.add_fault(f);
    }
    HttpResponse::Created().json(json!({"added": count}))
}

async fn clear_faults(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().clear_faults();
    HttpResponse::NoContent().finish()
}

async fn expire_tokens(shared: web::Data<Shared>) -> HttpResponse {
    let expired = shared.lock().expire_tokens();
    HttpResponse::Ok().json(json!({"expired": expired}))
}

#[derive(Deserialize)]
struct Ttl {
    secs: u64,
}

async fn set_token_ttl(shared: web::Data<Shared>, body: web::Json<Ttl>) -> HttpResponse {
    shared.lock().token_ttl_secs = body.secs.max(1);
    HttpResponse::NoContent().finish()
}

/// Accounts without their passwords and keys: those are in the config that created them.
async fn accounts(shared: web::Data<Shared>) -> HttpResponse {
    let state = shared.lock();
    let list: Vec<_> = state
        .accounts
        .values()
        .map(|a| json!({"username": a.username, "api_access": a.api_access}))
        .collect();
    HttpResponse::Ok().json(list)
}

async fn add_account(shared: web::Data<Shared>, body: web::Json<Account>) -> HttpResponse {
    let account = body.into_inner();
    shared
        .lock()
        .accounts
        .insert(account.username.clone(), account);
    HttpResponse::Created().finish()
}

async fn templates(shared: web::Data<Shared>) -> HttpResponse {
    let list: Vec<Template> = shared.lock().templates.values().cloned().collect();
    HttpResponse::Ok().json(list)
}

async fn add_template(shared: web::Data<Shared>, body: web::Json<Template>) -> HttpResponse {
    let template = body.into_inner();
    shared.lock().templates.insert(template.id, template);
    HttpResponse::Created().finish()
}

async fn media(shared: web::Data<Shared>) -> HttpResponse {
    let list: Vec<_> = shared.lock().media.values().cloned().collect();
    HttpResponse::Ok().json(list)
}

async fn media_content(shared: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    let state = shared.lock();
    let id = path.into_inner();
    match (state.media.get(&id), state.content(&id)) {
        (Some(m), Some(bytes)) => HttpResponse::Ok()
            .content_type(
                m.content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
            )
            .body(bytes),
        _ => HttpResponse::NotFound()
            .json(json!({"message": format!("no content kept for media {id}")})),
    }
}

async fn reset(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().reset();
    HttpResponse::NoContent().finish()
}

async fn delivery_settings(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.lock().delivery())
}

async fn set_delivery(shared: web::Data<Shared>, body: web::Json<DeliveryUpdate>) -> HttpResponse {
    HttpResponse::Ok().json(shared.lock().update_delivery(body.into_inner()))
}

async fn set_events_target(
    shared: web::Data<Shared>,
    body: web::Json<EventsTarget>,
) -> HttpResponse {
    let EventsTarget {
        account,
        url,
        secret,
    } = body.into_inner();
    if let Some(url) = &url
        && let Err(why) = check_events_url(url)
    {
        return HttpResponse::BadRequest().json(json!({"message": format!("url: {why}")}));
    }
    let target = url.map(|url| events::Target { url, secret });
    shared.lock().set_events_target(account, target);
    HttpResponse::NoContent().finish()
}

async fn posted_events(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.lock().posted_events())
}

/// A customer's message to the account's number: its `message.received` event is posted at once
/// (retried in the background like the others) and returned.
async fn inbound(shared: web::Data<Shared>, body: web::Json<Inbound>) -> HttpResponse {
    let Inbound {
        account,
        from,
        body,
    } = body.into_inner();
    let from = delivery::digits(&from);
    if !(8..=15).contains(&from.len()) {
        return HttpResponse::BadRequest()
            .json(json!({"message": "from: 8 to 15 digits with the country calling code"}));
    }
    let (username, target) = {
        let state = shared.lock();
        let Some(found) = state.account_named(&account) else {
            return HttpResponse::NotFound()
                .json(json!({"message": "no such account (give its username or API key)"}));
        };
        let username = found.username.clone();
        let target = state.events_target(&username);
        (username, target)
    };
    let Some(target) = target else {
        return HttpResponse::Conflict().json(
            json!({"message": "no events URL for this account: PUT /_sandbox/events/target first"}),
        );
    };
    let event = events::received(&username, &from, &body);
    events::dispatch(
        &shared,
        events::Outgoing {
            target,
            account: username,
            event: event.clone(),
        },
    );
    HttpResponse::Ok().json(event)
}
