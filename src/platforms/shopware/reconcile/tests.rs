use super::*;

fn fixture_order(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/real/shopware/{name}.body",
        env!("CARGO_MANIFEST_DIR")
    );
    let body: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    body["data"]["payload"]["order"].clone()
}

fn set_state(v: &mut Value, state: &str) {
    v["stateMachineState"] = json!({ "technicalName": state });
}

#[test]
fn the_cursor_says_listing_page_and_newest_creation() {
    assert_eq!(Cursor::parse(None).unwrap(), Cursor::FIRST);
    let c = Cursor {
        unchanged: false,
        page: 3,
        newest_created: Some(1_764_064_800_123),
        limit: 32,
    };
    assert_eq!(c.text(), "b:3:1764064800123:32");
    assert_eq!(Cursor::parse(Some(&c.text())).unwrap(), c);
    assert_eq!(Cursor::parse(Some("a:2:")).unwrap().newest_created, None);
    assert_eq!(Cursor::parse(Some("a:2:")).unwrap().limit, PER_PAGE);
    for bad in [
        "", "c:1:", "a:0:", "a:x:", "b:1:y", "a:1::0", "a:1::3", "a:1::128",
    ] {
        assert!(
            matches!(Cursor::parse(Some(bad)), Err(ApiError::Permanent(_))),
            "{bad}"
        );
    }
}

#[test]
fn a_page_asked_again_half_as_long_starts_at_the_same_order() {
    let third = Cursor {
        page: 3,
        ..Cursor::FIRST
    };
    let half = third.halved().unwrap();
    assert_eq!((half.page, half.limit), (5, PER_PAGE / 2));
    assert_eq!((half.page - 1) * half.limit, (third.page - 1) * third.limit);
    let mut c = Cursor::FIRST;
    while let Some(h) = c.halved() {
        c = h;
    }
    assert_eq!((c.page, c.limit), (1, 1));
}

#[test]
fn times_are_sent_as_shopware_stores_them() {
    assert_eq!(storage_time(1_764_064_800_007), "2025-11-25 10:00:00.007");
    let first = criteria(1_764_064_800_000, &Cursor::FIRST);
    assert_eq!(first["filter"][0]["field"], "updatedAt");
    assert_eq!(first["filter"][0]["value"], Value::Null);
    assert_eq!(
        first["filter"][1]["parameters"]["gte"],
        "2025-11-25 10:00:00.000"
    );
    assert_eq!(first["sort"][0]["field"], "createdAt");
    let updated = criteria(
        0,
        &Cursor {
            unchanged: false,
            page: 2,
            ..Cursor::FIRST
        },
    );
    assert_eq!(updated["filter"][0]["field"], "updatedAt");
    assert_eq!(updated["sort"][0]["field"], "updatedAt");
    assert_eq!(
        (updated["page"].as_u64(), updated["limit"].as_u64()),
        (Some(2), Some(PER_PAGE))
    );
    assert_eq!(updated["total-count-mode"], 1);
    for association in [
        "orderCustomer",
        "lineItems",
        "transactions",
        "deliveries",
        "billingAddress",
        "currency",
        "language",
    ] {
        assert!(
            updated["associations"][association].is_object(),
            "{association}"
        );
    }
}

/// What Shopware answers with `includes`: objects of a named `apiAlias` keep only the
/// fields named.
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

#[test]
fn the_fields_asked_for_are_all_the_adapter_reads() {
    for name in ["appsdk_order_10077_placed", "appsdk_order_refunded"] {
        let whole = fixture_order(name);
        let trimmed = included(&whole, &includes());
        let size = |v: &Value| serde_json::to_vec(v).unwrap().len();
        assert!(
            size(&trimmed) < 6000 && size(&trimmed) < size(&whole),
            "{name}: {}",
            size(&trimmed)
        );
        let parse = |v: &Value| {
            Shopware
                .parse_order(&serde_json::to_vec(v).unwrap())
                .unwrap()
        };
        assert_eq!(parse(&trimmed), parse(&whole), "{name}");
        assert_eq!(event_name(&trimmed, 0), event_name(&whole, 0));
        assert_eq!(changed_at(&trimmed), changed_at(&whole));
    }
}

#[test]
fn the_event_is_the_one_the_orders_state_stands_for() {
    let placed = fixture_order("appsdk_order_10077_placed");
    let created = parse_datetime_ms("2023-05-04T13:36:26.557+00:00").unwrap();
    assert_eq!(event_name(&placed, created), Some("checkout.order.placed"));
    // Placed before the window, still open and unpaid: nothing to say.
    assert_eq!(event_name(&placed, created + 1), None);
    let mut paid = placed.clone();
    set_state(&mut paid["transactions"][0], "paid");
    assert_eq!(
        event_name(&paid, created + 1),
        Some("state_enter.order_transaction.state.paid")
    );
    let mut shipped = paid.clone();
    set_state(&mut shipped["deliveries"][0], "shipped");
    assert_eq!(
        event_name(&shipped, 0),
        Some("state_enter.order_delivery.state.shipped")
    );
    let mut refunded = placed.clone();
    set_state(&mut refunded["transactions"][0], "refunded");
    assert_eq!(
        event_name(&refunded, 0),
        Some("state_enter.order_transaction.state.refunded")
    );
    let mut cancelled = shipped.clone();
    set_state(&mut cancelled, "cancelled");
    assert_eq!(
        event_name(&cancelled, 0),
        Some("state_enter.order.state.cancelled")
    );
}

#[test]
fn a_listed_order_becomes_the_webhooks_event() {
    use crate::order::EventKind::*;
    let mut order = fixture_order("appsdk_order_10077_placed");
    let created = parse_datetime_ms("2023-05-04T13:36:26.566+00:00").unwrap();
    let mut page = Page::default();
    take(&order, changed_at(&order), created - 1000, &mut page);
    assert_eq!(page.found.len(), 1, "{:?}", page.skipped);
    let found = &page.found[0];
    assert_eq!(found.changed_at, created, "createdAt when never updated");
    assert_eq!(found.event.kinds, [OrderCreated]);
    assert_eq!(found.event.order.number, "10077");
    assert_eq!(found.event.order.total.to_string(), "395.01");
    // Paid since, and updated: a placement in the window is created and paid.
    set_state(&mut order["transactions"][0], "paid");
    order["updatedAt"] = json!("2023-05-05T08:00:00.000+00:00");
    let mut page = Page::default();
    take(&order, changed_at(&order), created - 1000, &mut page);
    assert_eq!(page.found[0].event.kinds, [OrderCreated, OrderPaid]);
    assert_eq!(
        page.found[0].changed_at,
        parse_datetime_ms("2023-05-05T08:00:00Z").unwrap()
    );
    let mut page = Page::default();
    take(&order, changed_at(&order), created + 1000, &mut page);
    assert_eq!(page.found[0].event.kinds, [OrderPaid]);
    // Unreadable or stateless: skipped with why, never a panic.
    let mut page = Page::default();
    take(&json!({"id": "x"}), None, 0, &mut page);
    take(
        &json!({"id": 5, "createdAt": "2023-05-04T13:36:26Z"}),
        Some(1),
        i64::MAX / 2,
        &mut page,
    );
    // Placed in the window but its id unreadable: the parse's own refusal.
    take(
        &json!({"id": {}, "createdAt": "2023-05-04T13:36:26Z"}),
        Some(1),
        0,
        &mut page,
    );
    assert_eq!(page.found.len(), 0);
    assert_eq!(page.skipped.len(), 3, "{:?}", page.skipped);
}
