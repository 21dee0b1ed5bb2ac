//! The Buzzbip-compatible routes: login, media upload and delete, template send.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Shared;
use super::model::{Call, FaultKind, FaultTarget, FileInfo, Media, TemplateState};
use super::state::Auth;

/// WhatsApp's document limit.
const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;
const PLUGIN_HEADERS: [&str; 3] = ["x-api-key", "x-platform-type", "x-base-uri"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/login_check", web::post().to(login))
        .route("/api/v2/whatsapp/media", web::post().to(upload))
        .route("/api/v2/whatsapp/media/{id}", web::delete().to(delete))
        .route(
            "/api/v2/whatsapp/templates/{template_id}/send",
            web::post().to(send),
        );
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

async fn upload(
    req: HttpRequest,
    payload: web::Payload,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let mut call = new_call(&req, None, None);
    if let Some(resp) = apply_fault(&shared, FaultTarget::Upload).await {
        return finish(&shared, call, resp);
    }
    let account = match authorize(&shared, &req, &mut call) {
        Ok(a) => a,
        Err(resp) => return finish(&shared, call, resp),
    };
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let mut found: Option<(FileInfo, bytes::Bytes)> = None;
    while let Some(field) = multipart.next().await {
        let mut field = match field {
            Ok(f) => f,
            Err(e) => {
                let resp = jsend_fail(
                    StatusCode::BAD_REQUEST,
                    &format!("invalid multipart body: {e}"),
                    Value::Null,
                );
                return finish(&shared, call, resp);
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let content_type = field.content_type().map(|m| m.essence_str().to_owned());
        let mut content = bytes::BytesMut::new();
        while let Some(chunk) = field.next().await {
            match chunk {
                Ok(c) => content.extend_from_slice(&c),
                Err(e) => {
                    let resp = jsend_fail(
                        StatusCode::BAD_REQUEST,
                        &format!("invalid multipart body: {e}"),
                        Value::Null,
                    );
                    return finish(&shared, call, resp);
                }
            }
            if content.len() as u64 > MAX_UPLOAD_BYTES {
                let resp = jsend_fail(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "file is larger than 100 MB",
                    Value::Null,
                );
                return finish(&shared, call, resp);
            }
        }
        if name == "file" && found.is_none() {
            let content = content.freeze();
            let info = FileInfo {
                field: name,
                filename,
                content_type,
                size: content.len() as u64,
                sha256: hex::encode(Sha256::digest(&content)),
            };
            found = Some((info, content));
        }
    }
    let Some((info, content)) = found else {
        let resp = jsend_fail(
            StatusCode::BAD_REQUEST,
            "Validation failed",
            json!({"file": "This value should not be blank."}),
        );
        return finish(&shared, call, resp);
    };
    call.file = Some(info.clone());
    let allowed = matches!(
        info.content_type.as_deref(),
        Some("application/pdf" | "image/jpeg" | "image/png" | "video/mp4")
    );
    if !allowed || info.size == 0 {
        let reason = if info.size == 0 {
            "The file is empty.".to_owned()
        } else {
            format!(
                "The mime type {:?} is not allowed.",
                info.content_type.as_deref().unwrap_or("none")
            )
        };
        let resp = jsend_fail(
            StatusCode::BAD_REQUEST,
            "Validation failed",
            json!({"file": reason}),
        );
        return finish(&shared, call, resp);
    }
    let media = Media {
        id: String::new(),
        owner: account.clone(),
        filename: info.filename.clone(),
        content_type: info.content_type.clone(),
        size: info.size,
        sha256: info.sha256.clone(),
    };
    let id = shared.lock().store_media(media, content);
    let resp = HttpResponse::Ok().json(json!({
        "status": "success",
        "message": "Media uploaded",
        "data": {"media_id": id},
    }));
    finish(&shared, call, resp)
}

async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let mut call = new_call(&req, None, None);
    if let Some(resp) = apply_fault(&shared, FaultTarget::Delete).await {
        return finish(&shared, call, resp);
    }
    let account = match authorize(&shared, &req, &mut call) {
        Ok(a) => a,
        Err(resp) => return finish(&shared, call, resp),
    };
    let id = path.into_inner();
    let resp = if shared.lock().delete_media(&id, &account) {
        HttpResponse::Ok()
            .json(json!({"status": "success", "message": "Media deleted", "data": null}))
    } else {
        jsend_fail(
            StatusCode::NOT_FOUND,
            &format!("Media {id} not found"),
            Value::Null,
        )
    };
    finish(&shared, call, resp)
}

async fn send(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let parsed = json_of(&body);
    let mut call = new_call(&req, parsed.clone(), None);
    if let Some(resp) = apply_fault(&shared, FaultTarget::Send).await {
        return finish(&shared, call, resp);
    }
    let account = match authorize(&shared, &req, &mut call) {
        Ok(a) => a,
        Err(resp) => return finish(&shared, call, resp),
    };
    let resp = match validate_send(&shared, &account, &path.into_inner(), parsed) {
        Ok(()) => {
            let group: u128 = rand::random();
            HttpResponse::Ok().json(json!({
                "status": "success",
                "message": "Message queued",
                "data": {"whatsapp_bulk_group_id": format!("{group:032x}")},
            }))
        }
        Err(resp) => resp,
    };
    finish(&shared, call, resp)
}

/// The checks Buzzbip documents for a v2 template send.
// The error is the finished HTTP answer, built once per refused call: boxing buys nothing.
#[allow(clippy::result_large_err)]
fn validate_send(
    shared: &Shared,
    account: &str,
    template_id: &str,
    body: Option<Value>,
) -> Result<(), HttpResponse> {
    let bad = |errors: Value| jsend_fail(StatusCode::BAD_REQUEST, "Validation failed", errors);
    let Some(Value::Object(body)) = body else {
        return Err(bad(json!({"body": "A JSON object is required."})));
    };
    let state = shared.lock();
    let template = template_id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.templates.get(&id))
        .ok_or_else(|| {
            jsend_fail(
                StatusCode::NOT_FOUND,
                &format!("Template {template_id} not found"),
                Value::Null,
            )
        })?;
    if template.state != TemplateState::Approved {
        let state_name = serde_json::to_value(template.state).unwrap_or_default();
        return Err(jsend_fail(
            StatusCode::BAD_REQUEST,
            &format!(
                "Template {} is not approved (state: {})",
                template.id,
                state_name.as_str().unwrap_or("?")
            ),
            json!({"state": state_name}),
        ));
    }
    let mut errors = serde_json::Map::new();
    let to = body.get("to").and_then(Value::as_str).unwrap_or_default();
    if !(8..=15).contains(&to.len()) || !to.bytes().all(|b| b.is_ascii_digit()) {
        errors.insert(
            "to".into(),
            json!("Must be 8 to 15 digits with the country calling code, without +."),
        );
    }
    let cc = body
        .get("country_code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.insert(
            "country_code".into(),
            json!("Must be an ISO 3166-1 alpha-2 code."),
        );
    }
    let otp = body.get("otp_code").is_some_and(|v| !v.is_null());
    let params = body.get("body_params");
    if otp && (params.is_some() || body.get("buttons").is_some()) {
        errors.insert(
            "otp_code".into(),
            json!("otp_code cannot be combined with body_params or buttons."),
        );
    }
    let param_count = match params {
        None | Some(Value::Null) => 0,
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items.len(),
        Some(_) => {
            errors.insert("body_params".into(), json!("Must be a list of strings."));
            template.placeholders
        }
    };
    if !otp && param_count != template.placeholders {
        errors.insert(
            "body_params".into(),
            json!(format!(
                "Template {} expects {} body parameters, {} given.",
                template.id, template.placeholders, param_count
            )),
        );
    }
    if let Some(buttons) = body.get("buttons").filter(|b| !b.is_null()) {
        let ok = buttons.as_array().is_some_and(|list| {
            list.len() <= template.url_buttons
                && list.iter().all(|b| {
                    b.get("index")
                        .and_then(Value::as_u64)
                        .is_some_and(|i| (i as usize) < template.url_buttons)
                        && b.get("sub_type").and_then(Value::as_str) == Some("url")
                        && b.get("value").is_some_and(Value::is_string)
                })
        });
        if !ok {
            errors.insert("buttons".into(), json!(format!("Template {} has {} URL buttons; each needs index, sub_type \"url\" and a string value.", template.id, template.url_buttons)));
        }
    }
    let media_id = match body.get("header_media_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => Some(String::new()),
    };
    match (template.header.takes_media(), media_id) {
        (true, None) => {
            errors.insert(
                "header_media_id".into(),
                json!("This template has a media header: header_media_id is required."),
            );
        }
        (true, Some(id)) => {
            if state.media.get(&id).is_none_or(|m| m.owner != account) {
                errors.insert(
                    "header_media_id".into(),
                    json!(format!("Media {id} not found for this user.")),
                );
            }
        }
        (false, Some(_)) => {
            errors.insert(
                "header_media_id".into(),
                json!("This template has no media header."),
            );
        }
        (false, None) => {}
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(bad(Value::Object(errors)))
    }
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
