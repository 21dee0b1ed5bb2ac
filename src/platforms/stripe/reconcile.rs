//! The sweep's listing for Stripe (issue 20): the invoice events Stripe kept (30 days) behind
//! `GET /v1/events`, each an Event object byte for byte as its webhook would have carried it,
//! and the webhook endpoint check of `GET /v1/webhook_endpoints`. See `platforms::reconcile`.
//!
//! Stripe lists newest first and pages with `starting_after=<last id>`: the sweep moves its
//! watermark only once the last page is stored (`SweepAccess::oldest_first`).

use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use super::super::reconcile::{ApiError, Found, Page, Subscription, is_our_delivery_url};
use super::super::writeback::{Fixes, classify, endpoint, one_line, send_raw};
use super::super::{Headers, Parsed, WebhookPlatform};
use super::Stripe;
use super::profile::Api;
use crate::net::display_url;
use crate::telemetry::redact_phones;
use secrecy::ExposeSecret;

/// The event types the adapter turns into an event a rule can use (`Stripe::parse`): listing
/// others would only fill `skipped`.
pub const EVENT_TYPES: [&str; 2] = ["invoice.paid", "invoice.finalized"];

/// Stripe's largest page.
const PAGE_SIZE: &str = "100";

const FIXES: Fixes = Fixes {
    platform: "Stripe",
    auth: "the stripe.secret_key is refused: a restricted key (rk_…) needs read access to Events and Webhook Endpoints (Developers → API keys)",
    base_key: "stripe.api_base_url",
    reset_ms_header: None,
};

/// `GET /v1/events`' answer: each event kept as its raw text, so one odd event is skipped
/// rather than failing the page.
#[derive(Deserialize)]
struct List<'a> {
    #[serde(borrow, default)]
    data: Vec<&'a RawValue>,
    #[serde(default)]
    has_more: bool,
}

/// What is read of an event besides what the adapter reads.
#[derive(Deserialize, Default)]
#[serde(default)]
struct EventHead {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    created: Option<i64>,
    data: Option<EventData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EventData {
    object: Option<ObjectId>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ObjectId {
    id: Option<String>,
}

/// The page `cursor` (an event id: the page starts after it) of the invoice events created at
/// or after `since` (Unix ms), newest first.
pub async fn list_changed(
    client: &reqwest::Client,
    api: &Api,
    since: i64,
    cursor: Option<&str>,
) -> Result<Page, ApiError> {
    let url = events_url(api, since, cursor)?;
    let body = get(client, api, &url).await?;
    page(&body, &url)
}

/// `created[gte]` in whole seconds, rounded down: an event of the since second is listed.
fn events_url(api: &Api, since: i64, cursor: Option<&str>) -> Result<Url, ApiError> {
    let mut url = endpoint(&api.base_url, &["v1", "events"], &FIXES)?;
    {
        let mut q = url.query_pairs_mut();
        for t in EVENT_TYPES {
            q.append_pair("types[]", t);
        }
        q.append_pair("created[gte]", &since.div_euclid(1000).max(0).to_string());
        q.append_pair("limit", PAGE_SIZE);
        if let Some(after) = cursor {
            q.append_pair("starting_after", after);
        }
    }
    Ok(url)
}

/// One answer of `GET /v1/events` as a page.
fn page(body: &[u8], url: &Url) -> Result<Page, ApiError> {
    let list: List = serde_json::from_slice(body).map_err(|_| {
        ApiError::Permanent(format!(
            "Stripe: the answer of {} is not a list of events; check stripe.api_base_url",
            display_url(url.as_str())
        ))
    })?;
    let mut page = Page::default();
    let mut last_id = None;
    for raw in &list.data {
        let head: EventHead = serde_json::from_str(raw.get()).unwrap_or_default();
        if head.id.is_some() {
            last_id.clone_from(&head.id);
        }
        let shown = head
            .data
            .as_ref()
            .and_then(|d| d.object.as_ref())
            .and_then(|o| o.id.clone())
            .or_else(|| head.id.clone())
            .unwrap_or_else(|| "?".into());
        let Some(created) = head.created else {
            page.skipped
                .push((shown, "an event without its created time".into()));
            continue;
        };
        // The sweep keys a found order by (order, change time): an invoice finalized and paid
        // within one second (a charged subscription invoice) would be one delivery and the
        // second event lost, so each type gets its own millisecond of that second.
        let rank = EVENT_TYPES
            .iter()
            .position(|t| head.kind.as_deref() == Some(*t))
            .unwrap_or(0) as i64;
        let changed_at = created.saturating_mul(1000).saturating_add(rank);
        page.newest_change = page.newest_change.max(Some(changed_at));
        let bytes = raw.get().as_bytes();
        match Stripe.parse(&Headers::default(), bytes) {
            Ok(Parsed::Event(event)) => page.found.push(Found {
                event: *event,
                body: Some(bytes.to_vec()),
                changed_at,
            }),
            Ok(Parsed::Ignored { reason, .. }) => page.skipped.push((shown, reason)),
            Err(e) => page.skipped.push((shown, e.to_string())),
        }
    }
    // An empty page that says there is more cannot say where: end rather than ask again.
    page.next = if list.has_more { last_id } else { None };
    Ok(page)
}

/// Whether one of the account's webhook endpoints delivering to this store's route is enabled
/// and sends `invoice.paid`.
pub async fn subscription(
    client: &reqwest::Client,
    api: &Api,
    store_id: &str,
) -> Result<Subscription, ApiError> {
    let mut url = endpoint(&api.base_url, &["v1", "webhook_endpoints"], &FIXES)?;
    // Stripe allows 16 endpoints per account: one page holds them all.
    url.query_pairs_mut().append_pair("limit", PAGE_SIZE);
    let body = get(client, api, &url).await?;
    let list: EndpointList = serde_json::from_slice(&body).map_err(|_| {
        ApiError::Permanent(format!(
            "Stripe: the answer of {} is not a list of webhook endpoints; check stripe.api_base_url",
            display_url(url.as_str())
        ))
    })?;
    Ok(judge(&list.data, store_id))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EndpointList {
    data: Vec<Endpoint>,
}

/// Only what is judged: the endpoint's `secret` is never read.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(default)]
struct Endpoint {
    id: String,
    url: String,
    status: String,
    enabled_events: Vec<String>,
}

impl Endpoint {
    fn sends_paid(&self) -> bool {
        self.enabled_events
            .iter()
            .any(|e| e == "*" || e == "invoice.paid")
    }

    fn shown(&self) -> String {
        format!("{} ({})", one_line(&self.id, 64), display_url(&self.url))
    }
}

fn judge(endpoints: &[Endpoint], store_id: &str) -> Subscription {
    let ours: Vec<&Endpoint> = endpoints
        .iter()
        .filter(|e| is_our_delivery_url(&e.url, store_id))
        .collect();
    let result = |ok: bool, detail: String| Subscription {
        ok,
        detail,
        reactivated: false,
    };
    if let Some(e) = ours
        .iter()
        .find(|e| e.status == "enabled" && e.sends_paid())
    {
        return result(
            true,
            format!(
                "Stripe webhook endpoint {} is enabled and sends invoice.paid",
                e.shown()
            ),
        );
    }
    let detail = match ours.first() {
        None => format!(
            "no Stripe webhook endpoint delivers to …/webhooks/{store_id}: Developers → Webhooks → Add endpoint with this store's webhook URL, subscribed to invoice.paid and invoice.finalized, and put its signing secret in webhook.secrets"
        ),
        Some(_) => match ours.iter().find(|e| e.status == "enabled") {
            Some(e) => format!(
                "Stripe webhook endpoint {} does not send invoice.paid: Developers → Webhooks → select it → Update details → add invoice.paid (and invoice.finalized)",
                e.shown()
            ),
            None => format!(
                "Stripe webhook endpoint {} is {} (Stripe disables an endpoint that keeps failing): Developers → Webhooks → select it → Enable, or add it again, subscribed to invoice.paid",
                ours.iter()
                    .map(|e| e.shown())
                    .collect::<Vec<_>>()
                    .join(", "),
                ours.first()
                    .map(|e| one_line(&e.status, 32))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "not enabled".into())
            ),
        },
    };
    result(false, detail)
}

/// A GET with the key as a bearer token; a refusal carries Stripe's own message (its errors
/// are `{"error": {"message", "type", "code"}}`, which the shared classing does not read).
async fn get(client: &reqwest::Client, api: &Api, url: &Url) -> Result<Vec<u8>, ApiError> {
    let key = api.secret_key.expose_secret();
    let request = client
        .get(url.clone())
        .bearer_auth(key)
        .header(reqwest::header::ACCEPT, "application/json");
    let answer = send_raw(request, url, &FIXES).await?;
    let said = stripe_message(&answer.body, key);
    match classify(answer, url, &FIXES) {
        Ok(answer) => Ok(answer.body),
        Err(e) => Err(match (e, said) {
            (e, None) => e,
            (ApiError::Permanent(reason), Some(m)) => ApiError::Permanent(format!("{reason}: {m}")),
            (
                ApiError::Transient {
                    reason,
                    retry_after,
                },
                Some(m),
            ) => ApiError::Transient {
                reason: format!("{reason}: {m}"),
                retry_after,
            },
        }),
    }
}

/// `error.message` of a Stripe error body: one line, phones masked, and the key itself never
/// (Stripe masks it in "Invalid API Key provided: rk_test_****", but a proxy might not).
fn stripe_message(body: &[u8], key: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = json.get("error")?.get("message")?.as_str()?;
    let mut line = one_line(message, 200);
    if !key.is_empty() {
        line = line.replace(key, "…");
    }
    let line = redact_phones(&line);
    (!line.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::EventKind;

    const PAID: &str = include_str!("../../../tests/fixtures/stripe/invoice-paid-eur.json");

    fn url() -> Url {
        Url::parse("http://127.0.0.1:1/v1/events").unwrap()
    }

    /// The fixture as event `id` of invoice `invoice`, created at `created`.
    fn event(id: &str, invoice: &str, created: i64, kind: &str) -> serde_json::Value {
        let mut e: serde_json::Value = serde_json::from_str(PAID).unwrap();
        e["id"] = id.into();
        e["type"] = kind.into();
        e["created"] = created.into();
        e["data"]["object"]["id"] = invoice.into();
        e
    }

    #[test]
    fn listed_events_map_as_their_webhooks_and_page_by_the_last_id() {
        let body = serde_json::json!({
            "object": "list",
            "has_more": true,
            "data": [
                event("evt_3", "in_3", 1_764_064_900, "invoice.paid"),
                event("evt_2", "in_2", 1_764_064_850, "invoice.finalized"),
                event("evt_1", "in_1", 1_764_064_800, "invoice.payment_succeeded"),
                {"id": "evt_0", "type": "invoice.paid"},
            ],
        });
        let page = page(body.to_string().as_bytes(), &url()).unwrap();
        let found: Vec<_> = page
            .found
            .iter()
            .map(|f| {
                (
                    f.event.order.id.as_str(),
                    f.event.kinds.clone(),
                    f.changed_at,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("in_3", vec![EventKind::InvoicePaid], 1_764_064_900_000),
                ("in_2", vec![EventKind::InvoiceCreated], 1_764_064_850_001),
            ]
        );
        // The webhook's key is the event id: the sweep replaces it with its own.
        assert_eq!(page.found[0].event.delivery_key, "evt_3");
        let skipped: Vec<&str> = page.skipped.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(skipped, ["in_1", "evt_0"]);
        assert_eq!(page.newest_change, Some(1_764_064_900_000));
        assert_eq!(page.next.as_deref(), Some("evt_0"));
    }

    #[test]
    fn the_last_page_has_no_next_and_a_broken_answer_is_permanent() {
        let body = serde_json::json!({"data": [event("evt_1", "in_1", 5, "invoice.paid")], "has_more": false});
        let last = page(body.to_string().as_bytes(), &url()).unwrap();
        assert_eq!(last.next, None);
        assert_eq!(last.newest_change, Some(5000));
        let empty = page(br#"{"data": [], "has_more": true}"#, &url()).unwrap();
        assert_eq!((empty.next, empty.newest_change), (None, None));
        assert!(matches!(
            page(b"<html>", &url()),
            Err(ApiError::Permanent(m)) if m.contains("stripe.api_base_url")
        ));
    }

    #[test]
    fn a_stripe_error_message_is_read_without_the_key() {
        let body = br#"{"error": {"message": "Invalid API Key provided: rk_test_1", "type": "invalid_request_error"}}"#;
        assert_eq!(
            stripe_message(body, "rk_test_1").as_deref(),
            Some("Invalid API Key provided: …")
        );
        assert_eq!(stripe_message(b"{}", "rk_test_1"), None);
    }

    fn endpoint(url: &str, status: &str, events: &[&str]) -> Endpoint {
        Endpoint {
            id: "we_1".into(),
            url: url.into(),
            status: status.into(),
            enabled_events: events.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn an_enabled_endpoint_of_ours_sending_invoice_paid_is_ok() {
        let ours = "https://hooks.example.com/webhooks/acme?x=secret";
        let other = endpoint("https://other.example/webhooks/shop2", "enabled", &["*"]);
        let ok = judge(&[other.clone(), endpoint(ours, "enabled", &["*"])], "acme");
        assert!(ok.ok, "{ok:?}");
        assert!(!ok.detail.contains("secret"), "{}", ok.detail);
        let disabled = judge(&[endpoint(ours, "disabled", &["invoice.paid"])], "acme");
        assert!(!disabled.ok);
        assert!(disabled.detail.contains("disabled"), "{}", disabled.detail);
        assert!(disabled.detail.contains("Enable"), "{}", disabled.detail);
        let no_paid = judge(&[endpoint(ours, "enabled", &["invoice.finalized"])], "acme");
        assert!(!no_paid.ok);
        assert!(
            no_paid.detail.contains("add invoice.paid"),
            "{}",
            no_paid.detail
        );
        let none = judge(&[other], "acme");
        assert!(!none.ok);
        assert!(none.detail.contains("Add endpoint"), "{}", none.detail);
    }

    #[test]
    fn the_listing_asks_for_the_used_types_since_whole_seconds() {
        let api = Api {
            base_url: "http://127.0.0.1:9/".into(),
            secret_key: "rk_test_1".into(),
        };
        let first = events_url(&api, 1_764_064_800_999, None).unwrap();
        assert_eq!(
            first.as_str(),
            "http://127.0.0.1:9/v1/events?types%5B%5D=invoice.paid&types%5B%5D=invoice.finalized&created%5Bgte%5D=1764064800&limit=100"
        );
        let next = events_url(&api, -1, Some("evt_1&x=1")).unwrap();
        assert!(
            next.as_str()
                .ends_with("created%5Bgte%5D=0&limit=100&starting_after=evt_1%26x%3D1"),
            "{next}"
        );
        let refused = Api {
            base_url: "http://stripe.example".into(),
            secret_key: "rk_test_1".into(),
        };
        assert!(matches!(
            events_url(&refused, 0, None),
            Err(ApiError::Permanent(m)) if m.contains("stripe.api_base_url")
        ));
    }
}
