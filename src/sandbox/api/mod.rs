//! The Buzzbip-compatible routes: login here with what every route shares (the token and
//! plugin-header check, injected faults, the call record, Buzzbip's error shapes); media upload
//! and delete in `media`, the template send and its validation in `send`.

mod delivery;
mod media;
mod send;

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::Shared;
use super::model::{Call, FaultKind, FaultTarget, FileInfo};
use super::state::Auth;

const PLUGIN_HEADERS: [&str; 3] = ["x-api-key", "x-platform-type", "x-base-uri"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/login_check", web::post().to(login))
        .route("/api/v2/whatsapp/media", web::post().to(media::upload))
        .route(
            "/api/v2/whatsapp/media/{id}",
            web::delete().to(media::delete),
        )
        .route(
            "/api/v2/whatsapp/templates/{template_id}/send",
            web::post().to(send::send),
        )
        // The older route, with its trailing slash (without it, the default 404).
        .route("/api/whatsapp/", web::get().to(delivery::lookup));
}

/// Anything else, a trailing slash on a v2 route included, is a 404 like Symfony's.
pub async fn not_found(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let call = new_call(&req, json_of(&body), None);
    let message = format!("No route found for \"{} {}\"", req.method(), req.path());
    finish(
        &shared,
        call,
        jsend_fail(StatusCode::NOT_FOUND, &message, Value::Null),
    )
}

async fn login(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let parsed = json_of(&body);
    let redacted = parsed.clone().map(|mut v| {
        if let Some(p) = v.get_mut("password") {
            *p = json!("[redacted]");
        }
        v
    });
    let mut call = new_call(&req, redacted, None);
    if let Some(resp) = apply_fault(&shared, FaultTarget::Login).await {
        return finish(&shared, call, resp);
    }
    let creds = parsed.as_ref().and_then(|v| {
        Some((
            v.get("username")?.as_str()?.to_owned(),
            v.get("password")?.as_str()?.to_owned(),
        ))
    });
    let Some((username, password)) = creds else {
        let resp = HttpResponse::BadRequest()
            .json(json!({"code": 400, "message": "The key \"username\" and \"password\" must be provided."}));
        return finish(&shared, call, resp);
    };
    let mut state = shared.lock();
    let known = state
        .accounts
        .get(&username)
        .is_some_and(|a| a.password == password);
    let resp = if known {
        call.account = Some(username.clone());
        HttpResponse::Ok().json(json!({"token": state.issue_token(&username)}))
    } else {
        HttpResponse::Unauthorized().json(json!({"code": 401, "message": "Invalid credentials."}))
    };
    drop(state);
    finish(&shared, call, resp)
}

/// The checks every v2 call goes through: token, plugin headers, API access.
#[allow(clippy::result_large_err)]
fn authorize(shared: &Shared, req: &HttpRequest, call: &mut Call) -> Result<String, HttpResponse> {
    let state = shared.lock();
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let account = match state.authenticate(authorization) {
        Auth::Ok(account) => account,
        Auth::Missing => return Err(lexik(StatusCode::UNAUTHORIZED, "JWT Token not found")),
        Auth::Invalid => return Err(lexik(StatusCode::UNAUTHORIZED, "Invalid JWT Token")),
        Auth::Expired => return Err(lexik(StatusCode::UNAUTHORIZED, "Expired JWT Token")),
    };
    call.account = Some(account.username.clone());
    for name in PLUGIN_HEADERS {
        let present = req
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty());
        if !present {
            return Err(jsend_fail(
                StatusCode::BAD_REQUEST,
                &format!("Missing required header {name}"),
                Value::Null,
            ));
        }
    }
    let key = req.headers().get("x-api-key").and_then(|v| v.to_str().ok());
    if key != Some(account.api_key.as_str()) {
        return Err(jsend_fail(
            StatusCode::UNAUTHORIZED,
            "Invalid API key",
            Value::Null,
        ));
    }
    if !account.api_access {
        return Err(jsend_fail(
            StatusCode::FORBIDDEN,
            "Access denied: API access is not enabled for this user",
            Value::Null,
        ));
    }
    Ok(account.username)
}

async fn apply_fault(shared: &Shared, target: FaultTarget) -> Option<HttpResponse> {
    let kind = shared.lock().take_fault(target)?;
    Some(match kind {
        FaultKind::Slow { delay_ms } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            return None;
        }
        FaultKind::RateLimit { retry_after_secs } => {
            let mut resp = HttpResponse::TooManyRequests();
            if let Some(secs) = retry_after_secs {
                resp.insert_header(("Retry-After", secs.to_string()));
            }
            resp.json(json!({"status": "error", "message": "Too many requests: rate limit exceeded", "code": 429}))
        }
        FaultKind::ServerError { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            HttpResponse::build(status).json(json!({"status": "error", "message": "Internal server error", "code": status.as_u16()}))
        }
        FaultKind::JsendFail { message } => {
            HttpResponse::Ok().json(json!({"status": "fail", "message": message, "data": []}))
        }
        FaultKind::JsendError { message } => {
            HttpResponse::Ok().json(json!({"status": "error", "message": message}))
        }
        FaultKind::ExpiredToken => lexik(StatusCode::UNAUTHORIZED, "Expired JWT Token"),
    })
}

fn new_call(req: &HttpRequest, json: Option<Value>, file: Option<FileInfo>) -> Call {
    let headers: BTreeMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Call {
        seq: 0,
        method: req.method().to_string(),
        path: req.path().to_owned(),
        query: req.query_string().to_owned(),
        headers,
        json,
        file,
        account: None,
        status: 0,
        at_ms: 0,
    }
}

fn finish(shared: &Shared, mut call: Call, resp: HttpResponse) -> HttpResponse {
    call.status = resp.status().as_u16();
    call.at_ms = crate::clock::now_ms();
    tracing::debug!(method = %call.method, path = %call.path, status = call.status, "sandbox call");
    shared.lock().record(call);
    resp
}

fn json_of(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

fn jsend_fail(status: StatusCode, message: &str, data: Value) -> HttpResponse {
    HttpResponse::build(status).json(json!({"status": "fail", "message": message, "data": data}))
}

/// LexikJWTAuthenticationBundle's error shape, which Buzzbip's JWT layer answers with.
fn lexik(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"code": status.as_u16(), "message": message}))
}
