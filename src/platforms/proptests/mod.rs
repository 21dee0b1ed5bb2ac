//! Property tests of everything a webhook sender controls (issue 16, item 8): every platform's
//! `verify`, `parse` and `parse_order`, the signature-header parsers, and BigCommerce's API
//! order reader, fed arbitrary bytes, arbitrary JSON trees and the test fixtures with arbitrary
//! values put into them (huge, negative and fractional numbers, strings where numbers go,
//! deep nesting, long strings, unicode, NUL). None may panic, and a body is answered with an
//! event, "ignored" or a `ParseError` (a 400): never a 5xx. A correctly signed arbitrary body
//! goes the whole verify → parse path, so parsing is reached behind a real signature.
//!
//! Each property runs [`CASES`] cases (`PROPTEST_CASES` overrides it for a longer run). A
//! failure is shrunk to a minimal input and saved under `proptest-regressions/` (kept out of git
//! unless it documents a fixed bug).
//!
//! The inputs: hand-written JSON and its mutations (`json`), the fixtures with values put into
//! them (`fixtures`), headers, secrets and signature headers (`inputs`); what every result must
//! be and the signed verify → parse round (`checks`). The properties: of verification and
//! parsing (`parsing`), of each signature-header parser (`signatures`), of money formatting
//! (`money`).

mod checks;
mod fixtures;
mod inputs;
mod json;
mod money;
mod parsing;
mod signatures;

use proptest::prelude::*;

/// Cases per property: the whole module stays within a few seconds of `cargo test`.
const CASES: u32 = 256;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(CASES),
        // Shrinking a deep tree can take many steps; a failure still shrinks well within this.
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    }
}

/// Topics and event names the platforms act on, so arbitrary headers and values reach past
/// the topic checks.
const TOPICS: &[&str] = &[
    "order.created",
    "order.updated",
    "order.paid",
    "order.fulfilled",
    "order.cancelled",
    "order.refunded",
    "invoice.created",
    "invoice.paid",
    "invoice.finalized",
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/fulfilled",
    "orders/cancelled",
    "refunds/create",
    "checkout.order.placed",
    "state_enter.order_transaction.state.paid",
    "state_enter.order_delivery.state.shipped",
    "state_enter.order.state.cancelled",
    "state_enter.order_transaction.state.refunded",
    "store/order/created",
    "store/order/statusUpdated",
];
