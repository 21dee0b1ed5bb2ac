use super::*;
use crate::order::EventKind;

fn raw(items: &str) -> Vec<Box<RawValue>> {
    serde_json::from_str(items).unwrap()
}

fn first() -> Window {
    Window::parse(None, 0, &FIXES).unwrap()
}

#[test]
fn listed_orders_mean_what_their_order_updated_webhook_would() {
    let page = orders_page(
        &raw(r#"[
        {"id":727,"status":"processing","date_paid_gmt":"2026-11-20T09:00:00","date_modified_gmt":"2026-11-20T09:00:05","meta_data":[{"key":"wf_invoice_number","value":"WF-1"}]},
        {"id":728,"status":"pending","date_modified_gmt":"2026-11-20T09:10:00"},
        {"id":729,"status":"checkout-draft","date_modified_gmt":"2026-11-20T09:20:00"},
        {"id":730,"status":"completed","date_modified":"2026-11-20T09:30:00"},
        "not an order",
        {"id":731,"line_items":"x","date_modified_gmt":"bad"}]"#),
        &first(),
        false,
    );
    let found: Vec<(&str, &[EventKind], i64)> = page
        .found
        .iter()
        .map(|f| (f.event.order.id.as_str(), &f.event.kinds[..], f.changed_at))
        .collect();
    assert_eq!(
        found,
        [
            ("727", &[EventKind::OrderPaid][..], 1_795_165_205_000),
            ("730", &[EventKind::OrderFulfilled][..], 1_795_167_000_000),
        ]
    );
    // The body is the element's own bytes, for invoice number meta keys.
    let body = String::from_utf8(page.found[0].body.clone().unwrap()).unwrap();
    assert!(
        body.starts_with(r#"{"id":727,"#) && body.contains("WF-1"),
        "{body}"
    );
    let skipped: Vec<&str> = page.skipped.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(skipped, ["728", "729", "#5", "731"], "{:?}", page.skipped);
    assert!(page.skipped[1].1.contains("checkout draft"));
    // Skipped orders' times count too.
    assert_eq!(page.newest_change, Some(1_795_167_000_000));
}

#[test]
fn the_orders_of_the_boundary_second_already_listed_are_left_out() {
    let items = raw(r#"[
        {"id":727,"status":"processing","date_paid_gmt":"2026-11-20T09:00:00","date_modified_gmt":"2026-11-20T09:00:05"},
        {"id":728,"status":"pending","date_modified_gmt":"2026-11-20T09:00:05"},
        {"id":729,"status":"processing","date_paid_gmt":"2026-11-20T09:00:00","date_modified_gmt":"2026-11-20T09:00:05"},
        {"id":730,"status":"completed","date_modified_gmt":"2026-11-20T09:30:00"}]"#);
    let page = orders_page(&items, &first(), true);
    assert_eq!(page.found.len(), 3);
    let next = Window::parse(page.next.as_deref(), 0, &FIXES).unwrap();
    assert_eq!((next.from, next.page), (1_795_167_000, 1));
    assert_eq!(next.listed, ["730"]);
    // The page before listed 727 and 728 at 09:00:05; 729 of that second it did not.
    let boundary = Window::parse(Some("1795165205:1:727,728"), 0, &FIXES).unwrap();
    let page = orders_page(&items, &boundary, false);
    let found: Vec<&str> = page
        .found
        .iter()
        .map(|f| f.event.order.id.as_str())
        .collect();
    assert_eq!(found, ["729", "730"]);
    assert!(page.skipped.is_empty(), "{:?}", page.skipped);
    assert_eq!(page.newest_change, Some(1_795_167_000_000));
    assert_eq!(page.next, None, "the last page");
}

#[test]
fn pages_follow_the_total_header_or_else_a_full_page() {
    assert_eq!(next_page(1, Some(3), 2), Some(2));
    assert_eq!(next_page(3, Some(3), 100), None);
    assert_eq!(next_page(1, Some(0), 0), None);
    assert_eq!(next_page(4, None, PER_PAGE), Some(5));
    assert_eq!(next_page(4, None, PER_PAGE - 1), None);
}

#[test]
fn a_window_is_asked_from_the_second_before_its_first() {
    let first = Window::parse(None, first_second(1_795_165_205_999), &FIXES).unwrap();
    let url = orders_url("https://shop.test/", &first).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["modified_after"], "2026-11-20T09:00:05");
    assert_eq!(q["page"], "1");
    assert_eq!(q["per_page"], PER_PAGE.to_string());
    assert_eq!(
        (q["orderby"].as_str(), q["order"].as_str()),
        ("modified", "asc")
    );
    // A page whose newest change is 09:10:00: page 1 of what changed from then on.
    let next = first
        .next(&[("1".into(), Some(1_795_165_800_000))], true)
        .unwrap();
    let url = orders_url("https://shop.test/", &next).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        (q["modified_after"].as_str(), q["page"].as_str()),
        ("2026-11-20T09:09:59", "1")
    );
    // A bulk edit filling the page within that second: page 2 of the same window.
    let bulk = next
        .next(&[("1".into(), Some(1_795_165_800_900))], true)
        .unwrap();
    let url = orders_url("https://shop.test/", &bulk).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        (q["modified_after"].as_str(), q["page"].as_str()),
        ("2026-11-20T09:09:59", "2")
    );
    assert!(matches!(
        Window::parse(Some("7"), 0, &FIXES),
        Err(ApiError::Permanent(_))
    ));
}

#[test]
fn modified_after_is_utc_without_offset_in_whole_seconds() {
    assert_eq!(gmt_param(1_795_165_205_999), "2026-11-20T09:00:05");
    assert_eq!(
        parse_datetime_ms(&gmt_param(1_795_165_205_000)),
        Some(1_795_165_205_000)
    );
}

fn hook(id: u32, status: &str, url: &str) -> Webhook {
    Webhook::of(&serde_json::json!({
        "id": id, "name": "Order updated", "topic": "order.updated", "status": status,
        "delivery_url": url, "secret": "wc-secret-never-shown"
    }))
    .unwrap()
}

#[test]
fn health_names_our_webhook_its_status_and_the_fix_never_its_secret() {
    let none = health("acme", &[], &[], &[]);
    assert!(!none.ok && !none.reactivated);
    assert!(
        none.detail.contains("/webhooks/acme") && none.detail.contains("Advanced → Webhooks"),
        "{}",
        none.detail
    );
    let disabled = health(
        "acme",
        &[hook(12, "disabled", "https://h.test/webhooks/acme")],
        &[],
        &[],
    );
    assert!(!disabled.ok);
    assert!(
        disabled.detail.contains("webhook 12 \"Order updated\"")
            && disabled.detail.contains("is disabled")
            && disabled.detail.contains("reconcile.reactivate"),
        "{}",
        disabled.detail
    );
    assert!(
        !disabled.detail.contains("wc-secret"),
        "{}",
        disabled.detail
    );
    let one_active = health(
        "acme",
        &[
            hook(12, "paused", "https://h.test/webhooks/acme"),
            hook(13, "active", "https://h.test/webhooks/acme"),
        ],
        &[],
        &[],
    );
    assert!(one_active.ok, "{}", one_active.detail);
    let back = health(
        "acme",
        &[hook(12, "active", "https://h.test/webhooks/acme")],
        &["webhook 12".into()],
        &[],
    );
    assert!(back.ok && back.reactivated, "{back:?}");
    assert!(
        back.detail.contains("set back to active"),
        "{}",
        back.detail
    );
    assert!(Webhook::of(&serde_json::json!({"id": "x", "delivery_url": "u"})).is_none());
}
