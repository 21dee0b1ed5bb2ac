//! The sweep's listing for BigCommerce (issue 20): `GET /v2/orders` modified since a time,
//! oldest change first, page by page. See `platforms::reconcile`.
//!
//! A BigCommerce webhook carries only the order's id and new status; the worker fetches the
//! order itself (`api::fetch_order`, `Capabilities::fetches_order`). So each listed order is
//! turned into the `store/order/statusUpdated` webhook its current `status_id` would have
//! sent and read by the webhook's own parse: the events are the webhook's, and the job is
//! the same as the webhook's (the order is fetched when it is sent, never from the listing).
//! BigCommerce cannot tell whether the shop still delivers to us: no health check.

use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use url::Url;

use super::super::reconcile::{ApiError, Found, Page};
use super::super::standard_webhooks as sw;
use super::super::writeback::{Fixes, MAX_PAGE_BYTES, Window, endpoint, one_line, send_bounded};
use super::super::{Headers, Parsed, WebhookPlatform, unix_rfc3339};
use super::BigCommerce;
use super::profile::Api;
use crate::clock::parse_datetime_ms;

const FIXES: Fixes = Fixes {
    platform: "BigCommerce",
    auth: "BigCommerce refused the API token: check bigcommerce.access_token (the sweep needs the Orders read-only scope) and bigcommerce.store_hash",
    base_key: "bigcommerce.api_base_url",
    reset_ms_header: Some("X-Rate-Limit-Time-Reset-Ms"),
};

/// The v2 API's largest page.
pub const LIMIT: usize = 250;

/// The page `cursor` (a [`Window`]; `None`: the first from `since`) of the orders modified at
/// or after `since` (Unix ms), oldest change first.
pub async fn list_changed(
    client: &reqwest::Client,
    api: &Api,
    since: i64,
    cursor: Option<&str>,
) -> Result<Page, ApiError> {
    // `min_date_modified` is inclusive: `since`'s second is the first listed.
    let window = Window::parse(cursor, since.div_euclid(1000), &FIXES)?;
    let url = orders_url(api, &window)?;
    let mut token = HeaderValue::from_str(api.access_token.expose_secret()).map_err(|_| {
        ApiError::Permanent(
            "BigCommerce: bigcommerce.access_token is not usable as an HTTP header value".into(),
        )
    })?;
    // Kept out of reqwest's and hyper's debug output.
    token.set_sensitive(true);
    let request = client
        .get(url.clone())
        .header("X-Auth-Token", token)
        .header(reqwest::header::ACCEPT, "application/json");
    let answer = send_bounded(request, &url, &FIXES, MAX_PAGE_BYTES).await?;
    // BigCommerce answers an empty listing with 204 and no body.
    if answer.status == StatusCode::NO_CONTENT {
        return Ok(Page::default());
    }
    let items = match answer.json(&FIXES, &url)? {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        _ => {
            return Err(ApiError::Permanent(format!(
                "BigCommerce: the answer of {} is not a JSON list; check {}",
                crate::net::display_url(url.as_str()),
                FIXES.base_key
            )));
        }
    };
    Ok(orders_page(&items, &window, items.len() >= LIMIT))
}

/// The listing of `window`: `min_date_modified` is inclusive, so it names the window's first
/// second.
fn orders_url(api: &Api, window: &Window) -> Result<Url, ApiError> {
    let mut url = endpoint(
        &api.api_base_url,
        &["stores", &api.store_hash, "v2", "orders"],
        &FIXES,
    )?;
    url.query_pairs_mut()
        .append_pair("min_date_modified", &unix_rfc3339(window.from))
        .append_pair("sort", "date_modified:asc")
        .append_pair("page", &window.page.to_string())
        .append_pair("limit", &LIMIT.to_string());
    Ok(url)
}

/// The v2 orders listed on `window`'s page, each as the status webhook its current status
/// would have sent (but those the page before listed); `more`: BigCommerce has more.
fn orders_page(items: &[Value], window: &Window, more: bool) -> Page {
    let mut page = Page::default();
    let mut changes = Vec::with_capacity(items.len());
    for (n, order) in items.iter().enumerate() {
        let shown = || format!("#{}", n + 1);
        let Some(order) = order.as_object() else {
            page.skipped.push((
                shown(),
                "a listed element that is not an order object".into(),
            ));
            continue;
        };
        let id = match order.get("id") {
            Some(Value::Number(n)) if n.is_u64() => n.to_string(),
            Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.clone()
            }
            Some(other) => {
                let id = one_line(&other.to_string(), 40);
                page.skipped.push((id, "not a BigCommerce order id".into()));
                continue;
            }
            None => {
                page.skipped
                    .push((shown(), "an order without an id".into()));
                continue;
            }
        };
        let changed_at = order
            .get("date_modified")
            .and_then(Value::as_str)
            .and_then(date_ms);
        page.newest_change = page.newest_change.max(changed_at);
        changes.push((id.clone(), changed_at));
        if window.listed_before(&id, changed_at) {
            continue;
        }
        let status = order.get("status_id").and_then(|s| match s {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        let Some(status) = status else {
            page.skipped
                .push((id, "an order without a status_id".into()));
            continue;
        };
        match status_webhook(&id, status) {
            Ok(Parsed::Event(event)) => page.found.push(Found {
                event: *event,
                body: None,
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

/// What BigCommerce's webhook path makes of order `id` moving to `status`.
fn status_webhook(id: &str, status: i64) -> Result<Parsed, super::super::ParseError> {
    let id: u64 = id
        .parse()
        .map_err(|_| super::super::ParseError::Invalid("not a BigCommerce order id".into()))?;
    let body = json!({
        "scope": "store/order/statusUpdated",
        "data": {"type": "order", "id": id, "status": {"new_status_id": status}},
    });
    // The sweep sets the delivery key; the parse wants one.
    let headers = Headers::new([(sw::ID.to_owned(), format!("reconcile-{id}"))]);
    BigCommerce.parse(&headers, body.to_string().as_bytes())
}

/// Unix ms of the v2 API's `Tue, 20 Nov 2012 00:00:00 +0000` (RFC 2822), or of an ISO 8601
/// time.
fn date_ms(d: &str) -> Option<i64> {
    let d = d.trim();
    if let Some(ms) = parse_datetime_ms(d) {
        return Some(ms);
    }
    // The weekday is optional in RFC 2822 and says nothing the date does not.
    let d = d.split_once(',').map_or(d, |(_, rest)| rest);
    let parts: Vec<&str> = d.split_whitespace().collect();
    let [day, month, year, time, offset] = parts.as_slice() else {
        return None;
    };
    let month = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| m.eq_ignore_ascii_case(month))?
        + 1;
    let day: u32 = day.parse().ok()?;
    let offset = match *offset {
        "GMT" | "UT" | "UTC" | "Z" => "+0000",
        o => o,
    };
    let ok_offset = offset.len() == 5
        && offset.starts_with(['+', '-'])
        && offset[1..].bytes().all(|b| b.is_ascii_digit());
    if !ok_offset || year.len() != 4 || !time.is_ascii() {
        return None;
    }
    parse_datetime_ms(&format!(
        "{year}-{month:02}-{day:02}T{time}{}:{}",
        &offset[..3],
        &offset[3..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::EventKind;

    #[test]
    fn v2_dates_are_read_with_their_offset() {
        assert_eq!(
            date_ms("Tue, 20 Nov 2012 00:00:00 +0000"),
            Some(1_353_369_600_000)
        );
        assert_eq!(
            date_ms("Tue, 20 Nov 2012 01:00:00 +0100"),
            Some(1_353_369_600_000)
        );
        assert_eq!(date_ms("20 Nov 2012 00:00:00 GMT"), Some(1_353_369_600_000));
        assert_eq!(date_ms("2012-11-20T00:00:00Z"), Some(1_353_369_600_000));
        for bad in [
            "",
            "yesterday",
            "Tue, 20 Nov 2012 00:00:00 +1é1",
            "Tue, 31 Feb 2012 00:00:00 +0000",
            "Tue, 20 Foo 2012 00:00:00 +0000",
        ] {
            assert_eq!(date_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn listed_orders_mean_what_their_status_webhook_would() {
        let items: Vec<Value> = serde_json::from_value(json!([
            {"id": 247, "status_id": 11, "date_modified": "Tue, 20 Nov 2012 00:00:00 +0000"},
            {"id": 218, "status_id": 7, "date_modified": "Tue, 20 Nov 2012 00:10:00 +0000"},
            {"id": "300", "status_id": "10", "date_modified": "Tue, 20 Nov 2012 00:05:00 +0000"},
            {"id": 301, "status_id": 2},
            {"id": -4, "status_id": 11},
            {"id": 302},
            7
        ]))
        .unwrap();
        let first = Window::parse(None, 0, &FIXES).unwrap();
        let page = orders_page(&items, &first, false);
        let found: Vec<(&str, &[EventKind], i64)> = page
            .found
            .iter()
            .map(|f| (f.event.order.id.as_str(), &f.event.kinds[..], f.changed_at))
            .collect();
        use EventKind::*;
        assert_eq!(
            found,
            [
                ("247", &[OrderPaid][..], 1_353_369_600_000),
                ("300", &[OrderFulfilled, OrderPaid][..], 1_353_369_900_000),
                ("301", &[OrderFulfilled][..], 0),
            ]
        );
        assert!(page.found.iter().all(|f| f.body.is_none()));
        let skipped: Vec<&str> = page.skipped.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(skipped, ["218", "-4", "302", "#7"], "{:?}", page.skipped);
        // Awaiting Payment maps to no event, and its time still counts.
        assert_eq!(page.newest_change, Some(1_353_370_200_000));
    }

    #[test]
    fn the_orders_of_the_boundary_second_already_listed_are_left_out() {
        let items: Vec<Value> = serde_json::from_value(json!([
            {"id": 247, "status_id": 11, "date_modified": "Tue, 20 Nov 2012 00:00:00 +0000"},
            {"id": 248, "status_id": 7, "date_modified": "Tue, 20 Nov 2012 00:00:00 +0000"},
            {"id": 249, "status_id": 11, "date_modified": "Tue, 20 Nov 2012 00:10:00 +0000"}
        ]))
        .unwrap();
        let boundary = Window::parse(Some("1353369600:1:247,248"), 0, &FIXES).unwrap();
        let page = orders_page(&items, &boundary, true);
        let found: Vec<&str> = page
            .found
            .iter()
            .map(|f| f.event.order.id.as_str())
            .collect();
        assert_eq!(found, ["249"]);
        assert!(page.skipped.is_empty(), "{:?}", page.skipped);
        assert_eq!(page.next.as_deref(), Some("1353370200:1:249"));
    }

    #[test]
    fn a_window_is_asked_from_its_first_second() {
        let api = Api {
            store_hash: "abc".into(),
            access_token: secrecy::SecretString::from("t"),
            api_base_url: "https://api.bigcommerce.com".into(),
        };
        let query = |w: &Window| -> Vec<(String, String)> {
            orders_url(&api, w)
                .unwrap()
                .query_pairs()
                .into_owned()
                .collect()
        };
        let first = Window::parse(None, 1_353_369_600, &FIXES).unwrap();
        let q = query(&first);
        assert_eq!(
            q[0],
            ("min_date_modified".into(), "2012-11-20T00:00:00Z".into())
        );
        assert_eq!(q[2], ("page".into(), "1".into()));
        // A page whose newest change is 00:10:00: page 1 of what changed from then on.
        let next = first
            .next(&[("1".into(), Some(1_353_370_200_000))], true)
            .unwrap();
        let q = query(&next);
        assert_eq!(
            (q[0].1.as_str(), q[2].1.as_str()),
            ("2012-11-20T00:10:00Z", "1")
        );
        // More than a page modified in that second: page 2 of the same window.
        let bulk = next
            .next(&[("1".into(), Some(1_353_370_200_000))], true)
            .unwrap();
        let q = query(&bulk);
        assert_eq!(
            (q[0].1.as_str(), q[2].1.as_str()),
            ("2012-11-20T00:10:00Z", "2")
        );
        assert_eq!(
            bulk.next(&[("1".into(), Some(1_353_370_200_000))], false),
            None
        );
        for bad in ["0", "", "p2", "5:0"] {
            assert!(
                matches!(
                    Window::parse(Some(bad), 0, &FIXES),
                    Err(ApiError::Permanent(_))
                ),
                "{bad}"
            );
        }
    }
}
