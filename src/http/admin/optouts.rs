//! A store's opt-out list over the admin API: the customers who answered STOP (or were added
//! by hand) get no more messages from the store. Phones are read with the store's
//! `default_country` and answered masked.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::view::rfc3339_ms;
use super::{db_error, error};
use crate::http::AppState;
use crate::phone::Phone;
use crate::stores::Store;
use crate::telemetry::mask_phone;

/// One listed number.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptOutView {
    /// Masked.
    pub phone: String,
    /// `keyword` (the customer's answer) or `manual`.
    pub source: String,
    pub created_at: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOutRequest {
    /// E.g. `+21696816277`; without a country code, the store's `default_country` applies.
    pub phone: String,
}

/// What an add or a removal did.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptOutAnswer {
    /// `added`, `already_listed`, `removed` or `not_listed`.
    pub status: String,
    pub phone: String,
}

/// An error is the answer itself (boxed: an answer is large beside the value).
type Answered<T> = Result<T, Box<HttpResponse>>;

fn store(state: &AppState, id: &str) -> Answered<std::sync::Arc<Store>> {
    state.stores.load().get(id).cloned().ok_or_else(|| {
        Box::new(error(
            StatusCode::NOT_FOUND,
            &format!("no store {}", crate::telemetry::untrusted(id)),
        ))
    })
}

fn e164(store: &Store, raw: &str) -> Answered<String> {
    Phone::parse(raw, &store.default_country)
        .map(|p| p.e164())
        .map_err(|e| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                &format!("{}: {e}", mask_phone(raw)),
            ))
        })
}

/// The store's opt-out list, newest first (at most 10,000).
#[utoipa::path(
    get,
    path = "/admin/stores/{id}/optouts",
    params(("id" = String, Path, description = "Store id")),
    responses(
        (status = 200, body = [OptOutView], description = "The listed numbers, masked"),
        (status = 401, body = super::ErrorAnswer, description = "No or a wrong bearer token"),
        (status = 404, body = super::ErrorAnswer, description = "No such store, or the admin API is off"),
        (status = 503, body = super::ErrorAnswer, description = "The job store does not answer")
    ),
    security(("bearer" = []))
)]
pub async fn list(id: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let store = match store(&state, &id) {
        Ok(s) => s,
        Err(answer) => return *answer,
    };
    match state.optouts.opt_outs(store.id.as_str(), 10_000).await {
        Ok(list) => HttpResponse::Ok().json(
            list.into_iter()
                .map(|r| OptOutView {
                    phone: mask_phone(&r.phone),
                    source: r.source,
                    created_at: rfc3339_ms(r.created_at),
                    created_at_ms: r.created_at,
                })
                .collect::<Vec<_>>(),
        ),
        Err(e) => db_error(e),
    }
}

/// Lists a number: the store's next messages to it are skipped ("customer opted out").
#[utoipa::path(
    post,
    path = "/admin/stores/{id}/optouts",
    params(("id" = String, Path, description = "Store id")),
    request_body = OptOutRequest,
    responses(
        (status = 200, body = OptOutAnswer, description = "Listed (or already was)"),
        (status = 400, body = super::ErrorAnswer, description = "Not a JSON body with a phone number"),
        (status = 401, body = super::ErrorAnswer, description = "No or a wrong bearer token"),
        (status = 404, body = super::ErrorAnswer, description = "No such store, or the admin API is off"),
        (status = 503, body = super::ErrorAnswer, description = "The job store does not answer")
    ),
    security(("bearer" = []))
)]
pub async fn add(
    id: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let store = match store(&state, &id) {
        Ok(s) => s,
        Err(answer) => return *answer,
    };
    let request: OptOutRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"phone\": \"+…\"}}: {e}"),
            );
        }
    };
    let phone = match e164(&store, &request.phone) {
        Ok(p) => p,
        Err(answer) => return *answer,
    };
    match state
        .optouts
        .opt_out(store.id.as_str(), &phone, "manual", crate::clock::now_ms())
        .await
    {
        Ok(added) => HttpResponse::Ok().json(OptOutAnswer {
            status: if added { "added" } else { "already_listed" }.into(),
            phone: mask_phone(&phone),
        }),
        Err(e) => db_error(e),
    }
}

/// Takes a number off the list.
#[utoipa::path(
    delete,
    path = "/admin/stores/{id}/optouts/{phone}",
    params(
        ("id" = String, Path, description = "Store id"),
        ("phone" = String, Path, description = "The number, e.g. +21696816277 (URL-encoded)")
    ),
    responses(
        (status = 200, body = OptOutAnswer, description = "Removed (or was not listed)"),
        (status = 400, body = super::ErrorAnswer, description = "Not a phone number"),
        (status = 401, body = super::ErrorAnswer, description = "No or a wrong bearer token"),
        (status = 404, body = super::ErrorAnswer, description = "No such store, or the admin API is off"),
        (status = 503, body = super::ErrorAnswer, description = "The job store does not answer")
    ),
    security(("bearer" = []))
)]
pub async fn remove(path: web::Path<(String, String)>, state: web::Data<AppState>) -> HttpResponse {
    let (id, raw) = path.into_inner();
    let store = match store(&state, &id) {
        Ok(s) => s,
        Err(answer) => return *answer,
    };
    let phone = match e164(&store, &raw) {
        Ok(p) => p,
        Err(answer) => return *answer,
    };
    match state.optouts.opt_in(store.id.as_str(), &phone).await {
        Ok(removed) => HttpResponse::Ok().json(OptOutAnswer {
            status: if removed { "removed" } else { "not_listed" }.into(),
            phone: mask_phone(&phone),
        }),
        Err(e) => db_error(e),
    }
}
