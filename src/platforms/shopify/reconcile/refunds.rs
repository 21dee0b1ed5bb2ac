//! An order's refunds in the REST shape its webhooks carry (`refunds`, oldest first), for the
//! webhook's parse, which reads the newest (the last). The listing names each refund only
//! (a refund whole costs about as much as a page of orders): the newest is then read whole
//! on its own (`refund(id:)`), the others stay named. Its REST id is the one Shopify's
//! `refunds/create` carries (`legacyResourceId`), which keys its credit note: the sweep, the
//! webhook and the worker must agree on it.

use serde_json::{Value, json};
use url::Url;

use super::super::profile::Api;
use super::convert::{items, rest_id};
use super::query::{
    ALL_REFUNDS, LISTED_REFUNDS, REFUND_SHIPPING, REFUND_TRANSACTIONS, refund_lines_query,
    refund_query, refunds_query,
};
use super::read::{MAX_LINES, more_nodes};
use super::{ApiError, graphql};
use crate::clock::parse_datetime_ms;

/// The refunds of a GraphQL list in REST's shape, oldest first (Shopify does not promise an
/// order for `Order.refunds`; the parse takes the last as the newest).
pub fn rest_refunds(list: &Value) -> Vec<Value> {
    oldest_first(list).into_iter().map(rest_refund).collect()
}

fn oldest_first(list: &Value) -> Vec<&Value> {
    let mut refunds: Vec<&Value> = items(list).collect();
    refunds.sort_by_key(|r| {
        let created = r["createdAt"].as_str().and_then(parse_datetime_ms);
        let id = rest_id(r).and_then(|id| id.parse::<u64>().ok());
        (created, id)
    });
    refunds
}

/// One GraphQL `Refund` in REST's shape (the fields `refunds/create` carries that the parse
/// reads); whatever it lacks (a refund named only) stays empty.
pub fn rest_refund(r: &Value) -> Value {
    let id = rest_id(r).map(|id| match id.parse::<u64>() {
        Ok(n) => Value::from(n),
        Err(_) => Value::from(id),
    });
    let shop = |set: &Value| set["shopMoney"]["amount"].clone();
    let lines: Vec<Value> = items(&r["refundLineItems"])
        .map(|l| {
            let item = &l["lineItem"];
            let taxes: Vec<Value> = items(&item["taxLines"])
                .map(|t| json!({ "title": t["title"], "rate": t["rate"], "price": shop(&t["priceSet"]) }))
                .collect();
            json!({
                "quantity": l["quantity"],
                "subtotal": shop(&l["subtotalSet"]),
                "subtotal_set": { "shop_money": {
                    "amount": shop(&l["subtotalSet"]),
                    "currency_code": l["subtotalSet"]["shopMoney"]["currencyCode"],
                } },
                "total_tax": shop(&l["totalTaxSet"]),
                "total_tax_set": { "shop_money": { "amount": shop(&l["totalTaxSet"]) } },
                "line_item": { "name": item["name"], "title": item["title"], "sku": item["sku"],
                    "tax_lines": taxes },
            })
        })
        .collect();
    // `REFUND`, `SUCCESS`: REST's spelling is lower case. The shop's money, as the order's.
    let lower = |v: &Value| v.as_str().map(str::to_ascii_lowercase);
    let transactions: Vec<Value> = items(&r["transactions"])
        .map(|t| {
            json!({
                "kind": lower(&t["kind"]),
                "status": lower(&t["status"]),
                "amount": shop(&t["amountSet"]),
                "currency": t["amountSet"]["shopMoney"]["currencyCode"],
            })
        })
        .collect();
    let shipping: Vec<Value> = items(&r["refundShippingLines"])
        .map(|s| {
            json!({
                "subtotal_amount_set": { "shop_money": { "amount": shop(&s["subtotalAmountSet"]) } },
                "tax_amount_set": { "shop_money": { "amount": shop(&s["taxAmountSet"]) } },
            })
        })
        .collect();
    json!({
        "id": id,
        "created_at": r["createdAt"],
        "refund_line_items": lines,
        "transactions": transactions,
        "refund_shipping_lines": shipping,
    })
}

/// Sets `rest["refunds"]` of the order node `node` (its REST order `rest`) with its newest
/// refund whole; `Ok(Err(why))` when that cannot be had.
pub(super) async fn complete(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    node: &Value,
    rest: &mut Value,
) -> Result<Result<(), String>, ApiError> {
    if items(&node["refunds"]).next().is_none() {
        return Ok(Ok(()));
    }
    let all;
    let list = if items(&node["refunds"]).count() < LISTED_REFUNDS {
        &node["refunds"]
    } else {
        let vars = json!({ "id": node["id"] });
        all = graphql(client, api, url, &refunds_query(), vars).await?;
        &all["data"]["order"]["refunds"]
    };
    if items(list).count() >= ALL_REFUNDS {
        return Ok(Err(format!(
            "{ALL_REFUNDS} refunds or more: the newest cannot be told"
        )));
    }
    let refunds = oldest_first(list);
    let Some(newest) = refunds.last() else {
        return Ok(Err("its refunds were not listed again".into()));
    };
    let gid = match (newest["id"].as_str(), rest_id(newest)) {
        (Some(gid), _) => gid.to_owned(),
        (None, Some(id)) => format!("gid://shopify/Refund/{id}"),
        (None, None) => return Ok(Err("a refund without an id".into())),
    };
    let whole = match detail(client, api, url, &gid).await? {
        Ok(whole) => whole,
        Err(why) => return Ok(Err(why)),
    };
    let mut list: Vec<Value> = refunds.iter().copied().map(rest_refund).collect();
    if let Some(last) = list.last_mut() {
        *last = rest_refund(&whole);
    }
    rest["refunds"] = list.into();
    Ok(Ok(()))
}

/// Refund `gid` whole, every line; `Ok(Err(why))` when Shopify does not give it whole.
async fn detail(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    gid: &str,
) -> Result<Result<Value, String>, ApiError> {
    let mut body = graphql(client, api, url, &refund_query(), json!({ "id": gid })).await?;
    let mut refund = body["data"]["refund"].take();
    if !refund.is_object() {
        return Ok(Err(format!("Shopify did not give refund {gid}")));
    }
    for (connection, most) in [
        ("transactions", REFUND_TRANSACTIONS),
        ("refundShippingLines", REFUND_SHIPPING),
    ] {
        if refund[connection]["pageInfo"]["hasNextPage"] == true {
            return Ok(Err(format!(
                "its newest refund has more than {most} {connection}"
            )));
        }
    }
    let lines = &refund["refundLineItems"]["pageInfo"];
    if lines["hasNextPage"] == true {
        let after = lines["endCursor"].as_str().unwrap_or_default().to_owned();
        let more = more_nodes(client, api, url, &refund_lines_query(), gid, &after, |d| {
            &d["refund"]["refundLineItems"]
        })
        .await?;
        let Some(more) = more else {
            return Ok(Err(format!(
                "its newest refund has more than {MAX_LINES} lines"
            )));
        };
        let mut nodes: Vec<Value> = items(&refund["refundLineItems"]).cloned().collect();
        nodes.extend(more);
        refund["refundLineItems"] = json!({ "nodes": nodes });
    }
    Ok(Ok(refund))
}
