//! The sweep's listing for a Standard Webhooks store (issue 20): the shop's own
//! `reconcile.url`, asked `GET <url>?since=<RFC 3339>&cursor=<opaque>` and answering
//! `{"orders": [{"type", "changed_at", "data"}], "next_cursor"}`, oldest change first (the
//! contract is in `plugin-config/README.md`, "Reconciliation endpoint of a standard store").
//! Each element is a delivery's body plus its change time, read by the same `parse` as the
//! deliveries. The GET is signed as Standard Webhooks signs a delivery, its path and query
//! standing for the body it lacks, so the shop checks it with the library it signs with.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use super::super::reconcile::{ApiError, Found, Page};
use super::super::signature::{hmac_sha256, unix_now};
use super::super::standard_webhooks::{self as sw, KeyForm};
use super::super::writeback::{Fixes, one_line, send};
use super::super::{Headers, Parsed, WebhookPlatform};
use super::Standard;
use crate::clock::parse_datetime_ms;
use crate::net::{display_url, parse_base_url};
use crate::platforms::unix_rfc3339;

const FIXES: Fixes = Fixes {
    platform: "reconcile.url",
    auth: "the shop refused the signed request: it must check webhook-signature over \"{webhook-id}.{webhook-timestamp}.{path and query as sent}\" with the store's first webhook secret (webhook.secrets), as plugin-config/README.md (Reconciliation endpoint of a standard store) says",
    base_key: "reconcile.url",
    reset_ms_header: None,
};

/// The page `cursor` (`None`: the first) of the orders the shop changed at or after `since`
/// (Unix ms), asked of `url` signed with `secret` (the store's first webhook secret).
pub async fn list_changed(
    client: &reqwest::Client,
    url: &str,
    secret: &SecretString,
    since: i64,
    cursor: Option<&str>,
) -> Result<Page, ApiError> {
    let url = page_url(url, since, cursor)?;
    let id = format!("msg_{:032x}", rand::random::<u128>());
    let timestamp = unix_now();
    let signature = sign(secret.expose_secret(), &id, timestamp, &signed_target(&url))
        .ok_or_else(|| {
            ApiError::Permanent(
                "reconcile.url: the store's first webhook secret is not a Standard Webhooks secret (whsec_ followed by base64), so the request cannot be signed".into(),
            )
        })?;
    let request = client
        .get(url.clone())
        .header(sw::ID, &id)
        .header(sw::TIMESTAMP, timestamp.to_string())
        .header(sw::SIGNATURE, signature)
        .header(reqwest::header::ACCEPT, "application/json");
    let answer = send(request, &url, &FIXES).await?;
    page(&answer.body, &url, cursor)
}

/// `url?since=…[&cursor=…]`: `since` in whole seconds, rounded down, so an order changed in
/// the since second is listed.
fn page_url(url: &str, since: i64, cursor: Option<&str>) -> Result<Url, ApiError> {
    let mut url = parse_base_url(url).map_err(|_| {
        ApiError::Permanent(format!(
            "reconcile.url: {:?} is not allowed: use an https:// URL without query (http:// only for a loopback host)",
            display_url(url)
        ))
    })?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("since", &unix_rfc3339(since.div_euclid(1000)));
        if let Some(cursor) = cursor {
            q.append_pair("cursor", cursor);
        }
    }
    Ok(url)
}

/// What is signed in place of a body: the request target as sent, path and query, their
/// percent-encoding untouched (`/orders?since=2026-11-25T10%3A00%3A00Z`).
fn signed_target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{content}">` keyed as a delivery is
/// (`standard_webhooks::sign`, without its panic on an unusable secret).
fn sign(secret: &str, id: &str, timestamp: i64, content: &str) -> Option<String> {
    let key = sw::key(secret, KeyForm::Whsec)?;
    let ts = timestamp.to_string();
    let mac = hmac_sha256(
        &key,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", content.as_bytes()],
    );
    Some(format!("v1,{}", STANDARD.encode(mac)))
}

/// The shop's answer: each order kept as its raw text, so one odd element is skipped rather
/// than failing the page.
#[derive(Deserialize)]
struct Listing<'a> {
    #[serde(borrow)]
    orders: Vec<&'a RawValue>,
    #[serde(default)]
    next_cursor: serde_json::Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Element<'a> {
    #[serde(rename = "type", borrow)]
    topic: Option<&'a RawValue>,
    changed_at: serde_json::Value,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IdOnly {
    id: serde_json::Value,
}

fn page(body: &[u8], url: &Url, cursor: Option<&str>) -> Result<Page, ApiError> {
    let listing: Listing = serde_json::from_slice(body).map_err(|_| {
        ApiError::Permanent(format!(
            "reconcile.url: the answer of {} is not {{\"orders\": [...], \"next_cursor\": ...}} JSON (see plugin-config/README.md)",
            display_url(url.as_str())
        ))
    })?;
    let mut page = Page::default();
    for raw in &listing.orders {
        let element: Element = serde_json::from_str(raw.get()).unwrap_or_default();
        let shown = element
            .data
            .and_then(|d| serde_json::from_str::<IdOnly>(d.get()).ok())
            .and_then(|d| match d.id {
                serde_json::Value::String(s) => Some(one_line(&s, 64)),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "?".into());
        let Some(changed_at) = element.changed_at.as_str().and_then(parse_datetime_ms) else {
            page.skipped.push((
                shown,
                "no \"changed_at\" RFC 3339 time: the watermark is made of them".into(),
            ));
            continue;
        };
        page.newest_change = page.newest_change.max(Some(changed_at));
        let (Some(topic), Some(data)) = (element.topic, element.data) else {
            page.skipped
                .push((shown, "an element without \"type\" or \"data\"".into()));
            continue;
        };
        // Exactly the body a delivery of this order would carry.
        let delivery = format!("{{\"type\":{},\"data\":{}}}", topic.get(), data.get());
        // The sweep keys what it finds itself; `parse` only insists on a delivery id.
        let headers = Headers::new([(sw::ID.to_owned(), "reconcile".to_owned())]);
        match Standard.parse(&headers, delivery.as_bytes()) {
            Ok(Parsed::Event(event)) => page.found.push(Found {
                event: *event,
                body: Some(delivery.into_bytes()),
                changed_at,
            }),
            Ok(Parsed::Ignored { reason, .. }) => page.skipped.push((shown, reason)),
            Err(e) => page.skipped.push((shown, e.to_string())),
        }
    }
    page.next = match listing.next_cursor {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if page.next.is_some() && page.next.as_deref() == cursor {
        return Err(ApiError::Permanent(format!(
            "reconcile.url: {} gave back the cursor it was given as next_cursor: the listing would never end",
            display_url(url.as_str())
        )));
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::EventKind;

    const PAID: &str = include_str!("../../../tests/fixtures/standard/order-paid-eur.json");
    const CONTACT: &str =
        include_str!("../../../tests/fixtures/real/standard/spec_contact_created_full.body");
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn url() -> Url {
        Url::parse("http://127.0.0.1:1/orders").unwrap()
    }

    fn element(body: &str, id: &str, changed_at: &str) -> serde_json::Value {
        let mut e: serde_json::Value = serde_json::from_str(body).unwrap();
        e["data"]["id"] = id.into();
        e["changed_at"] = changed_at.into();
        e
    }

    #[test]
    fn elements_map_as_deliveries_and_odd_ones_are_skipped() {
        let mut created = element(PAID, "PS-2", "2026-11-25T10:00:05+01:00");
        created["type"] = "order.created".into();
        created["data"]["payment"] = serde_json::json!({"paid": true});
        let body = serde_json::json!({
            "orders": [
                element(PAID, "PS-1", "2026-11-25T09:00:00Z"),
                created,
                element(CONTACT, "c-1", "2026-11-25T09:30:00Z"),
                element(PAID, "PS-3", "yesterday"),
                {"type": "order.paid", "changed_at": "2026-11-25T09:10:00Z"},
            ],
            "next_cursor": "p2",
        });
        let page = page(body.to_string().as_bytes(), &url(), None).unwrap();
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
                ("PS-1", vec![EventKind::OrderPaid], 1_795_597_200_000),
                // Created already paid: also order.paid, as its delivery would be.
                (
                    "PS-2",
                    vec![EventKind::OrderCreated, EventKind::OrderPaid],
                    1_795_597_205_000
                ),
            ]
        );
        assert_eq!(page.found[0].event.order.total.to_string(), "59.90");
        let skipped: Vec<&str> = page.skipped.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(skipped, ["c-1", "PS-3", "?"]);
        assert!(
            page.skipped[1].1.contains("changed_at"),
            "{:?}",
            page.skipped
        );
        // The contact's time counts: it was listed.
        assert_eq!(page.newest_change, Some(1_795_599_000_000));
        assert_eq!(page.next.as_deref(), Some("p2"));
    }

    #[test]
    fn the_last_page_a_loop_and_a_foreign_answer() {
        let last = page(
            br#"{"orders": [], "next_cursor": null}"#,
            &url(),
            Some("p2"),
        )
        .unwrap();
        assert_eq!((last.next, last.newest_change), (None, None));
        let unnamed = page(br#"{"orders": []}"#, &url(), None).unwrap();
        assert_eq!(unnamed.next, None);
        assert!(matches!(
            page(br#"{"orders": [], "next_cursor": "p2"}"#, &url(), Some("p2")),
            Err(ApiError::Permanent(m)) if m.contains("never end")
        ));
        for foreign in [&b"<html>"[..], br#"{"data": []}"#, br#"[]"#] {
            assert!(matches!(
                page(foreign, &url(), None),
                Err(ApiError::Permanent(m)) if m.contains("plugin-config/README.md")
            ));
        }
    }

    #[test]
    fn the_request_target_is_signed_as_a_delivery_body_would_be() {
        let url = page_url(
            "http://127.0.0.1:8/shop/orders",
            1_764_064_800_999,
            Some("a b&c"),
        )
        .unwrap();
        let target = signed_target(&url);
        assert_eq!(
            target,
            "/shop/orders?since=2025-11-25T10%3A00%3A00Z&cursor=a+b%26c"
        );
        let signature = sign(SECRET, "msg_1", 1_764_064_800, &target).unwrap();
        assert_eq!(
            signature,
            sw::sign(
                SECRET,
                KeyForm::Whsec,
                "msg_1",
                1_764_064_800,
                target.as_bytes()
            )
        );
        // What the shop's library does with it.
        let signed = sw::Signed {
            id: Some("msg_1"),
            timestamp: Some("1764064800"),
            signature: Some(&signature),
        };
        let check = |secret: &str| {
            sw::verify_at(
                &signed,
                target.as_bytes(),
                &[SecretString::from(secret)],
                KeyForm::Whsec,
                1_764_064_801,
                std::time::Duration::from_secs(300),
            )
        };
        assert_eq!(check(SECRET), Ok(()));
        assert!(check("whsec_b3RoZXI=").is_err());
        assert_eq!(sign("not base64!", "msg_1", 0, ""), None);
        assert!(page_url("http://shop.example/orders", 0, None).is_err());
        assert_eq!(
            page_url("http://127.0.0.1:8/orders", 0, None)
                .unwrap()
                .query(),
            Some("since=1970-01-01T00%3A00%3A00Z")
        );
    }
}
