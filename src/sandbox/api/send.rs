//! The v2 template send and the validation Buzzbip documents for it, so a request shopbip
//! builds wrong is refused here as Buzzbip would refuse it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{apply_fault, authorize, finish, jsend_fail, json_of, new_call};
use crate::sandbox::Shared;
use crate::sandbox::model::{FaultTarget, TemplateState};

pub(super) async fn send(
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
    let to = parsed
        .as_ref()
        .and_then(|v| v.get("to"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let resp = match validate_send(&shared, &account, &path.into_inner(), parsed) {
        Ok(()) => {
            let group_id = shared.lock().record_send(&account, &to);
            HttpResponse::Ok().json(json!({
                "status": "success",
                "message": "Message queued",
                "data": {"whatsapp_bulk_group_id": group_id},
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
