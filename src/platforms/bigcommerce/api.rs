//! BigCommerce's REST API: `GET /v2/orders/{id}`, its products and its shipping addresses,
//! with the store's token, turned into the canonical order by `order_from_api`; and the
//! write-back, a line in the order's staff notes.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;
use serde_json::Value;

use super::order_from_api;
use super::profile::Api;
use crate::net::display_url;
use crate::order::Order;
use crate::platforms::api::OrderFetchError;
use crate::platforms::writeback::{Fixes, Note, WriteBackError, appended, endpoint, send};

/// Bigger answers are not an order: refused rather than held in memory.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// `GET /v2/orders/{id}`, then its products and shipping addresses, with the store's token.
/// `client` must not follow redirects (`platforms::api::client`).
pub async fn fetch_order(
    client: &reqwest::Client,
    api: &Api,
    order_id: &str,
) -> Result<Order, OrderFetchError> {
    let base = format!("{}/stores/{}/v2/orders", api.api_base_url, api.store_hash);
    let permanent = |url: &str, reason: String| OrderFetchError::Permanent {
        order: order_id.to_owned(),
        url: display_url(url),
        reason,
    };
    // The id goes into a URL path: only what BigCommerce order ids are.
    if order_id.is_empty() || !order_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(permanent(&base, "not a BigCommerce order id".into()));
    }
    let order_url = format!("{base}/{order_id}");
    let order = get_json(client, api, &order_url, order_id).await?;
    let order = order.ok_or_else(|| permanent(&order_url, "the answer is empty".into()))?;
    let products = list(client, api, &format!("{order_url}/products"), order_id).await?;
    let shipping = list(
        client,
        api,
        &format!("{order_url}/shipping_addresses"),
        order_id,
    )
    .await?;
    let order = order_from_api(&order, &products, &shipping)
        .map_err(|e| permanent(&order_url, e.to_string()))?;
    order
        .check_amounts()
        .map_err(|e| permanent(&order_url, e))?;
    Ok(order)
}

async fn list(
    client: &reqwest::Client,
    api: &Api,
    url: &str,
    order_id: &str,
) -> Result<Vec<Value>, OrderFetchError> {
    match get_json(client, api, url, order_id).await? {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(OrderFetchError::Permanent {
            order: order_id.to_owned(),
            url: display_url(url),
            reason: "the answer is not a JSON list".into(),
        }),
    }
}

/// The JSON answer, or `None` for 204 (BigCommerce's answer for an empty sub-resource).
async fn get_json(
    client: &reqwest::Client,
    api: &Api,
    url: &str,
    order_id: &str,
) -> Result<Option<Value>, OrderFetchError> {
    let transient = |reason: String, retry_after: Option<Duration>| OrderFetchError::Transient {
        order: order_id.to_owned(),
        url: display_url(url),
        reason,
        retry_after,
    };
    let permanent = |reason: String| OrderFetchError::Permanent {
        order: order_id.to_owned(),
        url: display_url(url),
        reason,
    };
    let mut token = HeaderValue::from_str(api.access_token.expose_secret()).map_err(|_| {
        permanent("bigcommerce.access_token is not usable as an HTTP header value".into())
    })?;
    // Kept out of reqwest's and hyper's debug output.
    token.set_sensitive(true);
    let mut response = client
        .get(url)
        .header("X-Auth-Token", token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            transient(
                if e.is_timeout() {
                    "timed out".into()
                } else {
                    "could not connect".into()
                },
                None,
            )
        })?;
    let status = response.status();
    match status {
        StatusCode::NO_CONTENT => return Ok(None),
        s if s.is_success() => {}
        StatusCode::TOO_MANY_REQUESTS => {
            // BigCommerce says when its rate-limit window resets, in milliseconds.
            let wait = response
                .headers()
                .get("X-Rate-Limit-Time-Reset-Ms")
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .map(Duration::from_millis);
            return Err(transient("HTTP 429 (rate limited)".into(), wait));
        }
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
            return Err(transient(format!("HTTP {}", s.as_u16()), None));
        }
        s if s.is_redirection() => {
            // Not followed (see `platforms::api::client`): the token is for BigCommerce's API only.
            let target = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(|l| format!(" to {}", display_url(l)))
                .unwrap_or_default();
            return Err(permanent(format!(
                "HTTP {}: the API redirected{target}, which is not followed with the token; check bigcommerce.api_base_url",
                s.as_u16()
            )));
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(permanent(format!(
                "HTTP {}: the API token was refused; fix bigcommerce.access_token (it needs the Orders read scope) and bigcommerce.store_hash",
                status.as_u16()
            )));
        }
        s => return Err(permanent(format!("HTTP {}", s.as_u16()))),
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| transient("the connection broke while reading".into(), None))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(permanent(format!(
                "the answer is over {MAX_ANSWER_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| permanent(format!("the answer is not JSON: {e}")))
}

const WRITE_FIXES: Fixes = Fixes {
    platform: "BigCommerce",
    auth: "BigCommerce refused the API token: check bigcommerce.access_token (write-back needs the Orders modify scope) and bigcommerce.store_hash",
    base_key: "bigcommerce.api_base_url",
    reset_ms_header: Some("X-Rate-Limit-Time-Reset-Ms"),
};

/// The write-back: `note.text` appended on its own line to the order's `staff_notes`
/// (`PUT /v2/orders/{id}`, which replaces the field, so the notes are read first and the
/// merchant's own kept; nothing is written when they already hold the line, as after a retry
/// whose answer was lost). BigCommerce has no order tags: `note.tag` is not used.
pub async fn write_back(
    client: &reqwest::Client,
    api: &Api,
    order_id: &str,
    note: &Note<'_>,
) -> Result<(), WriteBackError> {
    if order_id.is_empty() || !order_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WriteBackError::Permanent(format!(
            "BigCommerce: {:?} is not an order id",
            order_id.chars().take(40).collect::<String>()
        )));
    }
    let url = endpoint(
        &api.api_base_url,
        &["stores", &api.store_hash, "v2", "orders", order_id],
        &WRITE_FIXES,
    )?;
    let token = || {
        let mut token = HeaderValue::from_str(api.access_token.expose_secret()).map_err(|_| {
            WriteBackError::Permanent(
                "BigCommerce: bigcommerce.access_token is not usable as an HTTP header value"
                    .into(),
            )
        })?;
        // Kept out of reqwest's and hyper's debug output.
        token.set_sensitive(true);
        Ok::<_, WriteBackError>(token)
    };
    let current = send(
        client
            .get(url.clone())
            .header("X-Auth-Token", token()?)
            .header(reqwest::header::ACCEPT, "application/json"),
        &url,
        &WRITE_FIXES,
    )
    .await?;
    let order = current.json(&WRITE_FIXES, &url)?;
    let existing = order
        .get("staff_notes")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(notes) = appended(existing, note.text) else {
        return Ok(());
    };
    send(
        client
            .put(url.clone())
            .header("X-Auth-Token", token()?)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&serde_json::json!({ "staff_notes": notes })),
        &url,
        &WRITE_FIXES,
    )
    .await
    .map(|_| ())
}
