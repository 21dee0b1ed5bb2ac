//! Reconciliation of Shopware stores: see `super`. The stand-in is the Admin API: an OAuth
//! token, and `POST /api/search/order` over order entities made from the corpus's webhook
//! payloads (order 10077, the refunded order 10000), honouring the body's filter (never
//! updated and created since, or updated since), sort, `page` and `limit`, with `total`. The
//! updated orders are answered past the 1 MiB bound at 64 a page (asked again at 32), then
//! fill two pages (32 old open orders an admin touched, then the rest); their first page is
//! slow and their second answered once with a 429.

use serde_json::{Value, json};
use shopbip::platforms::signature::hmac_sha256;
use shopbip::reconcile::Outcome;

use super::{
    Once, Reply, Seen, StandIn, api_access, assert_48h_back, assert_made_nothing, assert_refused,
    ids_where, job_keys, post_webhook, sent_per_template, stand_in, start_store, sweep,
    sweep_after_webhooks, sweep_again_changes_nothing, sweep_waiting,
};
use crate::common::app::TestApp;
use crate::common::sign::fixture;
use crate::platforms::{profile, rule};

const STORE: &str = "kaffee-shopware";
const SECRET: &str = "sw-shop-secret-Tq3sW9pLx2Va";
const SEARCH: &str = "/api/search/order";
const TOKEN: &str = "/api/oauth/token";
const PLACED: &str = "real/shopware/appsdk_order_10077_placed.body";
const PAID: &str = "real/shopware/appsdk_order_10077_transaction_paid.body";
const REFUNDED: &str = "real/shopware/appsdk_order_refunded.body";
const ON_CREATED: u64 = 1290;
const ON_PAID: u64 = 1289;
/// Old open orders touched in the window: no event, but they fill the first page.
const TOUCHED: usize = 32;

fn now_ms() -> i64 {
    shopbip::clock::now_ms()
}

fn ago(secs: i64) -> String {
    shopbip::platforms::unix_rfc3339(now_ms() / 1000 - secs)
}

fn payload_order(path: &str) -> Value {
    let body: Value = serde_json::from_slice(&fixture(path)).unwrap();
    body["data"]["payload"]["order"].clone()
}

/// The entity id of order `number`.
fn id(number: u64) -> String {
    format!("{number:032x}")
}

fn set_state(v: &mut Value, state: &str) {
    v["stateMachineState"] = json!({ "technicalName": state });
}

/// Corpus order 10077 as order `number`, placed `created_ago` seconds ago, updated
/// `updated_ago` seconds ago (`None`: never), its payment and delivery in these states, with
/// a phone WhatsApp can reach.
fn order(
    number: u64,
    created_ago: i64,
    updated_ago: Option<i64>,
    paid: &str,
    delivery: &str,
) -> Value {
    let mut o = payload_order(PLACED);
    o["id"] = id(number).into();
    o["orderNumber"] = number.to_string().into();
    o["createdAt"] = ago(created_ago).into();
    o["orderDateTime"] = ago(created_ago).into();
    o["updatedAt"] = updated_ago.map(ago).into();
    o["billingAddress"]["phoneNumber"] = "+49 151 23456789".into();
    set_state(&mut o["transactions"][0], paid);
    set_state(&mut o["deliveries"][0], delivery);
    o
}

fn refunded(updated_ago: i64) -> Value {
    let mut o = payload_order(REFUNDED);
    o["updatedAt"] = ago(updated_ago).into();
    o["transactions"] = json!([{ "stateMachineState": { "technicalName": "refunded" } }]);
    o
}

/// Never updated: 10077 placed unpaid, 10078 placed and paid. Updated: fifty old open
/// orders, 10079 paid later, the refunded 10000, 10080 shipped; and one changed before the
/// window.
fn orders() -> Vec<Value> {
    let mut all = vec![
        order(10077, 3000, None, "open", "open"),
        order(10078, 2000, None, "paid", "open"),
    ];
    for i in 0..TOUCHED {
        all.push(order(
            20_000 + i as u64,
            10 * 86_400,
            Some(3600 - i as i64),
            "open",
            "open",
        ));
    }
    all.push(order(10079, 5 * 86_400, Some(1800), "paid", "open"));
    all.push(refunded(1200));
    all.push(order(10080, 3 * 86_400, Some(600), "paid", "shipped"));
    all.push(order(10081, 4 * 86_400, Some(50 * 3600), "paid", "open"));
    all
}

fn time(v: &Value) -> Option<i64> {
    v.as_str().and_then(shopbip::clock::parse_datetime_ms)
}

/// What Shopware answers with `includes`: objects of a named `apiAlias` keep only the fields
/// named.
fn included(v: &Value, includes: &Value) -> Value {
    match v {
        Value::Array(list) => list.iter().map(|i| included(i, includes)).collect(),
        Value::Object(map) => {
            let keep = map
                .get("apiAlias")
                .and_then(Value::as_str)
                .and_then(|alias| includes[alias].as_array());
            map.iter()
                .filter(|(k, _)| *k == "apiAlias" || keep.is_none_or(|f| f.iter().any(|f| f == *k)))
                .map(|(k, v)| (k.clone(), included(v, includes)))
                .collect()
        }
        other => other.clone(),
    }
}

fn shopware_api(orders: Vec<Value>) -> StandIn {
    let limited = Once::default();
    stand_in(move |seen: &Seen| {
        if seen.path == TOKEN {
            let creds = seen.json();
            if creds["client_id"] != "SWIA-TEST" || creds["client_secret"] != "sw-test-secret" {
                return Reply::status(401);
            }
            return Reply::json(
                json!({ "token_type": "Bearer", "expires_in": 600, "access_token": "sw-token-1" }),
            );
        }
        if seen.path != SEARCH
            || seen.header("authorization") != Some("Bearer sw-token-1")
            || seen.header("accept") != Some("application/json")
        {
            return Reply::status(401);
        }
        let criteria = seen.json();
        let filter = &criteria["filter"];
        let never_updated = filter[0]["type"] == "equals";
        let gte = |f: &Value| time(&json!(f["parameters"]["gte"].as_str().unwrap())).unwrap();
        let (since, field) = if never_updated {
            (gte(&filter[1]), "createdAt")
        } else {
            (gte(&filter[0]), "updatedAt")
        };
        assert_eq!(criteria["sort"][0]["field"], field);
        let mut matching: Vec<&Value> = orders
            .iter()
            .filter(|o| o["updatedAt"].is_null() == never_updated)
            .filter(|o| time(&o[field]).unwrap() >= since)
            .collect();
        matching.sort_by_key(|o| time(&o[field]));
        let page = criteria["page"].as_u64().unwrap() as usize;
        let limit = criteria["limit"].as_u64().unwrap() as usize;
        if !never_updated && limit == 64 {
            let padding = "x".repeat(1024 * 1024);
            return Reply::json(json!({ "total": matching.len(), "data": [], "padding": padding }));
        }
        if !never_updated && page == 2 && limited.first() {
            return Reply::too_many_requests();
        }
        let data: Vec<Value> = matching
            .iter()
            .skip((page - 1) * limit)
            .take(limit)
            .map(|o| included(o, &criteria["includes"]))
            .collect();
        Reply::json(json!({ "total": matching.len(), "data": data, "aggregations": [] }))
            .slow_when(!never_updated && page == 1)
    })
}

async fn shopware_store(api: &StandIn) -> TestApp {
    let keys = [
        ("client_id", "SWIA-TEST"),
        ("client_secret", "sw-test-secret"),
    ];
    start_store(STORE, |url| {
        let extra = api_access("shopware", &keys, &api.base)
            + &rule("order.created", ON_CREATED, &["{order.number}"], false)
            + &rule(
                "order.paid",
                ON_PAID,
                &["{customer.first_name}", "{order.number}"],
                true,
            );
        profile("shopware", &[SECRET], url, &extra)
    })
    .await
}

fn all_sent() -> Vec<(u64, String)> {
    let mut all: Vec<(u64, String)> = [
        (ON_CREATED, "10077"),
        (ON_CREATED, "10078"),
        (ON_PAID, "10078"),
        (ON_PAID, "10079"),
        (ON_PAID, "10080"),
    ]
    .into_iter()
    .map(|(t, n)| (t, n.to_owned()))
    .collect();
    all.sort();
    all
}

/// Posts the webhook `event` carrying `order`, signed and sent now, in the corpus's envelope.
async fn post(app: &TestApp, event: &str, order: &Value, event_id: &str) -> Value {
    let mut body: Value = serde_json::from_slice(&fixture(PAID)).unwrap();
    body["data"]["event"] = event.into();
    body["data"]["payload"] = json!({ "order": order });
    body["source"]["eventId"] = event_id.into();
    body["timestamp"] = (now_ms() / 1000).into();
    let body = serde_json::to_vec(&body).unwrap();
    let signature = hex::encode(hmac_sha256(SECRET.as_bytes(), &[&body]));
    post_webhook(app, STORE, &[("shopware-shop-signature", signature)], body).await
}

#[tokio::test]
async fn an_order_whose_webhook_never_came_gets_one_message_after_one_sweep() {
    let orders = orders();
    let api = shopware_api(orders.clone());
    let app = shopware_store(&api).await;
    let report = sweep_waiting(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(report.pages, 3, "{report:?}");
    assert_eq!(report.recovered(), 4, "{report:?}");
    let skipped = ids_where(&report, |o| matches!(o, Outcome::Skipped(_)));
    assert_eq!(
        skipped.len(),
        TOUCHED + 1,
        "old open orders and the refund: no rule"
    );
    assert!(
        !report.orders.iter().any(|o| o.name == "10081"),
        "changed before the window"
    );
    assert_eq!(sent_per_template(&app).await, all_sent());
    let keys = job_keys(&app, STORE).await;
    assert!(keys.contains(&(id(10080), "order.paid".into())), "{keys:?}");

    // Asked: one token; the never-updated orders, then the updated ones: too big at 64, then
    // two pages of 32 (the second twice: the 429 waited out), each from the window's start.
    assert_eq!(api.calls(TOKEN).len(), 1);
    let calls: Vec<Value> = api.calls(SEARCH).iter().map(Seen::json).collect();
    let asked: Vec<(String, u64, u64)> = calls
        .iter()
        .map(|c| {
            (
                c["sort"][0]["field"].as_str().unwrap().to_owned(),
                c["page"].as_u64().unwrap(),
                c["limit"].as_u64().unwrap(),
            )
        })
        .collect();
    let asked: Vec<(&str, u64, u64)> = asked.iter().map(|(f, p, l)| (f.as_str(), *p, *l)).collect();
    assert_eq!(
        asked,
        [
            ("createdAt", 1, 64),
            ("updatedAt", 1, 64),
            ("updatedAt", 1, 32),
            ("updatedAt", 2, 32),
            ("updatedAt", 2, 32)
        ]
    );
    for call in &calls {
        let gte = call["filter"].as_array().unwrap().last().unwrap()["parameters"]["gte"].clone();
        assert_48h_back(time(&gte).unwrap(), &gte.to_string());
        assert_eq!(call["total-count-mode"], 1);
        assert!(call["associations"]["transactions"].is_object());
    }
    let newest = time(&orders[orders.len() - 2]["updatedAt"]);
    assert_eq!(report.watermark, newest);

    // A second sweep lists from the watermark and sends nothing more.
    let again = sweep_again_changes_nothing(&app, STORE).await;
    assert_eq!(again.already_handled(), 1, "{again:?}");
    assert_eq!(sent_per_template(&app).await, all_sent());
    let last = api.calls(SEARCH).pop().unwrap().json();
    let gte = time(&last["filter"][0]["parameters"]["gte"]);
    assert_eq!(gte, newest.map(|n| n - 5 * 60 * 1000));
}

#[tokio::test]
async fn an_order_its_webhook_brought_gets_nothing_from_the_sweep() {
    let orders = orders();
    let api = shopware_api(orders.clone());
    let app = shopware_store(&api).await;
    post(&app, "checkout.order.placed", &orders[0], "ev-placed").await;
    let paid_10079 = &orders[TOUCHED + 2];
    post(
        &app,
        "state_enter.order_transaction.state.paid",
        paid_10079,
        "ev-paid",
    )
    .await;
    assert_eq!(
        sent_per_template(&app).await,
        [
            (ON_PAID, "10079".to_owned()),
            (ON_CREATED, "10077".to_owned())
        ]
    );

    let (placed, paid) = (id(10077), id(10079));
    let handled = [placed.as_str(), paid.as_str()];
    sweep_after_webhooks(&app, STORE, &handled, 2, all_sent()).await;
}

#[tokio::test]
async fn a_webhook_arriving_after_the_sweep_found_its_order_makes_nothing() {
    let orders = orders();
    let api = shopware_api(orders.clone());
    let app = shopware_store(&api).await;
    let report = sweep(&app, STORE).await;
    assert_eq!(report.recovered(), 4, "{report:?}");
    assert_eq!(sent_per_template(&app).await, all_sent());

    let late = post(&app, "checkout.order.placed", &orders[0], "ev-late-placed").await;
    assert_made_nothing(&late, 1);
    let late = post(&app, "checkout.order.placed", &orders[1], "ev-late-10078").await;
    assert_made_nothing(&late, 2);
    let late = post(
        &app,
        "state_enter.order_transaction.state.paid",
        &orders[TOUCHED + 2],
        "ev-late-paid",
    )
    .await;
    assert_made_nothing(&late, 1);
    assert_eq!(sent_per_template(&app).await, all_sent());
}

#[tokio::test]
async fn refused_credentials_stop_the_sweep_with_the_fix() {
    let api = stand_in(|_: &Seen| Reply::status(401));
    let app = shopware_store(&api).await;
    let report = sweep(&app, STORE).await;
    assert_refused(&app, &report, &["client_id"], &["sw-test-secret"]).await;
    assert!(api.calls(SEARCH).is_empty());
}
