//! The platform parsers and the canonical order, compiled from shopbip's own sources (the
//! modules depend on nothing else of the crate once built with `--cfg fuzzing`, which leaves
//! out the platforms' API calls and profile sections), plus what each fuzz target runs.

#[path = "../../src/order.rs"]
pub mod order;
#[path = "../../src/platforms/mod.rs"]
pub mod platforms;

use platforms::{Headers, Parsed, Platform};

pub const PLATFORMS: [Platform; Platform::ALL.len()] = Platform::ALL;

/// What the webhook handler and the worker do with a verified body, none of which may panic.
pub fn parse_all(platform: Platform, headers: &Headers, body: &[u8]) {
    let adapter = platform.adapter();
    if let Ok(Parsed::Event(event)) = adapter.parse(headers, body) {
        assert!(!event.kinds.is_empty());
        check_order(&event.order);
    }
    if let Ok(order) = adapter.parse_order(body) {
        check_order(&order);
    }
    let _ = adapter.invoice_number(body, &["_wcpdf_invoice_number".to_owned()]);
}

fn check_order(order: &order::Order) {
    let _ = order.check_amounts();
    let _ = order.reconcile();
    for amount in [order.subtotal, order.total, order.tax_total] {
        let _ = order::format_money(amount, &order.currency);
    }
    let stored = serde_json::to_string(order).expect("an order serialises");
    let back: order::Order = serde_json::from_str(&stored).expect("a stored order reads back");
    assert_eq!(&back, order);
}
