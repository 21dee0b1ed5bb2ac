//! The sweep's listing for Shopify (issue 20): the Admin GraphQL `orders` connection updated
//! since a time, oldest change first (`sortKey: UPDATED_AT`), each node turned back into the
//! REST order its webhooks carry and parsed by the webhook's own code; and the app's
//! `webhookSubscriptions`, searched for one delivering to us. See `platforms::reconcile`.
//!
//! The cost-based throttle: a `THROTTLED` answer (or an HTTP 429) is transient with the wait
//! its cost extension implies; a page that leaves less budget than the query costs is
//! returned only after that wait (at most [`MAX_PAGE_WAIT`]), so the next page is not refused.

mod convert;
mod query;
mod read;
mod refunds;

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
pub use query::ORDERS_PER_PAGE;
use query::orders_query;
pub(super) use read::order as read_order;

const FIXES: Fixes = Fixes {
    platform: "Shopify",
    auth: "Shopify refused the Admin API token: check shopify.admin_token (its custom app needs the read_orders scope to read orders) and shopify.shop_domain",
    base_key: "shopify.shop_domain (or shopify.api_base_url)",
    reset_ms_header: None,
};

/// Waited at most within the listing for the budget to refill before the next page; a longer
/// wait is the next call's `THROTTLED` (transient, waited by the sweep).
pub const MAX_PAGE_WAIT: Duration = Duration::from_secs(10);

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
    let Some(changed_at) = changed_at else {
        let why = "no updatedAt or createdAt in the listing";
        page.skipped.push((id, why.into()));
        return Ok(());
    };
    let rest = match read::whole(client, api, url, node).await? {
        Ok(rest) => rest,
        Err(why) => {
            page.skipped.push((id, why));
            return Ok(());
        }
    };
    let body = serde_json::to_vec(&rest).unwrap_or_default();
    let (mut found, mut ignored) = (Vec::new(), None);
    for topic in convert::topics(&rest, text("createdAt"), since) {
        let headers = Headers::new([(TOPIC[0].to_owned(), topic.to_owned())]);
        match Shopify.parse(&headers, &body) {
            Ok(Parsed::Event(event)) => found.push(Found {
                event: *event,
                body: Some(body.clone()),
                changed_at,
            }),
            Ok(Parsed::Ignored { reason, .. }) => ignored = Some(reason),
            Err(e) => ignored = Some(e.to_string()),
        }
    }
    // An order is found (under each topic that makes an event) or skipped, not both.
    match ignored {
        Some(why) if found.is_empty() => page.skipped.push((id, why)),
        _ => page.found.extend(found),
    }
    Ok(())
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
            "Shopify: access denied: reading orders needs the read_orders scope (and webhookSubscriptions the app's own webhooks); add it to the custom app under Settings → Apps → Develop apps → Configuration, reinstall, and put the new token in shopify.admin_token: {said}"
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
