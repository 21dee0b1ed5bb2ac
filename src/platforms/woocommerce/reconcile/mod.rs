//! The sweep's listing for WooCommerce (issue 20): `GET /wp-json/wc/v3/orders` changed after a
//! time, oldest change first, page by page; and the shop's own view of our webhooks
//! (`GET /wp-json/wc/v3/webhooks`), a disabled one set back to active when the store allows it.
//! See `platforms::reconcile`.

use secrecy::ExposeSecret;
use serde_json::Value;
use serde_json::value::RawValue;
use url::Url;

use super::super::reconcile::{ApiError, Found, Page, Subscription, is_our_delivery_url};
use super::super::writeback::{
    Answer, Fixes, MAX_PAGE_BYTES, Window, endpoint, one_line, send, send_bounded,
};
use super::super::{Headers, Parsed, WebhookPlatform, unix_rfc3339};
use super::profile::Api;
use super::{TOPIC, WooCommerce};
use crate::clock::parse_datetime_ms;

const FIXES: Fixes = Fixes {
    platform: "WooCommerce",
    auth: "WooCommerce refused the API keys: check woocommerce.consumer_key / consumer_secret (Read permission lists orders; Read/Write is needed to reactivate a webhook)",
    base_key: "woocommerce.api_base_url (or base_uri)",
    reset_ms_header: None,
};

/// WooCommerce's largest page.
pub const PER_PAGE: usize = 100;
/// Webhooks listed at most (pages of [`PER_PAGE`]): a shop has a handful.
const MAX_WEBHOOK_PAGES: u64 = 20;

/// The page `cursor` (a [`Window`]; `None`: the first from `since`) of the orders changed at
/// or after `since` (Unix ms), oldest change first.
pub async fn list_changed(
    client: &reqwest::Client,
    api: &Api,
    since: i64,
    cursor: Option<&str>,
) -> Result<Page, ApiError> {
    let window = Window::parse(cursor, first_second(since), &FIXES)?;
    let url = orders_url(&api.base_url, &window)?;
    let answer = get(client, api, &url).await?;
    let items = list(&answer, &url)?;
    let more = next_page(window.page, total_pages(&answer), items.len()).is_some();
    Ok(orders_page(&items, &window, more))
}

/// The first second a sweep from `since` (Unix ms) lists: `modified_after` is strict and
/// names `since`'s second (the sweep's own overlap covers that second).
fn first_second(since: i64) -> i64 {
    since.div_euclid(1000) + 1
}

/// The listing of `window`: `modified_after` is strict, so it names the second before the
/// window's first.
fn orders_url(base: &str, window: &Window) -> Result<Url, ApiError> {
    let mut url = endpoint(base, &["wp-json", "wc", "v3", "orders"], &FIXES)?;
    url.query_pairs_mut()
        .append_pair("modified_after", &gmt_param((window.from - 1) * 1000))
        .append_pair("dates_are_gmt", "true")
        .append_pair("orderby", "modified")
        .append_pair("order", "asc")
        .append_pair("per_page", &PER_PAGE.to_string())
        .append_pair("page", &window.page.to_string())
        .append_pair("status", "any");
    Ok(url)
}

/// Our webhooks' status in the shop; disabled or paused ones set back to active when
/// `reactivate`.
pub async fn subscription(
    client: &reqwest::Client,
    api: &Api,
    store_id: &str,
    reactivate: bool,
) -> Result<Subscription, ApiError> {
    let mut ours = Vec::new();
    let mut page = 1;
    loop {
        let mut url = endpoint(&api.base_url, &["wp-json", "wc", "v3", "webhooks"], &FIXES)?;
        url.query_pairs_mut()
            .append_pair("per_page", &PER_PAGE.to_string())
            .append_pair("page", &page.to_string());
        let answer = get(client, api, &url).await?;
        let items = list(&answer, &url)?;
        for raw in &items {
            if let Ok(hook) = serde_json::from_str::<Value>(raw.get())
                && let Some(hook) = Webhook::of(&hook)
                && is_our_delivery_url(&hook.delivery_url, store_id)
            {
                ours.push(hook);
            }
        }
        match next_page(page, total_pages(&answer), items.len()) {
            Some(next) if next <= MAX_WEBHOOK_PAGES => page = next,
            _ => break,
        }
    }
    let mut reactivated = Vec::new();
    let mut failed = Vec::new();
    if reactivate {
        for hook in ours.iter_mut().filter(|h| h.stopped()) {
            match set_active(client, api, &hook.id).await {
                Ok(()) => {
                    reactivated.push(hook.label());
                    hook.status = "active".into();
                }
                Err(e) => failed.push(format!("{}: {e}", hook.label())),
            }
        }
    }
    Ok(health(store_id, &ours, &reactivated, &failed))
}

/// One webhook of the shop, as much of it as the check needs (never its secret).
#[derive(Debug, Clone)]
struct Webhook {
    id: String,
    name: String,
    topic: String,
    status: String,
    delivery_url: String,
}

impl Webhook {
    fn of(v: &Value) -> Option<Webhook> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(|s| one_line(s, 80));
        let id = match v.get("id")? {
            Value::Number(n) => n.to_string(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.clone(),
            _ => return None,
        };
        Some(Webhook {
            id,
            name: text("name").unwrap_or_default(),
            topic: text("topic").unwrap_or_default(),
            status: text("status").unwrap_or_default().to_ascii_lowercase(),
            delivery_url: v.get("delivery_url")?.as_str()?.to_owned(),
        })
    }

    /// WooCommerce's `paused` and `disabled` (after repeated failed deliveries).
    fn stopped(&self) -> bool {
        matches!(self.status.as_str(), "paused" | "disabled")
    }

    fn label(&self) -> String {
        let topic = if self.topic.is_empty() {
            String::new()
        } else {
            format!(", topic {}", self.topic)
        };
        format!("webhook {} {:?}{topic}", self.id, self.name)
    }
}

/// What the check says of `ours` (after any reactivation).
fn health(
    store_id: &str,
    ours: &[Webhook],
    reactivated: &[String],
    failed: &[String],
) -> Subscription {
    const WHERE: &str = "WooCommerce → Settings → Advanced → Webhooks";
    if ours.is_empty() {
        return Subscription {
            ok: false,
            detail: format!(
                "no webhook of the shop delivers to /webhooks/{store_id}: add one under {WHERE} (status Active, topic \"Order updated\", and one for \"Order created\" if a rule uses order.created; delivery URL: shopbip's public address followed by /webhooks/{store_id}; secret: one of the store's webhook.secrets)"
            ),
            reactivated: false,
        };
    }
    let ok = ours.iter().any(|h| h.status == "active");
    let states: Vec<String> = ours
        .iter()
        .map(|h| format!("{} is {}", h.label(), h.status))
        .collect();
    let mut detail = format!("/webhooks/{store_id}: {}", states.join("; "));
    if !reactivated.is_empty() {
        detail.push_str(&format!(
            "; set back to active (reconcile.reactivate): {}",
            reactivated.join(", ")
        ));
    }
    if !failed.is_empty() {
        detail.push_str(&format!(
            "; could not set back to active: {}",
            failed.join("; ")
        ));
    }
    if ours.iter().any(Webhook::stopped) {
        detail.push_str(&format!(
            "; fix: set its status to Active under {WHERE} (WooCommerce stops a webhook after repeated failed deliveries), or set reconcile.reactivate = true (API keys with Read/Write)"
        ));
    }
    Subscription {
        ok,
        detail,
        reactivated: !reactivated.is_empty(),
    }
}

async fn set_active(client: &reqwest::Client, api: &Api, id: &str) -> Result<(), ApiError> {
    let url = endpoint(
        &api.base_url,
        &["wp-json", "wc", "v3", "webhooks", id],
        &FIXES,
    )?;
    let request = client
        .put(url.clone())
        .basic_auth(
            api.consumer_key.expose_secret(),
            Some(api.consumer_secret.expose_secret()),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&serde_json::json!({ "status": "active" }));
    send(request, &url, &FIXES).await.map(|_| ())
}

async fn get(client: &reqwest::Client, api: &Api, url: &Url) -> Result<Answer, ApiError> {
    let request = client
        .get(url.clone())
        .basic_auth(
            api.consumer_key.expose_secret(),
            Some(api.consumer_secret.expose_secret()),
        )
        .header(reqwest::header::ACCEPT, "application/json");
    Ok(send_bounded(request, url, &FIXES, MAX_PAGE_BYTES).await?)
}

/// The answer's JSON array, each element as its exact bytes.
fn list(answer: &Answer, url: &Url) -> Result<Vec<Box<RawValue>>, ApiError> {
    if answer.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&answer.body).map_err(|_| {
        ApiError::Permanent(format!(
            "WooCommerce: the answer of {} is not a JSON list; check {}",
            crate::net::display_url(url.as_str()),
            FIXES.base_key
        ))
    })
}

fn total_pages(answer: &Answer) -> Option<u64> {
    answer
        .headers
        .get("x-wp-totalpages")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The page after `page`: while below the total WooCommerce gave, or without it, after a
/// full page.
fn next_page(page: u64, total: Option<u64>, listed: usize) -> Option<u64> {
    let more = match total {
        Some(total) => page < total,
        None => listed >= PER_PAGE,
    };
    more.then(|| page + 1)
}

/// `since` as WooCommerce reads `modified_after` with `dates_are_gmt=true`: UTC, no offset,
/// whole seconds (rounded down, so nothing changed within that second is left out).
fn gmt_param(since_ms: i64) -> String {
    let t = unix_rfc3339(since_ms.div_euclid(1000));
    t.strip_suffix('Z').map(str::to_owned).unwrap_or(t)
}

/// The orders listed on `window`'s page, each through the webhook's own parse as an
/// `order.updated` delivery (but those the page before listed); `more`: WooCommerce has more.
fn orders_page(items: &[Box<RawValue>], window: &Window, more: bool) -> Page {
    let headers = Headers::new([(TOPIC.to_owned(), "order.updated".to_owned())]);
    let mut page = Page::default();
    let mut changes = Vec::with_capacity(items.len());
    for (n, raw) in items.iter().enumerate() {
        let Ok(Value::Object(order)) = serde_json::from_str::<Value>(raw.get()) else {
            page.skipped.push((
                format!("#{}", n + 1),
                "a listed element that is not an order object".into(),
            ));
            continue;
        };
        let id = match order.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => one_line(s, 40),
            _ => format!("#{}", n + 1),
        };
        let text = |k: &str| order.get(k).and_then(Value::as_str);
        let changed_at = text("date_modified_gmt")
            .or_else(|| text("date_modified"))
            .and_then(parse_datetime_ms);
        page.newest_change = page.newest_change.max(changed_at);
        changes.push((id.clone(), changed_at));
        if window.listed_before(&id, changed_at) {
            continue;
        }
        if text("status") == Some("checkout-draft") {
            page.skipped
                .push((id, "a checkout draft: not an order yet".into()));
            continue;
        }
        let body = raw.get().as_bytes();
        match WooCommerce.parse(&headers, body) {
            Ok(Parsed::Event(event)) => page.found.push(Found {
                event: *event,
                body: Some(body.to_vec()),
                // Without a time the order still counts; its delivery key is then the sweep's.
                changed_at: changed_at.unwrap_or_default(),
            }),
            Ok(Parsed::Ignored { reason, .. }) => page.skipped.push((id, reason)),
            Err(e) => page.skipped.push((id, format!("could not be read: {e}"))),
        }
    }
    page.next = window.next(&changes, more).map(|w| w.text());
    page
}

#[cfg(test)]
mod tests;
