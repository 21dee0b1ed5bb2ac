//! The stand-in shop of `super`: corpus order 1030 partly refunded, its refunds named by the
//! listing (as many as `refunds(first:)` asks, the oldest), one whole by `refund(id:)` (25
//! lines a query), the order by `order(id:)`; and the store sending a credit note.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use shopbip::jobs::JobState;
use shopbip::order::EventKind;

use super::super::super::{
    Reply, Seen, StandIn, api_access, sent_per_template, stand_in, start_stores,
};
use super::super::{GRAPHQL, STORE, ago, node, paid};
use crate::common::app::{TestApp, shopify_profile};

pub(super) const ORDER: u64 = 2998557704350;
pub(super) const NUMBER: &str = "1040";
/// What the sandbox gets the message for: the order's phone (`+61 412 345 678`).
pub(super) const TO: &str = "61412345678";

/// One refund of the order's pen(s), in both shapes: (REST, as `refunds/create` carries it;
/// GraphQL, as `refund(id:)` gives it). `quantity` pens at 44.95 with 10 % GST.
pub(super) fn refund(id: u64, created: &str, quantity: u32) -> (Value, Value) {
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
pub(super) struct Shop {
    pub(super) refunds: Arc<Mutex<Vec<Value>>>,
    /// Placed half an hour ago (in the sweep's window), not three days.
    pub(super) new: bool,
}

impl Shop {
    pub(super) fn refund(&self, graphql: Value) {
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
        let placed = if self.new { 1800 } else { 72 * 3600 };
        let mut node = node(&rest, &ago(placed), &updated);
        let named: Vec<Value> = refunds[..first.min(refunds.len())]
            .iter()
            .rev()
            .map(|r| json!({ "id": r["id"], "legacyResourceId": r["legacyResourceId"], "createdAt": r["createdAt"] }))
            .collect();
        node["refunds"] = named.into();
        node
    }

    pub(super) fn api(&self) -> StandIn {
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
pub(super) async fn refunding_store(api: &StandIn) -> TestApp {
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
pub(super) async fn sends(app: &TestApp) -> Vec<(String, bool)> {
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
pub(super) async fn refund_jobs(app: &TestApp) -> Vec<(String, JobState)> {
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
