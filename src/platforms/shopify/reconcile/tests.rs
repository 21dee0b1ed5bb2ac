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
