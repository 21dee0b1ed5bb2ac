//! A GraphQL order node turned back into the REST order its webhooks carry (only the fields
//! `payload.rs` reads), so the sweep's order goes through the webhook's own parse.

use serde_json::{Map, Value, json};

use super::refunds::rest_refunds;

/// The REST/webhook shape of `node`; `Err` says why it cannot be (no id).
pub fn rest_order(node: &Value) -> Result<Value, String> {
    let id = rest_id(node).ok_or("an order without an id")?;
    let mut o = Map::new();
    // A number, as webhooks send it (the id is a 64-bit integer there).
    o.insert(
        "id".into(),
        id.parse::<u64>()
            .map(Value::from)
            .unwrap_or(Value::from(id)),
    );
    for (rest, gql) in [
        ("name", "name"),
        ("email", "email"),
        ("phone", "phone"),
        ("created_at", "createdAt"),
        ("updated_at", "updatedAt"),
        ("processed_at", "processedAt"),
        ("cancelled_at", "cancelledAt"),
        ("currency", "currencyCode"),
        ("presentment_currency", "presentmentCurrencyCode"),
        ("customer_locale", "customerLocale"),
        ("taxes_included", "taxesIncluded"),
        ("payment_gateway_names", "paymentGatewayNames"),
    ] {
        put(&mut o, rest, &node[gql]);
    }
    // `PAID` → `paid`, `PARTIALLY_REFUNDED` → `partially_refunded`: REST's spelling.
    if let Some(status) = node["displayFinancialStatus"].as_str() {
        o.insert(
            "financial_status".into(),
            status.to_ascii_lowercase().into(),
        );
    }
    if let Some(status) = fulfillment_status(&node["displayFulfillmentStatus"]) {
        o.insert("fulfillment_status".into(), status.into());
    }
    for (rest, gql) in [
        ("subtotal_price", "subtotalPriceSet"),
        ("total_price", "totalPriceSet"),
        ("total_discounts", "totalDiscountsSet"),
        ("total_tax", "totalTaxSet"),
    ] {
        put(&mut o, rest, &node[gql]["shopMoney"]["amount"]);
    }
    let shipping = &node["totalShippingPriceSet"]["shopMoney"];
    if shipping.is_object() {
        o.insert(
            "total_shipping_price_set".into(),
            json!({ "shop_money": {
                "amount": shipping["amount"],
                "currency_code": shipping["currencyCode"],
            } }),
        );
    }
    let customer = &node["customer"];
    if customer.is_object() {
        o.insert(
            "customer".into(),
            json!({
                "first_name": customer["firstName"],
                "last_name": customer["lastName"],
                "email": customer["email"],
                "phone": customer["phone"],
            }),
        );
    }
    for (rest, gql) in [
        ("billing_address", "billingAddress"),
        ("shipping_address", "shippingAddress"),
    ] {
        if node[gql].is_object() {
            o.insert(rest.into(), address(&node[gql]));
        }
    }
    let taxes: Vec<Value> = items(&node["taxLines"])
        .map(|t| {
            json!({
                "title": t["title"],
                "rate": t["rate"],
                "price": t["priceSet"]["shopMoney"]["amount"],
            })
        })
        .collect();
    o.insert("tax_lines".into(), taxes.into());
    let lines: Vec<Value> = items(&node["lineItems"]).map(line).collect();
    o.insert("line_items".into(), lines.into());
    o.insert("refunds".into(), rest_refunds(&node["refunds"]).into());
    Ok(Value::Object(o))
}

/// One line item node in REST's shape: the unit price before discounts, as REST's `price`.
pub fn line(l: &Value) -> Value {
    json!({
        "name": l["name"],
        "title": l["title"],
        "sku": l["sku"],
        "quantity": l["quantity"],
        "price": l["originalUnitPriceSet"]["shopMoney"]["amount"],
    })
}

/// `legacyResourceId`, else the number ending the GraphQL id (`gid://shopify/Order/123`).
pub fn rest_id(node: &Value) -> Option<String> {
    let legacy = match &node["legacyResourceId"] {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    legacy.filter(|s| !s.is_empty()).or_else(|| {
        let gid = node["id"].as_str()?;
        let tail = gid.rsplit('/').next()?;
        // `gid://shopify/Order/123?key=…` is not seen on orders, but nothing after the number
        // belongs to the id.
        let tail = tail.split('?').next()?;
        (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit())).then(|| tail.to_owned())
    })
}

/// The webhook's `fulfillment_status`: `fulfilled`, `partial`, `restocked` or none.
fn fulfillment_status(display: &Value) -> Option<&'static str> {
    Some(match display.as_str()? {
        "FULFILLED" => "fulfilled",
        "PARTIALLY_FULFILLED" => "partial",
        "RESTOCKED" => "restocked",
        _ => return None,
    })
}

fn address(a: &Value) -> Value {
    json!({
        "name": a["name"],
        "first_name": a["firstName"],
        "last_name": a["lastName"],
        "company": a["company"],
        "address1": a["address1"],
        "address2": a["address2"],
        "city": a["city"],
        "province_code": a["provinceCode"],
        "province": a["province"],
        "zip": a["zip"],
        "country_code": a["countryCodeV2"],
        "phone": a["phone"],
    })
}

/// The nodes of a connection (`{nodes: […]}` or `{edges: [{node}]}`) or the items of a list.
pub fn items(v: &Value) -> impl Iterator<Item = &Value> {
    let list = match v {
        Value::Array(a) => a.as_slice(),
        Value::Object(_) => v["nodes"]
            .as_array()
            .or_else(|| v["edges"].as_array())
            .map(Vec::as_slice)
            .unwrap_or_default(),
        _ => &[],
    };
    list.iter().map(|item| {
        if item["node"].is_object() {
            &item["node"]
        } else {
            item
        }
    })
}

fn put(o: &mut Map<String, Value>, key: &str, value: &Value) {
    if !value.is_null() {
        o.insert(key.into(), value.clone());
    }
}

/// The topic whose webhook the order's state stands for. An order created since the sweep's
/// start, neither cancelled, refunded nor fulfilled, is the `orders/create` its webhook would
/// have been (`order.created`, and `order.paid` when already paid): under `orders/updated` an
/// unpaid order (cash on delivery) means nothing, and a lost creation webhook would never be
/// recovered. Older orders are what they became (`orders/updated`), so an order made before
/// the window and edited in it is not announced as new.
fn topic(rest: &Value, created_ms: Option<i64>, since: i64) -> &'static str {
    let closed = !rest["cancelled_at"].is_null()
        || rest["financial_status"] == "refunded"
        || rest["fulfillment_status"] == "fulfilled";
    if !closed && created_ms.is_some_and(|c| c >= since) {
        "orders/create"
    } else {
        "orders/updated"
    }
}

/// The topics whose webhooks the order's state stands for: [`topic`]'s; for a new order
/// already partly refunded, also `orders/paid` (it was paid: `orders/create` of a
/// `partially_refunded` order does not say so) and `orders/updated` (its refund). Each is
/// stored and deduplicated on its own, as those webhooks would have been.
pub fn topics(rest: &Value, created_ms: Option<i64>, since: i64) -> Vec<&'static str> {
    let first = topic(rest, created_ms, since);
    let refunded = rest["financial_status"] == "partially_refunded"
        && rest["refunds"].as_array().is_some_and(|r| !r.is_empty());
    if first == "orders/create" && refunded {
        vec![first, "orders/paid", "orders/updated"]
    } else {
        vec![first]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::shopify::Shopify;
    use crate::platforms::{Headers, Parsed, WebhookPlatform};

    fn node() -> Value {
        json!({
            "id": "gid://shopify/Order/2998557704341",
            "legacyResourceId": "2998557704341",
            "name": "#1030",
            "email": "ryanpwaldon@gmail.com",
            "phone": null,
            "createdAt": "2020-12-26T21:23:58Z",
            "updatedAt": "2020-12-26T21:23:59Z",
            "processedAt": "2020-12-26T21:23:56Z",
            "cancelledAt": null,
            "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": "UNFULFILLED",
            "currencyCode": "AUD",
            "customerLocale": "en",
            "taxesIncluded": false,
            "paymentGatewayNames": ["shopify_payments"],
            "customer": { "firstName": "Ryan", "lastName": "Waldon", "email": null, "phone": "+61412345678" },
            "billingAddress": { "name": "Ryan Waldon", "firstName": "Ryan", "lastName": "Waldon",
                "address1": "306 / 39 London Circuit", "city": "Canberra", "zip": "2601",
                "provinceCode": "ACT", "countryCodeV2": "AU", "phone": null },
            "shippingAddress": null,
            "subtotalPriceSet": { "shopMoney": { "amount": "44.95", "currencyCode": "AUD" } },
            "totalPriceSet": { "shopMoney": { "amount": "59.45", "currencyCode": "AUD" } },
            "totalDiscountsSet": { "shopMoney": { "amount": "0.0", "currencyCode": "AUD" } },
            "totalTaxSet": { "shopMoney": { "amount": "4.5", "currencyCode": "AUD" } },
            "totalShippingPriceSet": { "shopMoney": { "amount": "10.0", "currencyCode": "AUD" } },
            "taxLines": [{ "title": "GST", "rate": 0.1, "priceSet": { "shopMoney": { "amount": "4.5" } } }],
            "lineItems": { "pageInfo": { "hasNextPage": false }, "nodes": [{
                "name": "Classic Fountain Pen - Fine / Bordeaux", "title": "Classic Fountain Pen",
                "sku": "", "quantity": 1,
                "originalUnitPriceSet": { "shopMoney": { "amount": "44.95" } } }] }
        })
    }

    #[test]
    fn a_node_becomes_the_order_its_webhook_would_have_carried() {
        let rest = rest_order(&node()).unwrap();
        assert_eq!(rest["id"], json!(2998557704341u64));
        assert_eq!(rest["financial_status"], "paid");
        assert!(rest.get("fulfillment_status").is_none());
        assert!(rest.get("shipping_address").is_none(), "null stays absent");
        let headers = Headers::new([("X-Shopify-Topic".to_owned(), "orders/updated".to_owned())]);
        let body = serde_json::to_vec(&rest).unwrap();
        let Parsed::Event(event) = Shopify.parse(&headers, &body).unwrap() else {
            panic!("no event");
        };
        let order = &event.order;
        assert_eq!(event.kinds, [crate::order::EventKind::OrderPaid]);
        assert_eq!(
            (order.id.as_str(), order.number.as_str()),
            ("2998557704341", "1030")
        );
        assert_eq!(order.name, "#1030");
        assert_eq!(order.currency, "AUD");
        assert_eq!(order.total.to_string(), "59.45");
        assert_eq!(order.subtotal.to_string(), "44.95");
        assert_eq!(order.shipping_total.to_string(), "10.0");
        assert_eq!(order.lines.len(), 1);
        assert_eq!(
            order.taxes[0].rate.map(|r| r.to_string()).as_deref(),
            Some("10")
        );
        assert_eq!(order.customer.phone.as_deref(), Some("+61412345678"));
        assert_eq!(
            order.billing.as_ref().and_then(|b| b.country.as_deref()),
            Some("AU")
        );
        assert_eq!(order.locale.as_deref(), Some("en"));
        assert!(order.payment.paid);
        assert_eq!(order.reconcile(), Ok(()));
    }

    #[test]
    fn the_rest_id_comes_from_the_legacy_id_or_the_gid() {
        assert_eq!(
            rest_id(&json!({"legacyResourceId": 12})).as_deref(),
            Some("12")
        );
        assert_eq!(
            rest_id(&json!({"id": "gid://shopify/Order/450789469"})).as_deref(),
            Some("450789469")
        );
        assert_eq!(rest_id(&json!({"id": "gid://shopify/Order/"})), None);
        assert_eq!(rest_id(&json!({"id": "gid://shopify/Order/x1"})), None);
        assert!(rest_order(&json!({"name": "#1"})).is_err());
    }

    #[test]
    fn a_new_open_order_is_a_creation_an_older_or_closed_one_what_it_became() {
        let since = 1_000;
        let open = json!({"financial_status": "pending"});
        assert_eq!(topic(&open, Some(1_000), since), "orders/create");
        assert_eq!(topic(&open, Some(999), since), "orders/updated");
        assert_eq!(topic(&open, None, since), "orders/updated");
        let cancelled = json!({"cancelled_at": "2026-11-25T10:00:00Z"});
        assert_eq!(topic(&cancelled, Some(2_000), since), "orders/updated");
        let shipped = json!({"fulfillment_status": "fulfilled"});
        assert_eq!(topic(&shipped, Some(2_000), since), "orders/updated");
        let partly = json!({"financial_status": "partially_refunded", "refunds": [{"id": 1}]});
        assert_eq!(
            topics(&partly, Some(2_000), since),
            ["orders/create", "orders/paid", "orders/updated"]
        );
        assert_eq!(topics(&partly, Some(999), since), ["orders/updated"]);
        let status = |s| fulfillment_status(&json!(s));
        assert_eq!(status("FULFILLED"), Some("fulfilled"));
        assert_eq!(status("PARTIALLY_FULFILLED"), Some("partial"));
        assert_eq!(status("UNFULFILLED"), None);
    }
}
