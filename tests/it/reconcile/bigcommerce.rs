//! Reconciliation of BigCommerce stores: see `super`. The stand-in serves the v2 API from the
//! corpus's documented answers (`real/bigcommerce/_api_examples.json`): the listing, sorted by
//! `date_modified`, `limit` a page, only orders modified at or after `min_date_modified`
//! (253 orders: two pages, most of them awaiting payment), rate-limiting page 2 once and
//! answering page 1 slowly; and each order with its products and shipping addresses, which
//! the worker fetches before sending, as for a webhook.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};
use shopbip::platforms::standard_webhooks::KeyForm;
use shopbip::reconcile::Outcome;

use super::{
    Once, Reply, Seen, StandIn, api_access, assert_48h_back, assert_made_nothing, assert_refused,
    ids_where, job_keys, post_webhook, sent_numbers, stand_in, start_store, sweep,
    sweep_again_changes_nothing, sweep_waiting,
};
use crate::common::app::TestApp;
use crate::common::sign::fixture;
use crate::platforms::{now, profile, rule, standard_webhooks_headers};

const STORE: &str = "bc-sweep";
const HASH: &str = "k7xq2m9p4a";
const TOKEN: &str = "bc-api-token-sweep";
const CLIENT_SECRET: &str = "bc-client-secret-sweep";
const STATUS_PAID: &str = "real/bigcommerce/docs_order_247_status_awaiting_fulfillment.body";

fn examples() -> Value {
    serde_json::from_slice(&fixture("real/bigcommerce/_api_examples.json")).unwrap()
}

/// `ms` as the v2 API writes dates: `Tue, 20 Nov 2012 00:00:00 +0000`.
fn v2_date(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms as u64);
    httpdate::fmt_http_date(at).replace(" GMT", " +0000")
}

/// The documented "Multiple Items" order as order `id` in status `status_id`, modified at
/// `modified` (Unix ms), with a phone WhatsApp can reach.
fn order(id: u64, status_id: i64, modified: i64) -> (i64, Value) {
    let mut o = examples()["order:Multiple Items"].clone();
    o["id"] = id.into();
    o["status_id"] = status_id.into();
    o["date_modified"] = v2_date(modified).into();
    o["billing_address"]["phone"] = "+61 412 345 678".into();
    (modified, o)
}

/// 501 paid, 502 awaiting payment, 503 completed, 247 more awaiting payment, then 504 paid,
/// 505 shipped, 506 paid: oldest change first.
fn orders() -> Vec<(i64, Value)> {
    let start = shopbip::clock::now_ms() - 3 * 3600 * 1000;
    let at = |n: i64| start + n * 10_000;
    let mut all = vec![
        order(501, 11, at(0)),
        order(502, 7, at(1)),
        order(503, 10, at(2)),
    ];
    all.extend((0..247).map(|n| order(1000 + n as u64, 7, at(3 + n))));
    all.extend([
        order(504, 11, at(300)),
        order(505, 2, at(301)),
        order(506, 11, at(302)),
    ]);
    all
}

/// What a listing call asks: `min_date_modified` (Unix ms), `page` and `limit` (BigCommerce's
/// defaults when left out).
fn listing_asked(seen: &Seen) -> (i64, usize, usize) {
    let since = seen
        .param("min_date_modified")
        .and_then(|d| shopbip::clock::parse_datetime_ms(&d))
        .unwrap_or(0);
    let page = seen.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let limit = seen
        .param("limit")
        .and_then(|p| p.parse().ok())
        .unwrap_or(50);
    (since, page, limit)
}

fn bigcommerce_api(orders: Vec<(i64, Value)>) -> StandIn {
    let examples = examples();
    let by_id: HashMap<String, Value> = orders
        .iter()
        .map(|(_, o)| (o["id"].to_string(), o.clone()))
        .collect();
    let listing = format!("/stores/{HASH}/v2/orders");
    let limited = Once::default();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    stand_in(move |seen: &Seen| {
        if seen.header("x-auth-token") != Some(TOKEN) {
            return Reply::status(401);
        }
        if seen.path == listing {
            // Keyed on the call, not the page: the sweep asks page 1 of a window that moves.
            let call = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let (since, page, limit) = listing_asked(seen);
            if call == 2 && limited.first() {
                return Reply::too_many_requests();
            }
            let items: Vec<&Value> = orders
                .iter()
                .filter(|(at, _)| *at >= since)
                .map(|(_, o)| o)
                .skip((page - 1) * limit)
                .take(limit)
                .collect();
            if items.is_empty() {
                // BigCommerce's answer to an empty listing.
                return Reply {
                    body: Vec::new(),
                    ..Reply::status(204)
                };
            }
            return Reply::json(json!(items)).slow_when(call == 1);
        }
        let Some(rest) = seen.path.strip_prefix(&format!("{listing}/")) else {
            return Reply::status(404);
        };
        let (id, sub) = rest.split_once('/').unwrap_or((rest, ""));
        match (by_id.get(id), sub) {
            (Some(o), "") => Reply::json(o.clone()),
            (Some(_), "products") => Reply::json(examples["products:response"].clone()),
            (Some(_), "shipping_addresses") => {
                Reply::json(examples["shipping_addresses:response"].clone())
            }
            _ => Reply::status(404),
        }
    })
}

/// A store whose API access uses `token`.
async fn bigcommerce_store_with(api: &StandIn, token: &str) -> TestApp {
    let keys = [("store_hash", HASH), ("access_token", token)];
    start_store(STORE, |url| {
        let extra = api_access("bigcommerce", &keys, &api.base)
            + &rule("order.paid", 1290, &["{order.number}"], false);
        profile("bigcommerce", &[CLIENT_SECRET], url, &extra)
    })
    .await
}

async fn bigcommerce_store(api: &StandIn) -> TestApp {
    bigcommerce_store_with(api, TOKEN).await
}

/// The corpus's signed `store/order/statusUpdated` (to Awaiting Fulfillment) for order `id`.
async fn post_paid(app: &TestApp, id: u64, delivery: &str) -> Value {
    let mut body: Value = serde_json::from_slice(&fixture(STATUS_PAID)).unwrap();
    body["data"]["id"] = id.into();
    let body = serde_json::to_vec(&body).unwrap();
    let headers =
        standard_webhooks_headers(CLIENT_SECRET, KeyForm::RawOrWhsec, delivery, now(), &body);
    post_webhook(app, STORE, &headers, body).await
}

#[tokio::test]
async fn an_order_whose_webhook_never_came_gets_one_message_after_one_sweep() {
    let listed = orders();
    let api = bigcommerce_api(listed.clone());
    let app = bigcommerce_store(&api).await;
    let report = sweep_waiting(&app, STORE).await;
    assert_eq!(
        (report.error.clone(), report.pages),
        (None, 2),
        "{report:?}"
    );
    let recovered = ids_where(&report, |o| matches!(o, Outcome::Recovered { .. }));
    assert_eq!(recovered, ["501", "503", "504", "506"]);
    let skipped = ids_where(&report, |o| matches!(o, Outcome::Skipped(_)));
    assert_eq!(
        skipped.len(),
        249,
        "502, the 247 awaiting payment and 505 (shipped: no rule)"
    );
    assert!(skipped.contains(&"505"));
    assert_eq!(
        job_keys(&app, STORE).await,
        [
            ("501".into(), "order.paid".into()),
            ("503".into(), "order.paid".into()),
            ("504".into(), "order.paid".into()),
            ("506".into(), "order.paid".into()),
        ]
    );
    let sends = sent_numbers(&app).await;
    let jobs: Vec<_> = app
        .jobs()
        .await
        .into_iter()
        .map(|j| (j.order_id, j.state, j.last_error))
        .collect();
    assert_eq!(sends, ["501", "503", "504", "506"], "{jobs:?}");
    assert_eq!(
        report.watermark,
        listed.last().map(|(at, _)| at / 1000 * 1000)
    );

    // What the stand-in was asked: page 1 of a window moving forward, the rate-limited call
    // asked again, the first 48 h back.
    let calls = api.calls(&format!("/stores/{HASH}/v2/orders"));
    let pages: Vec<String> = calls.iter().map(|s| s.param("page").unwrap()).collect();
    assert_eq!(pages, ["1", "1", "1"]);
    let since: Vec<i64> = calls
        .iter()
        .map(|c| shopbip::clock::parse_datetime_ms(&c.param("min_date_modified").unwrap()).unwrap())
        .collect();
    assert!(since[0] < since[1] && since[1] == since[2], "{since:?}");
    let first = calls[0].param("min_date_modified").unwrap();
    assert_48h_back(since[0], &first);
    for call in &calls {
        assert_eq!(call.param("sort").as_deref(), Some("date_modified:asc"));
        assert_eq!(call.param("limit").as_deref(), Some("250"));
    }
    // The worker fetched each order it sent, as for a webhook.
    assert_eq!(api.calls("/v2/orders/504/products").len(), 1);

    // A second sweep lists from the watermark (five minutes back) and sends nothing more.
    let again = sweep_again_changes_nothing(&app, STORE).await;
    assert_eq!(
        ids_where(&again, |o| *o == Outcome::AlreadyHandled),
        ["504", "506"]
    );
    assert_eq!(sent_numbers(&app).await.len(), 4);
}

#[tokio::test]
async fn an_order_its_webhook_brought_gets_nothing_from_the_sweep() {
    let api = bigcommerce_api(orders());
    let app = bigcommerce_store(&api).await;
    let answer = post_paid(&app, 504, "bc-w1").await;
    assert_eq!(answer["jobs_created"], 1, "{answer}");
    assert_eq!(sent_numbers(&app).await, ["504"]);

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(
        ids_where(&report, |o| *o == Outcome::AlreadyHandled),
        ["504"]
    );
    assert_eq!(sent_numbers(&app).await, ["501", "503", "504", "506"]);
}

#[tokio::test]
async fn a_webhook_arriving_after_the_sweep_found_its_order_makes_nothing() {
    let api = bigcommerce_api(orders());
    let app = bigcommerce_store(&api).await;
    assert_eq!(sweep(&app, STORE).await.recovered(), 4);
    assert_eq!(sent_numbers(&app).await.len(), 4);

    assert_made_nothing(&post_paid(&app, 506, "bc-late").await, 1);
    let sends = sent_numbers(&app).await;
    assert_eq!(sends.iter().filter(|n| *n == "506").count(), 1, "{sends:?}");
    assert_eq!(sends.len(), 4);
}

#[tokio::test]
async fn an_empty_listing_is_a_204_and_ends_the_sweep() {
    let api = bigcommerce_api(Vec::new());
    let app = bigcommerce_store(&api).await;
    let report = sweep(&app, STORE).await;
    assert_eq!(
        (report.error.clone(), report.pages),
        (None, 1),
        "{report:?}"
    );
    assert!(report.orders.is_empty());
    assert_eq!(report.watermark, None);
}

#[tokio::test]
async fn a_refused_token_ends_the_sweep_with_the_fix_and_never_the_token() {
    let api = bigcommerce_api(orders());
    let app = bigcommerce_store_with(&api, "not-the-token").await;
    let report = sweep(&app, STORE).await;
    let fix = ["bigcommerce.access_token", "401"];
    assert_refused(&app, &report, &fix, &["not-the-token"]).await;
}

/// The page shift of listings by page number: order 601 (first of page 1) is paid again
/// between the first page and the next, so it moves to the end and every later order shifts
/// back one place. Asked by page number, 602 (the first of page 2, 250 a page) would never be
/// listed; the moving window lists it, and each paid order is sent once.
#[tokio::test]
async fn an_order_changed_between_two_pages_shifts_no_order_out_of_the_sweep() {
    let start = shopbip::clock::now_ms() - 3 * 3600 * 1000;
    let at = move |n: i64| start + n * 10_000;
    // 601 paid, 249 awaiting payment, then 602 and 603 paid: oldest change first.
    let mut all = vec![order(601, 11, at(0))];
    all.extend((0..249).map(|n| order(2000 + n as u64, 7, at(1 + n))));
    all.extend([order(602, 11, at(250)), order(603, 11, at(251))]);
    let shop = std::sync::Arc::new(std::sync::Mutex::new(all));
    let examples = examples();
    let listing = format!("/stores/{HASH}/v2/orders");
    let state = shop.clone();
    let api = stand_in(move |seen: &Seen| {
        let mut orders = state.lock().unwrap();
        if seen.path == listing {
            let (since, page, limit) = listing_asked(seen);
            let mut listed: Vec<&(i64, Value)> =
                orders.iter().filter(|(at, _)| *at >= since).collect();
            listed.sort_by_key(|(at, _)| *at);
            let items: Vec<Value> = listed
                .into_iter()
                .skip((page - 1) * limit)
                .take(limit)
                .map(|(_, o)| o.clone())
                .collect();
            if orders[0].1["id"] == 601 && orders[0].0 == at(0) {
                // The first page is answered; 601 changes now (shipped, still paid).
                orders[0] = order(601, 11, shopbip::clock::now_ms());
            }
            return Reply::json(json!(items));
        }
        let Some(rest) = seen.path.strip_prefix(&format!("{listing}/")) else {
            return Reply::status(404);
        };
        let (id, sub) = rest.split_once('/').unwrap_or((rest, ""));
        let found = orders
            .iter()
            .find(|(_, o)| o["id"].as_u64() == id.parse().ok());
        match (found, sub) {
            (Some((_, o)), "") => Reply::json(o.clone()),
            (Some(_), "products") => Reply::json(examples["products:response"].clone()),
            (Some(_), "shipping_addresses") => {
                Reply::json(examples["shipping_addresses:response"].clone())
            }
            _ => Reply::status(404),
        }
    });
    let app = bigcommerce_store(&api).await;
    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    let recovered = ids_where(&report, |o| matches!(o, Outcome::Recovered { .. }));
    assert_eq!(recovered, ["601", "602", "603"], "{report:?}");
    assert_eq!(sent_numbers(&app).await, ["601", "602", "603"]);
    let pages: Vec<String> = api
        .calls(&format!("/stores/{HASH}/v2/orders"))
        .iter()
        .map(|s| s.param("page").unwrap())
        .collect();
    assert!(pages.iter().all(|p| p == "1"), "{pages:?}");
}
