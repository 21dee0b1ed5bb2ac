//! The delivery lookup, `GET /api/whatsapp/?whatsapp_bulk_group_id=&page=&limit=`: the messages
//! of one send, with a state that moves with time (`crate::sandbox::delivery`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{apply_fault, authorize, finish, jsend_fail, new_call};
use crate::sandbox::Shared;
use crate::sandbox::delivery::{self, rfc3339_ms};
use crate::sandbox::model::FaultTarget;

const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;

pub(super) async fn lookup(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let mut call = new_call(&req, None, None);
    if let Some(resp) = apply_fault(&shared, FaultTarget::Delivery).await {
        return finish(&shared, call, resp);
    }
    let account = match authorize(&shared, &req, &mut call) {
        Ok(a) => a,
        Err(resp) => return finish(&shared, call, resp),
    };
    let resp = match answer(&shared, &account, req.query_string()) {
        Ok(resp) | Err(resp) => resp,
    };
    finish(&shared, call, resp)
}

#[allow(clippy::result_large_err)]
fn answer(shared: &Shared, account: &str, query: &str) -> Result<HttpResponse, HttpResponse> {
    let mut group_id = None;
    let mut page = 1;
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "whatsapp_bulk_group_id" => group_id = Some(value.into_owned()),
            "page" => page = positive(&value, "page")?,
            "limit" => limit = positive(&value, "limit")?.min(MAX_LIMIT),
            _ => {}
        }
    }
    let group_id = group_id.filter(|g| !g.is_empty()).ok_or_else(|| {
        jsend_fail(
            StatusCode::BAD_REQUEST,
            "Validation failed",
            json!({"whatsapp_bulk_group_id": "This value should not be blank."}),
        )
    })?;
    let state = shared.lock();
    // Another account's send is as unknown as one never made: ids do not leak across users.
    let message = state
        .sent_message(&group_id)
        .filter(|m| m.account == account)
        .ok_or_else(|| {
            jsend_fail(
                StatusCode::NOT_FOUND,
                "WhatsApp bulk group not found",
                Value::Null,
            )
        })?;
    let status = delivery::status(message, state.delivery(), crate::clock::now_ms());
    let mut item = json!({
        "id": message.message_id,
        "whatsapp_bulk_group_id": message.group_id,
        "number": message.to,
        "state": status.stage.as_str(),
        "updated_at": rfc3339_ms(status.since_ms),
    });
    if let Some(error) = status.error {
        item["error"] = json!(error);
        item["error_code"] = json!(delivery::NOT_ON_WHATSAPP_CODE);
    }
    // One recipient per v2 send, paged like a longer list would be.
    let skip = (page - 1).saturating_mul(limit);
    let items: Vec<Value> = [item]
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "status": "success",
        "message": "Delivery stats",
        "data": items,
    })))
}

#[allow(clippy::result_large_err)]
fn positive(value: &str, name: &str) -> Result<u64, HttpResponse> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            jsend_fail(
                StatusCode::BAD_REQUEST,
                "Validation failed",
                json!({ name: "This value should be a positive integer." }),
            )
        })
}
