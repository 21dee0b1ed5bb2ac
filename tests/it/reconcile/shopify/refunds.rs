//! Partial refunds of Shopify orders: the sweep finds a refund whose `refunds/create` never
//! came (one credit note, keyed by the refund's REST id, so the webhook and the sweep agree),
//! and the worker reads from the Admin API the order a `refunds/create` names only. The
//! stand-in serves corpus order 1030 partly refunded: the listing names its refunds, a
//! `refund(id:)` gives one whole, `order(id:)` the order as the listing does.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use shopbip::jobs::JobState;
use shopbip::order::EventKind;
use shopbip::reconcile::Outcome;

use super::super::{
    Reply, Seen, StandIn, api_access, outcome_of, sent_per_template, stand_in, start_stores, sweep,
    sweep_again_changes_nothing,
};
use super::{GRAPHQL, ON_PAID, STORE, ago, node, paid, post};
use crate::common::app::{TestApp, shopify_profile};

const ORDER: u64 = 2998557704350;
const NUMBER: &str = "1040";
/// What the sandbox gets the message for: the order's phone (`+61 412 345 678`).
const TO: &str = "61412345678";

/// One refund of the order's pen(s), in both shapes: (REST, as `refunds/create` carries it;
/// GraphQL, as `refund(id:)` gives it). `quantity` pens at 44.95 with 10 % GST.
fn refund(id: u64, created: &str, quantity: u32) -> (Value, Value) {
    let subtotal = format!("{:.2}", 44.95 * f64::from(quantity));
    let tax = format!("{:.2}", 4.50 * f64::from(quantity));
    let amount = format!("{:.2}", 49.45 * f64::from(quantity));
    let (name, title) = (
        "Classic Fountain Pen - Fine / Bordeaux",
        "Classic Fountain Pen",
    );
    let rest = json!({
        "id": id, "order_id": ORDER, "created_at": created, "processed_at": created,
        "refund_line_items": [{ "quantity": quantity, "subtotal": subtotal,
            "subtotal_set": { "shop_money": { "amount": subtotal, "currency_code": "AUD" } },
            "total_tax": tax, "total_tax_set": { "shop_money": { "amount": tax, "currency_code": "AUD" } },
            "line_item": { "name": name, "title": title, "sku": "",
                "tax_lines": [{ "title": "GST", "rate": 0.1, "price": "4.50" }] } }],
        "transactions": [{ "kind": "refund", "status": "success", "amount": amount, "currency": "AUD" }],
        "order_adjustments": [], "refund_shipping_lines": [],
    });
    let money = |a: &str| json!({ "shopMoney": { "amount": a, "currencyCode": "AUD" } });
    let graphql = json!({
        "id": format!("gid://shopify/Refund/{id}"), "legacyResourceId": id.to_string(),
        "createdAt": created,
        "refundLineItems": { "pageInfo": { "hasNextPage": false, "endCursor": null }, "nodes": [{
            "quantity": quantity, "subtotalSet": money(&subtotal), "totalTaxSet": money(&tax),
            "lineItem": { "name": name, "title": title, "sku": "",
                "taxLines": [{ "title": "GST", "rate": 0.1, "priceSet": money("4.50") }] } }] },
        "transactions": { "pageInfo": { "hasNextPage": false }, "nodes": [
            { "kind": "REFUND", "status": "SUCCESS", "amountSet": money(&amount) }] },
        "refundShippingLines": { "pageInfo": { "hasNextPage": false }, "nodes": [] },
    });
    (rest, graphql)
}

/// The shop: order 1040 (placed three days ago, by card) and its refunds so far (GraphQL),
/// changed when the newest was made.
#[derive(Clone, Default)]
struct Shop {
    refunds: Arc<Mutex<Vec<Value>>>,
}

impl Shop {
    fn refund(&self, graphql: Value) {
        self.refunds.lock().unwrap().push(graphql);
    }

    /// The order's node, its refunds named: the `first` oldest (as a list Shopify cuts short),
    /// newest first (the conversion must not rely on the order Shopify lists them in).
    fn node(&self, first: usize) -> Value {
        let refunds = self.refunds.lock().unwrap().clone();
        let mut rest = paid(ORDER, 1040);
        rest["financial_status"] = "partially_refunded".into();
        let updated = refunds
            .last()
            .and_then(|r| r["createdAt"].as_str().map(str::to_owned))
            .unwrap_or_else(|| ago(3600));
        let mut node = node(&rest, &ago(72 * 3600), &updated);
        let named: Vec<Value> = refunds[..first.min(refunds.len())]
            .iter()
            .rev()
            .map(|r| json!({ "id": r["id"], "legacyResourceId": r["legacyResourceId"], "createdAt": r["createdAt"] }))
            .collect();
        node["refunds"] = named.into();
        node
    }

    fn api(&self) -> StandIn {
        let shop = self.clone();
        stand_in(move |seen: &Seen| {
            if seen.path != GRAPHQL || seen.header("x-shopify-access-token") != Some("shpat_test") {
                return Reply::status(401);
            }
            let body = seen.json();
            let query = body["query"].as_str().unwrap_or_default();
            let id = body["variables"]["id"].as_str().unwrap_or_default();
            let first = query
                .split_once("refunds(first: ")
                .and_then(|(_, rest)| rest.split(')').next()?.parse().ok())
                .unwrap_or(0);
            if query.contains("refund(id: $id)") {
                let refunds = shop.refunds.lock().unwrap();
                let found = refunds.iter().find(|r| r["id"] == id).cloned();
                return Reply::json(
                    json!({ "data": { "refund": found.map(|r| lines_page(r, query)) } }),
                );
            }
            if query.contains("order(id: $id)") {
                let found =
                    (id == format!("gid://shopify/Order/{ORDER}")).then(|| shop.node(first));
                return Reply::json(json!({ "data": { "order": found } }));
            }
            Reply::json(json!({ "data": { "orders": {
                "pageInfo": { "hasNextPage": false, "endCursor": "cursor-1" },
                "nodes": [shop.node(first)] } } }))
        })
    }
}

/// A refund's lines as a query with `first: 25` gets them: the first 25, or those after.
fn lines_page(mut refund: Value, query: &str) -> Value {
    let nodes = refund["refundLineItems"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let (page, more) = if query.contains("after: $after") {
        (nodes[25.min(nodes.len())..].to_vec(), false)
    } else {
        (nodes[..25.min(nodes.len())].to_vec(), nodes.len() > 25)
    };
    refund["refundLineItems"] = json!({ "nodes": page,
        "pageInfo": { "hasNextPage": more, "endCursor": if more { "rl-25" } else { "rl-end" } } });
    refund
}

/// The store of `super`, with a credit note (the document attached) on `order.refunded`.
async fn refunding_store(api: &StandIn) -> TestApp {
    let keys = [
        ("shop_domain", "atlas-argan.myshopify.com"),
        ("admin_token", "shpat_test"),
    ];
    start_stores(|url| {
        let rule = "[[notify]]\non = \"order.refunded\"\ntemplate_id = 1289\n\
                    body_params = [\"{customer.first_name}\", \"{order.number}\"]\n\
                    attach_invoice = true\n";
        let profile = shopify_profile(url) + rule + &api_access("shopify", &keys, &api.base);
        vec![(STORE.to_owned(), profile)]
    })
    .await
}

/// Every accepted send as (its `to`, whether a document went with it).
async fn sends(app: &TestApp) -> Vec<(String, bool)> {
    sent_per_template(app).await;
    let calls = app.sandbox.control.calls_to("/api/v2/whatsapp/templates");
    let calls = calls.await.unwrap().into_iter().filter(|c| c.status == 200);
    calls
        .map(|c| {
            let json = c.json.unwrap_or_default();
            let to = json["to"].as_str().unwrap_or_default().to_owned();
            (to, json["header_media_id"].is_string())
        })
        .collect()
}

/// The refund each `order.refunded` job is about, in the order the jobs were made.
async fn refund_jobs(app: &TestApp) -> Vec<(String, JobState)> {
    let mut jobs = app.jobs().await;
    jobs.sort_by_key(|j| j.id);
    let refunds = jobs
        .into_iter()
        .filter(|j| j.kind == EventKind::OrderRefunded);
    refunds
        .map(|j| {
            let refund = j.order.refund.map(|r| r.id).unwrap_or_default();
            (refund, j.state)
        })
        .collect()
}

#[tokio::test]
async fn a_partial_refund_whose_webhook_never_came_gets_one_credit_note_from_the_sweep() {
    let shop = Shop::default();
    shop.refund(refund(901, &ago(70 * 3600), 1).1);
    shop.refund(refund(902, &ago(3600), 2).1);
    let api = shop.api();
    let app = refunding_store(&api).await;

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    let id = ORDER.to_string();
    assert_eq!(outcome_of(&report, &id), &Outcome::Recovered { jobs: 1 });
    // The newest refund only (the event an order's state stands for), its template 1289.
    assert_eq!(
        sent_per_template(&app).await,
        [(ON_PAID, NUMBER.to_owned())]
    );
    assert_eq!(sends(&app).await, [(TO.to_owned(), true)], "a credit note");
    assert_eq!(refund_jobs(&app).await, [("902".into(), JobState::Done)]);
    let asked: Vec<Value> = api.calls(GRAPHQL).iter().map(Seen::json).collect();
    let refund_asked = asked
        .iter()
        .filter(|c| c["variables"]["id"] == "gid://shopify/Refund/902");
    assert_eq!(refund_asked.count(), 1, "the newest read whole, once");
    assert!(
        !asked
            .iter()
            .any(|c| c["variables"]["id"] == "gid://shopify/Refund/901")
    );

    // Listed again: nothing more.
    sweep_again_changes_nothing(&app, STORE).await;
    assert_eq!(sends(&app).await.len(), 1);

    // Another partial refund: its own credit note, the earlier one not again.
    shop.refund(refund(903, &ago(60), 1).1);
    let report = sweep(&app, STORE).await;
    assert_eq!(outcome_of(&report, &id), &Outcome::Recovered { jobs: 1 });
    assert_eq!(sends(&app).await.len(), 2);
    assert_eq!(
        refund_jobs(&app).await,
        [
            ("902".into(), JobState::Done),
            ("903".into(), JobState::Done)
        ]
    );
}

/// More refunds than the listing names: they are read on their own, so the newest is not
/// the one left out.
#[tokio::test]
async fn the_newest_of_more_refunds_than_a_listing_names_gets_the_credit_note() {
    let shop = Shop::default();
    for i in 0..11 {
        shop.refund(refund(1001 + i, &ago(7200 - 60 * i as i64), 1).1);
    }
    let api = shop.api();
    let app = refunding_store(&api).await;

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(sends(&app).await.len(), 1);
    assert_eq!(refund_jobs(&app).await, [("1011".into(), JobState::Done)]);
    let asked: Vec<Value> = api.calls(GRAPHQL).iter().map(Seen::json).collect();
    let queries: Vec<&str> = asked.iter().map(|c| c["query"].as_str().unwrap()).collect();
    assert!(
        queries.iter().any(|q| q.contains("refunds(first: 100)")),
        "{queries:?}"
    );
    let newest = asked
        .iter()
        .filter(|c| c["variables"]["id"] == "gid://shopify/Refund/1011");
    assert_eq!(newest.count(), 1);
}

/// A refund of more lines than one query gives is read whole: its credit note states each.
#[tokio::test]
async fn a_refund_of_more_lines_than_a_query_gives_is_read_whole() {
    let shop = Shop::default();
    // 27 pens given back (the money), one a line.
    let mut graphql = refund(902, &ago(3600), 27).1;
    let line = refund(902, &ago(3600), 1).1["refundLineItems"]["nodes"][0].clone();
    graphql["refundLineItems"]["nodes"] = vec![line; 27].into();
    shop.refund(graphql);
    let api = shop.api();
    let app = refunding_store(&api).await;

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(sends(&app).await.len(), 1);
    let jobs = app.jobs().await;
    let refund = jobs[0].order.refund.as_ref().unwrap();
    assert_eq!(refund.lines.len(), 27);
    let asked: Vec<Value> = api.calls(GRAPHQL).iter().map(Seen::json).collect();
    let after = asked.iter().filter(|c| c["variables"]["after"] == "rl-25");
    assert_eq!(after.count(), 1, "the lines after the first 25, once");
}

#[tokio::test]
async fn a_refund_its_webhook_brought_gets_nothing_more_from_the_sweep() {
    let shop = Shop::default();
    let (rest, graphql) = refund(902, &ago(3600), 2);
    shop.refund(graphql);
    let api = shop.api();
    let app = refunding_store(&api).await;

    post(&app, "refunds/create", &rest, "w-refund-902").await;
    assert_eq!(sends(&app).await, [(TO.to_owned(), true)]);
    assert_eq!(refund_jobs(&app).await, [("902".into(), JobState::Done)]);

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    let id = ORDER.to_string();
    assert_eq!(outcome_of(&report, &id), &Outcome::AlreadyHandled);
    assert_eq!(sends(&app).await.len(), 1, "one credit note for the refund");
    assert_eq!(refund_jobs(&app).await.len(), 1);
}

#[tokio::test]
async fn a_refund_of_an_order_never_seen_is_sent_with_the_order_read_from_the_api() {
    let shop = Shop::default();
    let (rest, graphql) = refund(902, &ago(60), 2);
    shop.refund(graphql);
    let api = shop.api();
    let app = refunding_store(&api).await;

    post(&app, "refunds/create", &rest, "w-refund-only").await;
    assert_eq!(
        sent_per_template(&app).await,
        [(ON_PAID, NUMBER.to_owned())],
        "the order's number, from the API"
    );
    assert_eq!(
        sends(&app).await,
        [(TO.to_owned(), true)],
        "to the order's phone"
    );
    let jobs = app.jobs().await;
    let [job] = &jobs[..] else {
        panic!("{jobs:?}");
    };
    assert_eq!(
        (job.kind, job.state),
        (EventKind::OrderRefunded, JobState::Done)
    );
    let refund = job.order.refund.as_ref().unwrap();
    assert_eq!((refund.id.as_str(), refund.lines.len()), ("902", 1));
    let worked_from = &job.steps["order"];
    assert_eq!(worked_from["number"], NUMBER, "{worked_from}");
    assert_eq!(worked_from["refund"]["id"], "902");
    let asked: Vec<Value> = api.calls(GRAPHQL).iter().map(Seen::json).collect();
    assert_eq!(
        asked[0]["variables"]["id"],
        format!("gid://shopify/Order/{ORDER}"),
        "{asked:?}"
    );
    assert!(
        asked[0]["query"]
            .as_str()
            .unwrap()
            .contains("refunds(first:")
    );
}

#[tokio::test]
async fn an_order_the_api_does_not_know_fails_the_refund_for_good_with_the_scope() {
    let shop = Shop::default();
    let (mut rest, graphql) = refund(902, &ago(60), 2);
    rest["order_id"] = 1.into();
    shop.refund(graphql);
    let api = shop.api();
    let app = refunding_store(&api).await;

    post(&app, "refunds/create", &rest, "w-refund-gone").await;
    assert!(sends(&app).await.is_empty());
    let jobs = app.jobs().await;
    let [job] = &jobs[..] else {
        panic!("{jobs:?}");
    };
    assert_eq!(job.state, JobState::Dead, "{job:?}");
    let error = job.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("no order 1 in this shop") && error.contains("read_all_orders"),
        "{error}"
    );
    assert!(!error.contains("shpat_test"), "{error}");
}
