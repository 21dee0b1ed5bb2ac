use super::*;

#[test]
fn the_search_compares_whole_seconds_rounded_down() {
    assert_eq!(
        search(1_764_064_800_999),
        "updated_at:>='2025-11-25T10:00:00Z'"
    );
    assert_eq!(search(1_764_064_800_000), search(1_764_064_800_500));
}

#[test]
fn the_query_asks_what_the_adapter_reads_within_shopifys_cost_limit() {
    let q = orders_query();
    for field in [
        "sortKey: UPDATED_AT",
        "after: $cursor",
        "query: $query",
        "hasNextPage endCursor",
        "legacyResourceId",
        "displayFinancialStatus",
        "displayFulfillmentStatus",
        "customerLocale",
        "paymentGatewayNames",
        "countryCodeV2",
        "originalUnitPriceSet",
        "taxLines",
        "totalShippingPriceSet",
    ] {
        assert!(q.contains(field), "{field}");
    }
}

#[test]
fn throttling_is_transient_with_the_wait_the_cost_implies() {
    let body = json!({
        "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }],
        "extensions": { "cost": { "requestedQueryCost": 752,
            "throttleStatus": { "maximumAvailable": 1000.0, "currentlyAvailable": 552, "restoreRate": 50.0 } } }
    });
    match errors(&body) {
        Err(ApiError::Transient { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(4)));
        }
        other => panic!("{other:?}"),
    }
    // A budget already refilled, or no cost extension: still at least a second.
    let bare =
        json!({ "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }] });
    match errors(&bare) {
        Err(ApiError::Transient { retry_after, .. }) => {
            assert_eq!(retry_after, Some(MIN_THROTTLE_WAIT));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_errors_are_permanent_and_a_missing_scope_names_it() {
    let denied = json!({ "errors": [{
        "message": "Access denied for orders field. Required access: `read_orders` access scope.",
        "extensions": { "code": "ACCESS_DENIED" } }] });
    let Err(ApiError::Permanent(text)) = errors(&denied) else {
        panic!("not permanent");
    };
    assert!(text.contains("read_orders scope"), "{text}");
    let other = json!({ "errors": [{ "message": "Field 'nope' doesn't exist on type 'Order'" }] });
    let Err(ApiError::Permanent(text)) = errors(&other) else {
        panic!("not permanent");
    };
    assert!(text.contains("doesn't exist"), "{text}");
    assert!(errors(&json!({ "data": {}, "errors": [] })).is_ok());
    assert!(errors(&json!({ "data": {} })).is_ok());
}

#[test]
fn a_page_that_leaves_too_little_budget_waits_before_the_next() {
    let cost = |available: f64| {
        json!({ "extensions": { "cost": { "requestedQueryCost": 900,
            "throttleStatus": { "currentlyAvailable": available, "restoreRate": 100.0 } } } })
    };
    assert_eq!(budget_wait(&cost(1000.0)), None);
    assert_eq!(budget_wait(&cost(650.0)), Some(Duration::from_secs(3)));
    assert_eq!(budget_wait(&json!({})), None);
    let zero_rate = json!({ "extensions": { "cost": { "requestedQueryCost": 10,
        "throttleStatus": { "currentlyAvailable": 0, "restoreRate": 0 } } } });
    assert_eq!(budget_wait(&zero_rate), None);
}

#[test]
fn our_subscription_is_found_by_its_callback_path() {
    let subs = |urls: &[(&str, &str)]| {
        let edges: Vec<Value> = urls
            .iter()
            .map(|(topic, url)| {
                json!({ "node": { "id": "gid://shopify/WebhookSubscription/1", "topic": topic,
                "endpoint": { "__typename": "WebhookHttpEndpoint", "callbackUrl": url } } })
            })
            .collect();
        json!({ "edges": edges })
    };
    let ok = judge(
        &subs(&[
            ("ORDERS_PAID", "https://hooks.example/webhooks/atlas"),
            ("ORDERS_CREATE", "https://hooks.example/webhooks/atlas"),
            ("ORDERS_CREATE", "https://other.example/webhooks/someone"),
        ]),
        "atlas",
    );
    assert!(ok.ok);
    assert_eq!(
        ok.detail,
        "Shopify delivers orders/create, orders/paid to …/webhooks/atlas"
    );
    let missing = judge(
        &subs(&[("ORDERS_CREATE", "https://other.example/webhooks/someone")]),
        "atlas",
    );
    assert!(!missing.ok);
    assert!(
        missing.detail.contains("re-create it"),
        "{}",
        missing.detail
    );
    assert!(missing.detail.contains("/webhooks/atlas"));
    assert!(!judge(&json!(null), "atlas").ok);
    assert_eq!(topic_name("APP_UNINSTALLED"), "app/uninstalled");
    assert_eq!(topic_name("REFUNDS_CREATE"), "refunds/create");
}

#[test]
fn the_order_queries_share_their_fields_and_name_each_refund() {
    let (listing, one) = (orders_query(), query::order_query());
    let fields = one
        .strip_prefix("query($id: ID!) { order(id: $id) { ")
        .and_then(|f| f.strip_suffix(" } }"))
        .unwrap();
    assert!(listing.contains(fields), "{listing}");
    assert!(fields.contains("refunds(first: 10) { id legacyResourceId createdAt }"));
    let refund = query::refund_query();
    for field in [
        "refund(id: $id)",
        "legacyResourceId",
        "refundLineItems(first: 25) { pageInfo { hasNextPage endCursor }",
        "quantity subtotalSet { shopMoney { amount currencyCode } }",
        "totalTaxSet { shopMoney { amount } }",
        "lineItem { name title sku taxLines { title rate priceSet { shopMoney { amount } } } }",
        "transactions(first: 10)",
        "kind status amountSet { shopMoney { amount currencyCode } }",
        "refundShippingLines(first: 10)",
        "subtotalAmountSet { shopMoney { amount } } taxAmountSet { shopMoney { amount } }",
    ] {
        assert!(refund.contains(field), "{field}: {refund}");
    }
}

/// A refund node whole, as `refund(id:)` gives it: one line of `quantity` × 10.00 (GST 10 %)
/// and shipping 5.00 (tax 0.50) given back.
fn refund_node(id: u64, created: &str, quantity: u32, amount: &str) -> Value {
    let money = |a: &str| json!({ "shopMoney": { "amount": a, "currencyCode": "AUD" } });
    json!({
        "id": format!("gid://shopify/Refund/{id}"),
        "legacyResourceId": id.to_string(),
        "createdAt": created,
        "refundLineItems": { "pageInfo": { "hasNextPage": false }, "nodes": [{
            "quantity": quantity,
            "subtotalSet": money(&format!("{}.00", 10 * quantity)),
            "totalTaxSet": money(&format!("{}.00", quantity)),
            "lineItem": { "name": "Pen - Fine", "title": "Pen", "sku": "PEN-F",
                "taxLines": [{ "title": "GST", "rate": 0.1, "priceSet": money("1.00") }] } }] },
        "transactions": { "pageInfo": { "hasNextPage": false }, "nodes": [
            { "kind": "REFUND", "status": "SUCCESS", "amountSet": money(amount) },
            { "kind": "REFUND", "status": "FAILURE", "amountSet": money("99.00") } ] },
        "refundShippingLines": { "pageInfo": { "hasNextPage": false }, "nodes": [
            { "subtotalAmountSet": money("5.00"), "taxAmountSet": money("0.50") } ] },
    })
}

fn refunded_node(refunds: Vec<Value>) -> Value {
    let money = |a: &str| json!({ "shopMoney": { "amount": a, "currencyCode": "AUD" } });
    json!({
        "id": "gid://shopify/Order/5001", "legacyResourceId": "5001", "name": "#1040",
        "createdAt": "2026-11-20T10:00:00Z", "updatedAt": "2026-11-25T10:00:00Z",
        "displayFinancialStatus": "PARTIALLY_REFUNDED", "displayFulfillmentStatus": "FULFILLED",
        "currencyCode": "AUD", "taxesIncluded": false,
        "customer": { "firstName": "Ryan", "phone": "+61412345678" },
        "subtotalPriceSet": money("30.00"), "totalPriceSet": money("33.00"),
        "totalTaxSet": money("3.00"),
        "lineItems": { "pageInfo": { "hasNextPage": false }, "nodes": [{ "name": "Pen - Fine",
            "title": "Pen", "sku": "PEN-F", "quantity": 3,
            "originalUnitPriceSet": { "shopMoney": { "amount": "10.00" } } }] },
        "refunds": refunds,
    })
}

#[test]
fn an_orders_refunds_come_oldest_first_and_its_event_is_the_newest() {
    // Listed newest first: the order Shopify gives is not relied on.
    let node = refunded_node(vec![
        refund_node(902, "2026-11-25T09:59:00Z", 2, "25.50"),
        refund_node(901, "2026-11-21T08:00:00Z", 1, "11.00"),
    ]);
    let rest = convert::rest_order(&node).unwrap();
    let refunds = rest["refunds"].as_array().unwrap();
    let ids: Vec<&Value> = refunds.iter().map(|r| &r["id"]).collect();
    assert_eq!(
        ids,
        [&json!(901u64), &json!(902u64)],
        "legacy ids, oldest first"
    );
    let newest = &refunds[1];
    assert_eq!(newest["created_at"], "2026-11-25T09:59:00Z");
    assert_eq!(newest["transactions"][0]["kind"], "refund");
    assert_eq!(newest["transactions"][0]["status"], "success");
    assert_eq!(newest["transactions"][1]["status"], "failure");
    assert_eq!(newest["transactions"][0]["currency"], "AUD");
    let line = &newest["refund_line_items"][0];
    assert_eq!(line["subtotal_set"]["shop_money"]["amount"], "20.00");
    assert_eq!(line["line_item"]["tax_lines"][0]["price"], "1.00");
    let shipping = &newest["refund_shipping_lines"][0];
    assert_eq!(shipping["tax_amount_set"]["shop_money"]["amount"], "0.50");

    let headers = Headers::new([(TOPIC[0].to_owned(), "orders/updated".to_owned())]);
    let body = serde_json::to_vec(&rest).unwrap();
    let Parsed::Event(event) = Shopify.parse(&headers, &body).unwrap() else {
        panic!("no event");
    };
    assert!(
        event
            .kinds
            .contains(&crate::order::EventKind::OrderRefunded),
        "{:?}",
        event.kinds
    );
    let refund = event.order.refund.as_ref().expect("the newest refund");
    assert_eq!(refund.id, "902");
    assert_eq!(
        refund.amount.map(|a| a.to_string()).as_deref(),
        Some("25.50")
    );
    assert_eq!(refund.lines.len(), 1);
    assert_eq!(refund.lines[0].total.to_string(), "20.00");
    assert_eq!(refund.shipping.to_string(), "5.00");
    assert_eq!(refund.tax.to_string(), "2.50");
    // Created before the window, or shipped: what it became. New and open: its creation too.
    let created = parse_datetime_ms("2026-11-20T10:00:00Z");
    let since = created.unwrap();
    assert_eq!(convert::topics(&rest, created, since), ["orders/updated"]);
    let mut open = rest.clone();
    open["fulfillment_status"] = Value::Null;
    assert_eq!(
        convert::topics(&open, created, since + 1),
        ["orders/updated"]
    );
    assert_eq!(
        convert::topics(&open, created, since),
        ["orders/create", "orders/paid", "orders/updated"]
    );
}

#[test]
fn a_refund_named_only_converts_to_its_id_and_time() {
    let named = json!({ "id": "gid://shopify/Refund/77", "createdAt": "2026-11-21T08:00:00Z" });
    let rest = refunds::rest_refund(&named);
    assert_eq!(rest["id"], json!(77u64), "the number ending the gid");
    assert_eq!(rest["refund_line_items"], json!([]));
    assert_eq!(rest["transactions"], json!([]));
    let no_refunds = convert::rest_order(&refunded_node(Vec::new())).unwrap();
    assert_eq!(no_refunds["refunds"], json!([]));
}
