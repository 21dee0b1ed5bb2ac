//! Reconciliation of Shopify stores: see `super`. The stand-in answers the Admin GraphQL
//! `orders` query with nodes made from the corpus's webhook bodies (the inverse of the sweep's
//! conversion), two a page by `pageInfo`, only those updated at or after the query's
//! `updated_at:>=`; it answers page 2 once with a 429 and page 3 once `THROTTLED`, then slowly,
//! and page 1 leaves too little cost budget (the listing waits before page 2). It also lists
//! the app's `webhookSubscriptions` for the health check.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shopbip::reconcile::Outcome;

mod refunds;

use super::{
    Once, Reply, Seen, StandIn, api_access, assert_48h_back, assert_made_nothing, assert_refused,
    job_keys, outcome_of, post_webhook, sent_per_template, stand_in, start_stores, sweep,
    sweep_after_webhooks, sweep_again_changes_nothing, sweep_waiting,
};
use crate::common::app::{SHOPIFY_SECRET, TestApp, shopify_profile};
use crate::common::sign::{fixture, shopify_headers};

const STORE: &str = "atlas-shopify";
const GRAPHQL: &str = "/admin/api/2025-07/graphql.json";
const PAGE: usize = 2;
const PAID_1030: &str = "real/shopify/bag_server_1030_paid_aud.body";
const CREATED: &str = "real/shopify/dearbrightly_trimmed_orders_create.body";
const CANCELLED: &str = "real/shopify/test_notification_orders_create_2024.body";
/// Templates of `shopify_profile`'s rules.
const ON_CREATED: u64 = 1290;
const ON_PAID: u64 = 1289;

fn ago(secs: i64) -> String {
    shopbip::platforms::unix_rfc3339(shopbip::clock::now_ms() / 1000 - secs)
}

fn corpus(path: &str) -> Value {
    serde_json::from_slice(&fixture(path)).unwrap()
}

/// Corpus order 1030 (paid, by card) with a phone WhatsApp can reach, as order `id`.
fn paid(id: u64, number: u64) -> Value {
    let mut o = corpus(PAID_1030);
    o["id"] = id.into();
    o["order_number"] = number.into();
    o["name"] = format!("#{number}").into();
    o["phone"] = "+61 412 345 678".into();
    o
}

/// A listed order: its webhook body, and the GraphQL node Shopify's API gives for it.
#[derive(Clone)]
struct Listed {
    rest: Value,
    node: Value,
}

fn listed(rest: Value, created_ago: i64, updated_ago: i64) -> Listed {
    let node = node(&rest, &ago(created_ago), &ago(updated_ago));
    Listed { rest, node }
}

/// The Admin GraphQL node of a REST order (what the sweep turns back into `rest`).
fn node(rest: &Value, created: &str, updated: &str) -> Value {
    let currency = &rest["currency"];
    let money = |amount: &Value| {
        if amount.is_null() {
            Value::Null
        } else {
            json!({ "shopMoney": { "amount": amount, "currencyCode": currency } })
        }
    };
    let address = |a: &Value| {
        if !a.is_object() {
            return Value::Null;
        }
        json!({ "name": a["name"], "firstName": a["first_name"], "lastName": a["last_name"],
            "company": a["company"], "address1": a["address1"], "address2": a["address2"],
            "city": a["city"], "provinceCode": a["province_code"], "province": a["province"],
            "zip": a["zip"], "countryCodeV2": a["country_code"], "phone": a["phone"] })
    };
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let lines: Vec<Value> = list(&rest["line_items"])
        .iter()
        .map(|l| {
            json!({ "name": l["name"], "title": l["title"], "sku": l["sku"],
            "quantity": l["quantity"], "originalUnitPriceSet": money(&l["price"]) })
        })
        .collect();
    let taxes: Vec<Value> = list(&rest["tax_lines"])
        .iter()
        .map(|t| json!({ "title": t["title"], "rate": t["rate"], "priceSet": money(&t["price"]) }))
        .collect();
    let customer = &rest["customer"];
    let shipping = &rest["total_shipping_price_set"]["shop_money"];
    json!({
        "id": format!("gid://shopify/Order/{}", rest["id"]),
        "legacyResourceId": rest["id"].to_string(),
        "name": rest["name"], "email": rest["email"], "phone": rest["phone"],
        "createdAt": created, "updatedAt": updated,
        "processedAt": rest["processed_at"], "cancelledAt": rest["cancelled_at"],
        "displayFinancialStatus": rest["financial_status"].as_str().map(str::to_uppercase),
        "displayFulfillmentStatus": if rest["fulfillment_status"] == "fulfilled" { "FULFILLED" } else { "UNFULFILLED" },
        "currencyCode": currency, "presentmentCurrencyCode": rest["presentment_currency"],
        "customerLocale": rest["customer_locale"], "taxesIncluded": rest["taxes_included"],
        "paymentGatewayNames": rest["payment_gateway_names"],
        "customer": if customer.is_object() {
            json!({ "firstName": customer["first_name"], "lastName": customer["last_name"],
                "email": customer["email"], "phone": customer["phone"] })
        } else { Value::Null },
        "billingAddress": address(&rest["billing_address"]),
        "shippingAddress": address(&rest["shipping_address"]),
        "subtotalPriceSet": money(&rest["subtotal_price"]),
        "totalPriceSet": money(&rest["total_price"]),
        "totalDiscountsSet": money(&rest["total_discounts"]),
        "totalTaxSet": money(&rest["total_tax"]),
        "totalShippingPriceSet": if shipping.is_object() {
            json!({ "shopMoney": { "amount": shipping["amount"], "currencyCode": shipping["currency_code"] } })
        } else { Value::Null },
        "taxLines": taxes,
        "lineItems": { "pageInfo": { "hasNextPage": false, "endCursor": null }, "nodes": lines },
    })
}

/// Oldest change first: 1030 paid (placed before the window), a new unpaid order, a
/// cancelled one, another new unpaid one, a new paid one; and one changed before the window.
fn orders() -> Vec<Listed> {
    let mut created_1012 = corpus(CREATED);
    created_1012["id"] = 1234567891012u64.into();
    created_1012["name"] = "#1012".into();
    vec![
        listed(paid(2998557704341, 1030), 72 * 3600, 3600),
        listed(corpus(CREATED), 3000, 3000),
        listed(corpus(CANCELLED), 2400, 2400),
        listed(created_1012, 1800, 1800),
        listed(paid(2998557704342, 1031), 1200, 600),
        listed(paid(2998557704343, 1032), 60 * 3600, 50 * 3600),
    ]
}

struct Api {
    stand_in: StandIn,
    /// When each orders query arrived.
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

fn cost(requested: u32, available: u32, rate: u32) -> Value {
    json!({ "cost": { "requestedQueryCost": requested, "actualQueryCost": null,
        "throttleStatus": { "maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": rate } } })
}

fn shopify_api(orders: Vec<Listed>, subscriptions: Value) -> Api {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen_at = arrivals.clone();
    let limited = Once::default();
    let throttled = Once::default();
    let stand_in = stand_in(move |seen: &Seen| {
        if seen.path != GRAPHQL || seen.header("x-shopify-access-token") != Some("shpat_test") {
            return Reply::status(401);
        }
        let body = seen.json();
        let query = body["query"].as_str().unwrap_or_default();
        if query.contains("webhookSubscriptions") {
            return Reply::json(json!({ "data": { "webhookSubscriptions": subscriptions } }));
        }
        seen_at.lock().unwrap().push(Instant::now());
        let search = body["variables"]["query"].as_str().unwrap_or_default();
        let since = search
            .strip_prefix("updated_at:>='")
            .and_then(|s| s.strip_suffix('\''))
            .and_then(shopbip::clock::parse_datetime_ms)
            .expect("an updated_at:>= search");
        let matching: Vec<&Listed> = orders
            .iter()
            .filter(|o| {
                shopbip::clock::parse_datetime_ms(o.node["updatedAt"].as_str().unwrap()).unwrap()
                    >= since
            })
            .collect();
        let page: usize = match body["variables"]["cursor"].as_str() {
            None => 1,
            Some(c) => c.strip_prefix("cursor-").unwrap().parse::<usize>().unwrap() + 1,
        };
        if page == 2 && limited.first() {
            return Reply::too_many_requests();
        }
        if page == 3 && throttled.first() {
            return Reply::json(json!({
                "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }],
                "extensions": cost(100, 50, 50),
            }));
        }
        let nodes: Vec<&Value> = matching
            .iter()
            .skip((page - 1) * PAGE)
            .take(PAGE)
            .map(|o| &o.node)
            .collect();
        let more = matching.len() > page * PAGE;
        // Page 1 leaves 40 of the 100 points the next query needs, at 60 a second.
        let extensions = if page == 1 {
            cost(100, 40, 60)
        } else {
            cost(100, 1000, 50)
        };
        Reply::json(json!({
            "data": { "orders": {
                "pageInfo": { "hasNextPage": more, "endCursor": format!("cursor-{page}") },
                "nodes": nodes,
            } },
            "extensions": extensions,
        }))
        .slow_when(page == 3)
    });
    Api { stand_in, arrivals }
}

fn hooks(urls: &[(&str, &str)]) -> Value {
    let edges: Vec<Value> = urls
        .iter()
        .enumerate()
        .map(|(i, (topic, url))| json!({ "node": { "id": format!("gid://shopify/WebhookSubscription/{i}"),
            "topic": topic, "endpoint": { "__typename": "WebhookHttpEndpoint", "callbackUrl": url } } }))
        .collect();
    json!({ "edges": edges })
}

async fn shopify_store(api: &StandIn, stores: &[&str]) -> TestApp {
    let keys = [
        ("shop_domain", "atlas-argan.myshopify.com"),
        ("admin_token", "shpat_test"),
    ];
    start_stores(|url| {
        let profile = shopify_profile(url) + &api_access("shopify", &keys, &api.base);
        let stores = stores.iter();
        stores.map(|s| (s.to_string(), profile.clone())).collect()
    })
    .await
}

fn all_sent() -> Vec<(u64, String)> {
    let mut all = vec![
        (ON_PAID, "1030".to_owned()),
        (ON_PAID, "1031".to_owned()),
        (ON_CREATED, "1012".to_owned()),
        (ON_CREATED, "1031".to_owned()),
        (ON_CREATED, "1234567891011".to_owned()),
    ];
    all.sort();
    all
}

async fn post(app: &TestApp, topic: &str, rest: &Value, id: &str) -> Value {
    let body = serde_json::to_vec(rest).unwrap();
    let headers = shopify_headers(SHOPIFY_SECRET, topic, &body, id);
    post_webhook(app, STORE, &headers, body).await
}

#[tokio::test]
async fn an_order_whose_webhook_never_came_gets_one_message_after_one_sweep() {
    let orders = orders();
    let api = shopify_api(orders.clone(), hooks(&[]));
    let app = shopify_store(&api.stand_in, &[STORE]).await;
    let report = sweep_waiting(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(report.pages, 3, "{report:?}");
    assert_eq!(report.recovered(), 4, "{report:?}");
    assert!(
        matches!(
            outcome_of(&report, "820982911946154508"),
            Outcome::Skipped(_)
        ),
        "cancelled: no rule"
    );
    assert!(!report.orders.iter().any(|o| o.order_id == "2998557704343"));
    assert_eq!(sent_per_template(&app).await, all_sent());
    let keys = job_keys(&app, STORE).await;
    assert!(keys.contains(&("2998557704341".into(), "order.paid".into())));
    assert!(
        !keys.contains(&("2998557704341".into(), "order.created".into())),
        "placed before the window: what it became, not new: {keys:?}"
    );

    // Asked: page 2 twice (the 429 waited out), page 3 twice (THROTTLED waited out), with
    // the token, `UPDATED_AT` order and the window's start.
    let calls: Vec<Value> = api.stand_in.calls(GRAPHQL).iter().map(Seen::json).collect();
    let cursors: Vec<Value> = calls
        .iter()
        .map(|c| c["variables"]["cursor"].clone())
        .collect();
    assert_eq!(
        cursors,
        [
            json!(null),
            json!("cursor-1"),
            json!("cursor-1"),
            json!("cursor-2"),
            json!("cursor-2")
        ]
    );
    for call in &calls {
        assert!(
            call["query"]
                .as_str()
                .unwrap()
                .contains("sortKey: UPDATED_AT")
        );
        let search = call["variables"]["query"].as_str().unwrap();
        let at = search
            .strip_prefix("updated_at:>='")
            .and_then(|s| s.strip_suffix('\''))
            .and_then(shopbip::clock::parse_datetime_ms)
            .unwrap();
        assert_48h_back(at, search);
    }
    // Page 1 left too little budget: page 2 was asked once it had refilled (1 s).
    let arrivals = api.arrivals.lock().unwrap().clone();
    let waited = arrivals[1] - arrivals[0];
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    let newest = shopbip::clock::parse_datetime_ms(orders[4].node["updatedAt"].as_str().unwrap());
    assert_eq!(report.watermark, newest);

    // A second sweep lists from the watermark and sends nothing more.
    let again = sweep_again_changes_nothing(&app, STORE).await;
    assert_eq!(again.already_handled(), 1, "{again:?}");
    assert_eq!(sent_per_template(&app).await, all_sent());
    let last = api.stand_in.calls(GRAPHQL).pop().unwrap().json();
    let search = last["variables"]["query"].as_str().unwrap().to_owned();
    assert_eq!(
        search,
        format!(
            "updated_at:>='{}'",
            shopbip::platforms::unix_rfc3339((newest.unwrap() - 5 * 60 * 1000) / 1000)
        )
    );
}

#[tokio::test]
async fn an_order_its_webhook_brought_gets_nothing_from_the_sweep() {
    let orders = orders();
    let api = shopify_api(orders.clone(), hooks(&[]));
    let app = shopify_store(&api.stand_in, &[STORE]).await;
    post(&app, "orders/create", &orders[1].rest, "w-create").await;
    post(&app, "orders/paid", &orders[0].rest, "w-paid").await;
    let before = sent_per_template(&app).await;
    assert_eq!(
        before,
        [
            (ON_PAID, "1030".to_owned()),
            (ON_CREATED, "1234567891011".to_owned())
        ]
    );

    let handled = ["1234567891011", "2998557704341"];
    sweep_after_webhooks(&app, STORE, &handled, 2, all_sent()).await;
}

#[tokio::test]
async fn a_webhook_arriving_after_the_sweep_found_its_order_makes_nothing() {
    let orders = orders();
    let api = shopify_api(orders.clone(), hooks(&[]));
    let app = shopify_store(&api.stand_in, &[STORE]).await;
    let report = sweep(&app, STORE).await;
    assert_eq!(report.recovered(), 4, "{report:?}");
    assert_eq!(sent_per_template(&app).await, all_sent());

    let late = post(&app, "orders/create", &orders[1].rest, "w-late-create").await;
    assert_made_nothing(&late, 1);
    let late = post(&app, "orders/paid", &orders[0].rest, "w-late-paid").await;
    assert_made_nothing(&late, 1);
    let late = post(&app, "orders/create", &orders[4].rest, "w-late-1031").await;
    assert_made_nothing(&late, 2);
    assert_eq!(sent_per_template(&app).await, all_sent());
}

#[tokio::test]
async fn a_missing_subscription_is_reported_with_the_fix() {
    let api = shopify_api(
        Vec::new(),
        hooks(&[
            (
                "ORDERS_CREATE",
                "https://hooks.example.com/webhooks/atlas-shopify",
            ),
            (
                "ORDERS_PAID",
                "https://hooks.example.com/webhooks/atlas-shopify/",
            ),
            ("ORDERS_CREATE", "https://elsewhere.example.com/hooks/other"),
        ]),
    );
    let app = shopify_store(&api.stand_in, &[STORE, "atlas-gone"]).await;
    let sweeper = app.service.sweeper();
    let check = async |store: &str| {
        let store = sweeper.stores.load().get(store).cloned().unwrap();
        shopbip::reconcile::check_subscription(&sweeper.client, &store)
            .await
            .unwrap()
            .expect("Shopify tells")
    };
    let ours = check(STORE).await;
    assert!(ours.ok, "{ours:?}");
    assert_eq!(
        ours.detail,
        "Shopify delivers orders/create, orders/paid to …/webhooks/atlas-shopify"
    );
    let gone = check("atlas-gone").await;
    assert!(!gone.ok && !gone.reactivated, "{gone:?}");
    for needle in [
        "/webhooks/atlas-gone",
        "re-create",
        "Settings → Notifications",
    ] {
        assert!(gone.detail.contains(needle), "{needle}: {}", gone.detail);
    }
    assert!(!gone.detail.contains("shpat_test"));
    assert!(
        api.stand_in
            .requests()
            .iter()
            .all(|s| s.header("x-shopify-access-token") == Some("shpat_test"))
    );
}

#[tokio::test]
async fn a_token_without_the_orders_scope_stops_the_sweep_with_the_scope_to_add() {
    let api = stand_in(|_: &Seen| {
        Reply::json(json!({ "errors": [{
            "message": "Access denied for orders field. Required access: `read_orders` access scope.",
            "extensions": { "code": "ACCESS_DENIED" } }] }))
    });
    let app = shopify_store(&api, &[STORE]).await;
    let report = sweep(&app, STORE).await;
    assert_refused(&app, &report, &["read_orders scope"], &["shpat_test"]).await;
    assert_eq!(report.retry_after, None);
    assert_eq!(
        api.calls(GRAPHQL).len(),
        1,
        "permanent: not retried in the sweep"
    );
}

/// An order with more lines than the listing asks per order has the rest fetched on its own:
/// its event carries every line.
#[tokio::test]
async fn an_order_with_more_lines_than_a_listing_gives_is_read_whole() {
    let mut rest = paid(2998557704341, 1030);
    let line = rest["line_items"][0].clone();
    rest["line_items"] = Value::Array(vec![line.clone(); 27]);
    let mut whole = node(&rest, &ago(600), &ago(600));
    let lines = whole["lineItems"]["nodes"].as_array().unwrap().clone();
    whole["lineItems"] = json!({ "pageInfo": { "hasNextPage": true, "endCursor": "line-25" },
        "nodes": lines[..25] });
    let rest_lines = lines[25..].to_vec();
    let api = stand_in(move |seen: &Seen| {
        let body = seen.json();
        if body["query"]
            .as_str()
            .unwrap_or_default()
            .contains("order(id: $id)")
        {
            assert_eq!(body["variables"]["id"], "gid://shopify/Order/2998557704341");
            assert_eq!(body["variables"]["after"], "line-25");
            return Reply::json(json!({ "data": { "order": { "lineItems": {
                "pageInfo": { "hasNextPage": false, "endCursor": "line-27" }, "nodes": rest_lines } } } }));
        }
        Reply::json(json!({ "data": { "orders": {
            "pageInfo": { "hasNextPage": false, "endCursor": "cursor-1" }, "nodes": [whole] } } }))
    });
    let app = shopify_store(&api, &[STORE]).await;
    let sweeper = app.service.sweeper();
    let store = sweeper.stores.load().get(STORE).cloned().unwrap();
    let access = store.reconcile.access.as_ref().unwrap();
    let since = shopbip::clock::now_ms() - 3600 * 1000;
    let page = shopbip::platforms::reconcile::list_changed(&sweeper.client, access, since, None)
        .await
        .unwrap();
    assert_eq!((page.found.len(), page.next.clone()), (1, None), "{page:?}");
    let order = &page.found[0].event.order;
    assert_eq!(order.lines.len(), 27);
    assert_eq!(order.subtotal.to_string(), "1213.65", "27 × 44.95");
    assert_eq!(api.calls(GRAPHQL).len(), 2);
}
