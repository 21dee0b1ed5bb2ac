//! The sweep's listing for Shopify (issue 20): the Admin GraphQL `orders` connection updated
//! since a time, oldest change first (`sortKey: UPDATED_AT`), each node turned back into the
//! REST order its webhooks carry and parsed by the webhook's own code; and the app's
//! `webhookSubscriptions`, searched for one delivering to us. See `platforms::reconcile`.
//!
//! The cost-based throttle: a `THROTTLED` answer (or an HTTP 429) is transient with the wait
//! its cost extension implies; a page that leaves less budget than the query costs is
//! returned only after that wait (at most [`MAX_PAGE_WAIT`]), so the next page is not refused.

mod convert;

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use super::super::reconcile::{ApiError, Found, Page, Subscription, is_our_delivery_url};
use super::super::writeback::{Fixes, classify, retry_after, send_raw};
use super::super::{Headers, Parsed, WebhookPlatform, unix_rfc3339};
use super::api::{
    MIN_THROTTLE_WAIT, cost_wait, error_list, graphql_request, graphql_url, has_code, messages,
    throttle_wait,
};
use super::profile::Api;
use super::{Shopify, TOPIC};
use crate::clock::parse_datetime_ms;

const FIXES: Fixes = Fixes {
    platform: "Shopify",
    auth: "Shopify refused the Admin API token: check shopify.admin_token (its custom app needs the read_orders scope to list orders) and shopify.shop_domain",
    base_key: "shopify.shop_domain (or shopify.api_base_url)",
    reset_ms_header: None,
};

/// Orders per page and lines per order: Shopify refuses a query whose requested cost is over
/// 1000 points, and each line costs about 3 (the line, its price set, its amount), so 100
/// orders of 100 lines would be refused outright. 10 × 25 lines stays near 900; an order
/// with more lines has the rest fetched on its own ([`more_lines`]).
pub const ORDERS_PER_PAGE: usize = 10;
const LINES_PER_ORDER: usize = 25;
// About 3 points a line, plus the order's own objects: under Shopify's 1000.
const _: () = assert!(ORDERS_PER_PAGE * (LINES_PER_ORDER * 3 + 20) < 1000);
/// Lines fetched for one order at most (pages of 100): past this its invoice would be wrong,
/// so the order is skipped rather than sent short.
const MAX_LINES: usize = 1000;
/// Waited at most within the listing for the budget to refill before the next page; a longer
/// wait is the next call's `THROTTLED` (transient, waited by the sweep).
pub const MAX_PAGE_WAIT: Duration = Duration::from_secs(10);

const ADDRESS: &str = "name firstName lastName company address1 address2 city provinceCode province zip countryCodeV2 phone";
const MONEY: &str = "shopMoney { amount currencyCode }";

fn orders_query() -> String {
    format!(
        "query($cursor: String, $query: String) {{ orders(first: {ORDERS_PER_PAGE}, after: $cursor, sortKey: UPDATED_AT, query: $query) {{ \
         pageInfo {{ hasNextPage endCursor }} \
         nodes {{ id legacyResourceId name email phone createdAt updatedAt processedAt cancelledAt \
         displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode customerLocale \
         taxesIncluded paymentGatewayNames \
         customer {{ firstName lastName email phone }} \
         billingAddress {{ {ADDRESS} }} shippingAddress {{ {ADDRESS} }} \
         subtotalPriceSet {{ {MONEY} }} totalPriceSet {{ {MONEY} }} totalDiscountsSet {{ {MONEY} }} \
         totalTaxSet {{ {MONEY} }} totalShippingPriceSet {{ {MONEY} }} \
         taxLines {{ title rate priceSet {{ {MONEY} }} }} \
         lineItems(first: {LINES_PER_ORDER}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE} }} }} }} }} }}"
    )
}

const LINE: &str = "name title sku quantity originalUnitPriceSet { shopMoney { amount } }";

fn lines_query() -> String {
    format!(
        "query($id: ID!, $after: String) {{ order(id: $id) {{ lineItems(first: 100, after: $after) {{ \
         pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE} }} }} }} }}"
    )
}

const WEBHOOKS_QUERY: &str = "{ webhookSubscriptions(first: 100) { edges { node { id topic \
    endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } } } }";

/// The page after `cursor` (a GraphQL end cursor; `None`: the first) of the orders updated
/// at or after `since` (Unix ms), oldest change first.
pub async fn list_changed(
    client: &reqwest::Client,
    api: &Api,
    since: i64,
    cursor: Option<&str>,
) -> Result<Page, ApiError> {
    let url = graphql_url(api)?;
    let variables = json!({ "cursor": cursor, "query": search(since) });
    let body = graphql(client, api, &url, &orders_query(), variables).await?;
    let orders = &body["data"]["orders"];
    if !orders.is_object() {
        return Err(ApiError::Permanent(
            "Shopify: the Admin API answered without orders".into(),
        ));
    }
    let mut page = Page::default();
    for node in convert::items(&orders["nodes"]) {
        take(client, api, &url, node, since, &mut page).await?;
    }
    let info = &orders["pageInfo"];
    page.next = match info["endCursor"].as_str() {
        Some(end) if info["hasNextPage"] == true && Some(end) != cursor => Some(end.to_owned()),
        _ => None,
    };
    if page.next.is_some()
        && let Some(wait) = budget_wait(&body)
    {
        tokio::time::sleep(wait.min(MAX_PAGE_WAIT)).await;
    }
    Ok(page)
}

/// `updated_at:>='2026-11-25T10:00:00Z'`: Shopify compares whole seconds, so `since` is
/// rounded down (listed once more rather than missed).
pub fn search(since: i64) -> String {
    format!("updated_at:>='{}'", unix_rfc3339(since.div_euclid(1000)))
}

/// Adds one order node to `page`: found, or skipped with why.
async fn take(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    node: &Value,
    since: i64,
    page: &mut Page,
) -> Result<(), ApiError> {
    let text = |k: &str| node[k].as_str().and_then(parse_datetime_ms);
    let changed_at = text("updatedAt").or_else(|| text("createdAt"));
    if let Some(at) = changed_at {
        page.newest_change = page.newest_change.max(Some(at));
    }
    let id = convert::rest_id(node).unwrap_or_else(|| node["id"].to_string());
    let mut skip = |reason: String| page.skipped.push((id.clone(), reason));
    let Some(changed_at) = changed_at else {
        skip("no updatedAt or createdAt in the listing".into());
        return Ok(());
    };
    let mut rest = match convert::rest_order(node) {
        Ok(rest) => rest,
        Err(why) => {
            skip(why);
            return Ok(());
        }
    };
    let lines = &node["lineItems"]["pageInfo"];
    if lines["hasNextPage"] == true {
        let after = lines["endCursor"].as_str().unwrap_or_default();
        match more_lines(
            client,
            api,
            url,
            node["id"].as_str().unwrap_or_default(),
            after,
        )
        .await?
        {
            Some(more) => {
                if let Some(list) = rest["line_items"].as_array_mut() {
                    list.extend(more);
                }
            }
            None => {
                skip(format!("more than {MAX_LINES} lines"));
                return Ok(());
            }
        }
    }
    let topic = convert::topic(&rest, text("createdAt"), since);
    let body = serde_json::to_vec(&rest).unwrap_or_default();
    let headers = Headers::new([(TOPIC[0].to_owned(), topic.to_owned())]);
    match Shopify.parse(&headers, &body) {
        Ok(Parsed::Event(event)) => page.found.push(Found {
            event: *event,
            body: Some(body),
            changed_at,
        }),
        Ok(Parsed::Ignored { reason, .. }) => skip(reason),
        Err(e) => skip(e.to_string()),
    }
    Ok(())
}

/// The lines of order `gid` after `after`, in REST's shape; `None` past [`MAX_LINES`].
async fn more_lines(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    gid: &str,
    after: &str,
) -> Result<Option<Vec<Value>>, ApiError> {
    let mut lines = Vec::new();
    let mut after = after.to_owned();
    while lines.len() < MAX_LINES {
        let vars = json!({ "id": gid, "after": after });
        let body = graphql(client, api, url, &lines_query(), vars).await?;
        let items = &body["data"]["order"]["lineItems"];
        lines.extend(convert::items(&items["nodes"]).map(convert::line));
        match items["pageInfo"]["endCursor"].as_str() {
            Some(end) if items["pageInfo"]["hasNextPage"] == true && end != after => {
                after = end.to_owned();
            }
            _ => return Ok(Some(lines)),
        }
    }
    Ok(None)
}

/// Whether the app's webhook subscriptions deliver to this store's route.
pub async fn subscription(
    client: &reqwest::Client,
    api: &Api,
    store_id: &str,
) -> Result<Subscription, ApiError> {
    let url = graphql_url(api)?;
    let body = graphql(client, api, &url, WEBHOOKS_QUERY, json!({})).await?;
    Ok(judge(&body["data"]["webhookSubscriptions"], store_id))
}

/// What the subscriptions listed say: ours are those whose callback URL is the store's route.
fn judge(subscriptions: &Value, store_id: &str) -> Subscription {
    let all: Vec<&Value> = convert::items(subscriptions).collect();
    let mut ours: Vec<String> = all
        .iter()
        .filter(|s| {
            s["endpoint"]["callbackUrl"]
                .as_str()
                .is_some_and(|u| is_our_delivery_url(u, store_id))
        })
        .map(|s| topic_name(s["topic"].as_str().unwrap_or("?")))
        .collect();
    ours.sort();
    ours.dedup();
    if !ours.is_empty() {
        return Subscription {
            ok: true,
            detail: format!(
                "Shopify delivers {} to …/webhooks/{store_id}",
                ours.join(", ")
            ),
            reactivated: false,
        };
    }
    Subscription {
        ok: false,
        detail: format!(
            "Shopify lists no webhook subscription delivering to …/webhooks/{store_id} ({} other{}). \
             Shopify deletes a subscription whose deliveries keep failing: re-create it for \
             orders/create and orders/paid (in the app, or under Settings → Notifications → \
             Webhooks) pointing to https://<shopbip's address>/webhooks/{store_id}. Webhooks \
             made under Settings → Notifications, or declared in an app's shopify.app.toml, are \
             not shown to the app's API: if yours is one of those, this check cannot see it.",
            all.len(),
            if all.len() == 1 { "" } else { "s" }
        ),
        reactivated: false,
    }
}

/// `ORDERS_PAID` → `orders/paid`, as the webhook's topic header spells it.
fn topic_name(graphql: &str) -> String {
    let lower = graphql.to_ascii_lowercase();
    match lower.split_once('_') {
        Some((resource, event)) => format!("{resource}/{event}"),
        None => lower,
    }
}

/// One GraphQL call; the whole answer (`data` and `extensions`). Throttling (`THROTTLED`,
/// or HTTP 429) is transient with its wait; other `errors` permanent with their message.
async fn graphql(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    query: &str,
    variables: Value,
) -> Result<Value, ApiError> {
    let request = graphql_request(client, api, url, query, variables)?;
    let answer = send_raw(request, url, &FIXES).await?;
    if answer.status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        let wait = retry_after(&answer.headers, None)
            .or_else(|| cost_wait(&body))
            .unwrap_or(MIN_THROTTLE_WAIT)
            .max(MIN_THROTTLE_WAIT);
        return Err(throttled("HTTP 429", wait));
    }
    let answer = classify(answer, url, &FIXES)?;
    let body = answer.json(&FIXES, url)?;
    errors(&body)?;
    if !body["data"].is_object() {
        return Err(ApiError::Permanent(
            "Shopify: the Admin API answered without data".into(),
        ));
    }
    Ok(body)
}

/// The answer's top-level `errors`, classed.
fn errors(body: &Value) -> Result<(), ApiError> {
    let Some(list) = error_list(body) else {
        return Ok(());
    };
    let code = |c: &str| has_code(&list, c);
    if code("THROTTLED") {
        return Err(throttled("THROTTLED", throttle_wait(body)));
    }
    let said = messages(&list);
    let access = code("ACCESS_DENIED") || said.contains("access denied") || said.contains("scope");
    Err(ApiError::Permanent(if access {
        format!(
            "Shopify: access denied: listing orders needs the read_orders scope (and webhookSubscriptions the app's own webhooks); add it to the custom app under Settings → Apps → Develop apps → Configuration, reinstall, and put the new token in shopify.admin_token: {said}"
        )
    } else {
        format!("Shopify: the Admin API refused the query: {said}")
    }))
}

fn throttled(what: &str, wait: Duration) -> ApiError {
    ApiError::Transient {
        reason: format!(
            "Shopify: throttled ({what}: the Admin API's query cost budget is spent; it refills in about {} s)",
            wait.as_secs()
        ),
        retry_after: Some(wait),
    }
}

/// After a page: the wait before the next page's query fits the budget, when it does not now.
fn budget_wait(body: &Value) -> Option<Duration> {
    cost_wait(body).filter(|w| !w.is_zero())
}

#[cfg(test)]
mod tests;
