//! Shopify's Admin GraphQL API: the write-back, a tag (`tagsAdd`) and a line appended to the
//! order's note (`orderUpdate`, which replaces the note: it is read first and the merchant's
//! own text kept), with the store's `X-Shopify-Access-Token`; and the worker's order fetch.

use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use url::Url;

use super::Shopify;
use super::profile::Api;
use crate::net::display_url;
use crate::order::Order;
use crate::platforms::WebhookPlatform;
use crate::platforms::api::OrderFetchError;
use crate::platforms::writeback::{
    Fixes, Note, WriteBackError, appended, endpoint, one_line, send,
};

const FIXES: Fixes = Fixes {
    platform: "Shopify",
    auth: "Shopify refused the Admin API token: check shopify.admin_token (its app needs the read_orders and write_orders scopes) and shopify.shop_domain",
    base_key: "shopify.shop_domain (or shopify.api_base_url)",
    reset_ms_header: None,
};

const NOTE_QUERY: &str = "query($id: ID!) { order(id: $id) { note } }";
const TAG_AND_NOTE: &str = "mutation($id: ID!, $tags: [String!]!, $input: OrderInput!) { \
    tagsAdd(id: $id, tags: $tags) { userErrors { field message } } \
    orderUpdate(input: $input) { userErrors { field message } } }";
const TAG_ONLY: &str = "mutation($id: ID!, $tags: [String!]!) { \
    tagsAdd(id: $id, tags: $tags) { userErrors { field message } } }";

/// A throttled query is retried no sooner than this, whatever the cost extension says.
pub(super) const MIN_THROTTLE_WAIT: Duration = Duration::from_secs(1);

/// Tags order `order_id` with `note.tag` and appends `note.text` to its note (not again when
/// the note already holds it, as after a retry whose answer was lost).
pub async fn write_back(
    client: &reqwest::Client,
    api: &Api,
    order_id: &str,
    note: &Note<'_>,
) -> Result<(), WriteBackError> {
    // The REST id of the webhook's order; the GraphQL id is built from it.
    if order_id.is_empty() || !order_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WriteBackError::Permanent(format!(
            "Shopify: {:?} is not an order id",
            order_id.chars().take(40).collect::<String>()
        )));
    }
    let url = graphql_url(api)?;
    let gid = format!("gid://shopify/Order/{order_id}");
    let data = graphql(client, api, &url, NOTE_QUERY, json!({ "id": gid })).await?;
    let order = &data["order"];
    if !order.is_object() {
        return Err(WriteBackError::Permanent(format!(
            "Shopify: no order {order_id} in this shop (orders older than 60 days need the read_all_orders scope)"
        )));
    }
    let existing = order["note"].as_str().unwrap_or_default();
    let (query, variables, fields) = match appended(existing, note.text) {
        Some(new) => (
            TAG_AND_NOTE,
            json!({ "id": gid, "tags": [note.tag], "input": { "id": gid, "note": new } }),
            &["tagsAdd", "orderUpdate"][..],
        ),
        None => (
            TAG_ONLY,
            json!({ "id": gid, "tags": [note.tag] }),
            &["tagsAdd"][..],
        ),
    };
    let data = graphql(client, api, &url, query, variables).await?;
    for field in fields {
        let errors = data[*field]["userErrors"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if !errors.is_empty() {
            return Err(WriteBackError::Permanent(format!(
                "Shopify refused {field} on order {order_id}: {}",
                messages(errors)
            )));
        }
        if data[*field].is_null() {
            return Err(WriteBackError::Permanent(format!(
                "Shopify: {field} on order {order_id} gave no answer"
            )));
        }
    }
    Ok(())
}

/// Order `order_id` (its REST id, as webhooks carry it), read as the sweep reads each listed
/// order (every line, the newest refund whole) and parsed by the webhook's own code: the
/// order a `refunds/create` names only. `client` must not follow redirects
/// (`platforms::api::client`).
pub async fn fetch_order(
    client: &reqwest::Client,
    api: &Api,
    order_id: &str,
) -> Result<Order, OrderFetchError> {
    let url = graphql_url(api)
        .map(|u| display_url(u.as_str()))
        .unwrap_or_else(|_| display_url(&api.base_url));
    let permanent = |reason: String| OrderFetchError::Permanent {
        order: order_id.to_owned(),
        url: url.clone(),
        reason,
    };
    // The id goes into a GraphQL id: only what Shopify order ids are.
    if order_id.is_empty() || !order_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(permanent("not a Shopify order id".into()));
    }
    let rest = super::reconcile::read_order(client, api, order_id)
        .await
        .map_err(|e| match e {
            WriteBackError::Transient {
                reason,
                retry_after,
            } => OrderFetchError::Transient {
                order: order_id.to_owned(),
                url: url.clone(),
                reason,
                retry_after,
            },
            WriteBackError::Permanent(reason) => permanent(reason),
        })?;
    let body = serde_json::to_vec(&rest).map_err(|e| permanent(e.to_string()))?;
    let order = Shopify
        .parse_order(&body)
        .map_err(|e| permanent(e.to_string()))?;
    order.check_amounts().map_err(permanent)?;
    Ok(order)
}

/// The Admin API's GraphQL endpoint of the store's API version.
pub(super) fn graphql_url(api: &Api) -> Result<Url, WriteBackError> {
    endpoint(
        &api.base_url,
        &["admin", "api", &api.api_version, "graphql.json"],
        &FIXES,
    )
}

/// The POST of `query` with `variables` and the store's Admin token (`X-Shopify-Access-Token`,
/// marked sensitive: kept out of reqwest's and hyper's debug output).
pub(super) fn graphql_request(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    query: &str,
    variables: Value,
) -> Result<reqwest::RequestBuilder, WriteBackError> {
    let mut token = HeaderValue::from_str(api.admin_token.expose_secret()).map_err(|_| {
        WriteBackError::Permanent(
            "Shopify: shopify.admin_token is not usable as an HTTP header value".into(),
        )
    })?;
    token.set_sensitive(true);
    Ok(client
        .post(url.clone())
        .header("X-Shopify-Access-Token", token)
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&json!({ "query": query, "variables": variables })))
}

/// The answer's top-level GraphQL `errors`; `None` when there are none.
pub(super) fn error_list(body: &Value) -> Option<Vec<Value>> {
    match &body["errors"] {
        Value::Null => None,
        Value::Array(list) if list.is_empty() => None,
        Value::Array(list) => Some(list.clone()),
        other => Some(vec![json!({ "message": other })]),
    }
}

/// Whether one of `errors` has the extension code `code` (`THROTTLED`, `ACCESS_DENIED`).
pub(super) fn has_code(errors: &[Value], code: &str) -> bool {
    errors
        .iter()
        .any(|e| e["extensions"]["code"].as_str() == Some(code))
}

/// One GraphQL call; its `data`. Top-level `errors` are failures: `THROTTLED` transient (after
/// the wait the cost extension implies), the rest permanent.
async fn graphql(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    query: &str,
    variables: Value,
) -> Result<Value, WriteBackError> {
    let request = graphql_request(client, api, url, query, variables)?;
    let answer = send(request, url, &FIXES).await?;
    let mut body = answer.json(&FIXES, url)?;
    if let Some(list) = error_list(&body) {
        let code = |c: &str| has_code(&list, c);
        if code("THROTTLED") {
            return Err(WriteBackError::Transient {
                reason: "Shopify: throttled (the Admin API's query cost budget is spent)".into(),
                retry_after: Some(throttle_wait(&body)),
            });
        }
        if code("ACCESS_DENIED") {
            return Err(WriteBackError::Permanent(format!(
                "Shopify: access denied: {}: {}",
                FIXES.auth,
                messages(&list)
            )));
        }
        return Err(WriteBackError::Permanent(format!(
            "Shopify: the Admin API refused the request: {}",
            messages(&list)
        )));
    }
    match body.get_mut("data").map(Value::take) {
        Some(data) if data.is_object() => Ok(data),
        _ => Err(WriteBackError::Permanent(
            "Shopify: the Admin API answered without data".into(),
        )),
    }
}

/// The wait before the budget holds `requestedQueryCost` again, from `extensions.cost`:
/// what the query needs beyond what is left, at the restore rate; `None` when it does not say.
pub(super) fn cost_wait(body: &Value) -> Option<Duration> {
    let cost = &body["extensions"]["cost"];
    let status = &cost["throttleStatus"];
    let needed = cost["requestedQueryCost"].as_f64()? - status["currentlyAvailable"].as_f64()?;
    let rate = status["restoreRate"].as_f64()?;
    let secs = (needed / rate).ceil();
    (rate > 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs.clamp(0.0, 3600.0)))
}

/// When a throttled query may be tried again: [`cost_wait`], at least [`MIN_THROTTLE_WAIT`].
pub(super) fn throttle_wait(body: &Value) -> Duration {
    cost_wait(body)
        .unwrap_or(MIN_THROTTLE_WAIT)
        .max(MIN_THROTTLE_WAIT)
}

/// The `message`s of GraphQL errors or user errors, on one line, phones masked.
pub(super) fn messages(errors: &[Value]) -> String {
    let text: Vec<String> = errors
        .iter()
        .take(5)
        .map(|e| match e["message"].as_str() {
            Some(m) => m.to_owned(),
            None => e.to_string(),
        })
        .collect();
    crate::telemetry::redact_phones(&one_line(&text.join("; "), 300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_wait_follows_the_cost_extension() {
        let body = json!({ "extensions": { "cost": { "requestedQueryCost": 100,
            "throttleStatus": { "maximumAvailable": 1000.0, "currentlyAvailable": 20, "restoreRate": 50.0 } } } });
        assert_eq!(throttle_wait(&body), Duration::from_secs(2));
        assert_eq!(throttle_wait(&json!({})), MIN_THROTTLE_WAIT);
        let zero = json!({ "extensions": { "cost": { "requestedQueryCost": 100,
            "throttleStatus": { "currentlyAvailable": 0, "restoreRate": 0 } } } });
        assert_eq!(throttle_wait(&zero), MIN_THROTTLE_WAIT);
    }

    #[test]
    fn graphql_errors_are_read_in_either_shape() {
        assert_eq!(error_list(&json!({ "data": {} })), None);
        assert_eq!(error_list(&json!({ "errors": [] })), None);
        let text = error_list(&json!({ "errors": "Invalid API key" })).unwrap();
        assert_eq!(messages(&text), "Invalid API key");
        let list = error_list(&json!({ "errors": [
            { "message": "Throttled", "extensions": { "code": "THROTTLED" } },
            { "message": "call +216 96 816 277" } ] }))
        .unwrap();
        assert!(has_code(&list, "THROTTLED") && !has_code(&list, "ACCESS_DENIED"));
        assert_eq!(messages(&list), "Throttled; call +216•••••277");
    }
}
