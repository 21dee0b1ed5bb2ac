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

use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;

use super::signature::{self, unix_now};
use super::standard_webhooks::{self as sw, KeyForm, Signed};
use super::{
    Headers, ParseError, Parsed, Platform, Verified, VerifyError, bigcommerce, shopify, shopware,
    stripe, woocommerce,
};
use crate::order::Order;

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

const PLATFORMS: [Platform; Platform::ALL.len()] = Platform::ALL;

/// Every header any platform reads.
const HEADER_NAMES: [&str; 15] = [
    woocommerce::SIGNATURE,
    woocommerce::TOPIC,
    woocommerce::WEBHOOK_ID,
    shopify::SIGNATURE[0],
    shopify::SIGNATURE[1],
    shopify::TOPIC[0],
    shopify::TOPIC[1],
    shopify::WEBHOOK_ID[0],
    stripe::SIGNATURE,
    sw::ID,
    sw::TIMESTAMP,
    sw::SIGNATURE,
    shopware::SIGNATURE,
    shopware::EVENT_ID,
    "content-type",
];

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

/// Numbers at the edges: of `Decimal` (±7.9e28, 28 fractional digits), of `i64`/`u64`, of `f64`
/// (and past it), the 10^15 limit on amounts, signed zero and exponents.
const EDGE_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "1",
    "-1",
    "1.5",
    "0.005",
    "-0.005",
    "1e30",
    "-1e30",
    "1E+30",
    "1e15",
    "999999999999999.99",
    "1000000000000000",
    "1e28",
    "7.9e28",
    "79228162514264337593543950335",
    "79228162514264337593543950336",
    "-79228162514264337593543950336",
    "0.0000000000000000000000000001",
    "0.00000000000000000000000000001",
    "1.00000000000000000000000000001",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "1e308",
    "1.7976931348623157e308",
    "5e-324",
    "1e-400",
];

/// Texts that are not numbers but stand where numbers go, and other hostile strings.
const EDGE_TEXTS: &[&str] = &[
    "",
    " ",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1,000.00",
    "1.000,00",
    "12.50 EUR",
    "١٢٣",
    "0x10",
    "+5",
    " 5 ",
    "1e",
    "--1",
    ".",
    "-",
    "\0",
    "a\0b",
    "\u{202e}evil",
    "\u{feff}",
    "\r\n",
    "&#x10FFFF;&#0;&amp;ndash;&",
    "%00%0a",
    "null",
    "true",
    "TND",
    "KWD",
    "JPY",
    "XX",
    "2026-11-25T09:41:07Z",
    "0000-00-00T00:00:00Z",
];

// ---------------------------------------------------------------------------------------------
// JSON written by hand, so number tokens beyond what `serde_json::Value` holds (a 40-digit
// integer, `1e400`) and duplicate keys reach the parsers as a sender could write them.

#[derive(Debug, Clone)]
enum J {
    /// A token written as is: a number, `true`, `false`, `null`.
    Raw(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn from_value(v: &Value) -> J {
        match v {
            Value::String(s) => J::Str(s.clone()),
            Value::Array(a) => J::Arr(a.iter().map(J::from_value).collect()),
            Value::Object(o) => J::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), J::from_value(v)))
                    .collect(),
            ),
            other => J::Raw(other.to_string()),
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        let string = |s: &str| serde_json::to_string(s).expect("a string serialises");
        match self {
            J::Raw(t) => out.push_str(t),
            J::Str(s) => out.push_str(&string(s)),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&string(k));
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// Paths (child indexes) to every node, the root first.
    fn paths(&self) -> Vec<Vec<usize>> {
        fn walk(j: &J, here: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            out.push(here.clone());
            let children: Vec<&J> = match j {
                J::Arr(items) => items.iter().collect(),
                J::Obj(members) => members.iter().map(|(_, v)| v).collect(),
                _ => Vec::new(),
            };
            for (i, c) in children.into_iter().enumerate() {
                here.push(i);
                walk(c, here, out);
                here.pop();
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    fn at_mut(&mut self, path: &[usize]) -> &mut J {
        let Some((first, rest)) = path.split_first() else {
            return self;
        };
        match self {
            J::Arr(items) => items[*first].at_mut(rest),
            J::Obj(members) => members[*first].1.at_mut(rest),
            _ => unreachable!("paths only lead through containers"),
        }
    }

    /// Sets a top-level member (replacing every member of that name).
    fn set(&mut self, key: &str, value: J) {
        if let J::Obj(members) = self {
            members.retain(|(k, _)| k != key);
            members.push((key.to_owned(), value));
        }
    }
}

/// One change to a fixture.
#[derive(Debug, Clone)]
enum Mutation {
    /// The node becomes another value.
    Replace(Index, J),
    /// A member or item is taken out.
    Remove(Index),
    /// An object gains a member (the key may already be there: JSON with duplicate keys).
    Insert(Index, String, J),
    /// The node is wrapped, one level deeper.
    Wrap(Index),
}

fn apply(root: &mut J, m: &Mutation) {
    let paths = root.paths();
    let pick = |i: &Index| paths[i.index(paths.len())].as_slice();
    match m {
        Mutation::Replace(i, v) => *root.at_mut(pick(i)) = v.clone(),
        Mutation::Remove(i) => {
            let path = pick(i);
            if let Some((last, parent)) = path.split_last() {
                match root.at_mut(parent) {
                    J::Arr(items) => {
                        items.remove(*last);
                    }
                    J::Obj(members) => {
                        members.remove(*last);
                    }
                    _ => {}
                }
            }
        }
        Mutation::Insert(i, k, v) => {
            if let J::Obj(members) = root.at_mut(pick(i)) {
                members.push((k.clone(), v.clone()));
            }
        }
        Mutation::Wrap(i) => {
            let node = root.at_mut(pick(i));
            let inner = std::mem::replace(node, J::Raw("null".into()));
            *node = J::Arr(vec![inner]);
        }
    }
}

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(EDGE_NUMBERS).prop_map(str::to_owned),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(|n| n.to_string()),
        2 => "-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,40})?([eE][-+]?[0-9]{1,4})?",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => number_text(),
        3 => select(EDGE_TEXTS).prop_map(str::to_owned),
        2 => select(TOPICS).prop_map(str::to_owned),
        3 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f\u{202e}\u{200b}\u{fffd}a-zé٣😀&#;.]{0,24}",
        1 => (1usize..20_000, select(&["x", "é", "٣", "😀", "\0", "&ndash;"][..]))
            .prop_map(|(n, s)| s.repeat(n)),
    ]
}

/// Arrays and objects nested `depth` deep, past serde_json's recursion limit (128) too.
fn deep() -> impl Strategy<Value = J> {
    (1usize..300, any::<bool>()).prop_map(|(depth, arrays)| {
        let mut j = J::Raw("1e30".into());
        for _ in 0..depth {
            j = if arrays {
                J::Arr(vec![j])
            } else {
                J::Obj(vec![("total".into(), j)])
            };
        }
        j
    })
}

fn leaf() -> impl Strategy<Value = J> {
    prop_oneof![
        4 => number_text().prop_map(J::Raw),
        1 => select(&["null", "true", "false"][..]).prop_map(|t| J::Raw(t.into())),
        5 => text().prop_map(J::Str),
        1 => deep(),
    ]
}

/// Object keys: mostly ones the fixtures use, so arbitrary trees hit the fields parsers read.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(FIXTURE_KEYS.clone()),
        1 => any::<String>(),
    ]
}

fn tree() -> impl Strategy<Value = J> {
    leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(J::Arr),
            prop::collection::vec((key(), inner), 0..8).prop_map(J::Obj),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<Index>(), tree()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => any::<Index>().prop_map(Mutation::Remove),
        2 => (any::<Index>(), key(), tree()).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
        1 => any::<Index>().prop_map(Mutation::Wrap),
    ]
}

// ---------------------------------------------------------------------------------------------
// Fixtures: real-shaped bodies of every platform, with the topic header each is sent under.

struct Fixture {
    platform: Platform,
    /// The topic header (WooCommerce, Shopify); the others carry it in the body.
    topic: Option<&'static str>,
    body: &'static str,
}

macro_rules! fixture {
    ($platform:ident, $topic:expr, $path:literal) => {
        Fixture {
            platform: Platform::$platform,
            topic: $topic,
            body: include_str!(concat!("../../tests/fixtures/", $path)),
        }
    };
}

static FIXTURES: LazyLock<Vec<Fixture>> = LazyLock::new(|| {
    vec![
        fixture!(
            Woocommerce,
            Some("order.created"),
            "woocommerce/order-created-tnd.json"
        ),
        fixture!(
            Woocommerce,
            Some("order.updated"),
            "woocommerce/order-updated-paid-eur.json"
        ),
        fixture!(
            Woocommerce,
            Some("order.updated"),
            "woocommerce/order-updated-completed-tnd.json"
        ),
        fixture!(
            Woocommerce,
            Some("order.created"),
            "real/woocommerce/docs_order_727_created.body"
        ),
        fixture!(Shopify, Some("orders/paid"), "shopify/orders-paid-usd.json"),
        fixture!(
            Shopify,
            Some("orders/create"),
            "shopify/orders-create-mad.json"
        ),
        fixture!(
            Shopify,
            Some("refunds/create"),
            "shopify/refunds-create-mad.json"
        ),
        fixture!(
            Shopify,
            Some("orders/create"),
            "real/shopify/test_notification_orders_create_2024.body"
        ),
        fixture!(Stripe, None, "stripe/invoice-paid-eur.json"),
        fixture!(Stripe, None, "stripe/invoice-finalized-eur.json"),
        fixture!(Standard, None, "standard/order-paid-eur.json"),
        fixture!(Shopware, None, "shopware/checkout-order-placed-eur.json"),
        fixture!(Shopware, None, "shopware/order-transaction-paid-eur.json"),
        fixture!(Shopware, None, "real/shopware/appsdk_order_refunded.body"),
        fixture!(Bigcommerce, None, "bigcommerce/store-order-created.json"),
        fixture!(
            Bigcommerce,
            None,
            "bigcommerce/store-order-status-updated-paid.json"
        ),
        fixture!(Bigcommerce, None, "bigcommerce/api-order-250.json"),
    ]
});

static FIXTURE_TREES: LazyLock<Vec<J>> = LazyLock::new(|| {
    FIXTURES
        .iter()
        .map(|f| J::from_value(&serde_json::from_str(f.body).expect("fixtures are JSON")))
        .collect()
});

/// Every object key of every fixture.
static FIXTURE_KEYS: LazyLock<Vec<String>> = LazyLock::new(|| {
    fn walk(v: &Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(o) => o.iter().for_each(|(k, v)| {
                out.insert(k.clone());
                walk(v, out);
            }),
            _ => {}
        }
    }
    let mut keys = std::collections::BTreeSet::new();
    for f in FIXTURES.iter() {
        walk(&serde_json::from_str(f.body).unwrap(), &mut keys);
    }
    keys.into_iter().collect()
});

/// A fixture with 1–8 mutations: (index into [`FIXTURES`], the mutated body).
fn mutated_fixture() -> impl Strategy<Value = (usize, J)> {
    (0..FIXTURES.len(), prop::collection::vec(mutation(), 1..8)).prop_map(|(i, mutations)| {
        let mut j = FIXTURE_TREES[i].clone();
        for m in &mutations {
            apply(&mut j, m);
        }
        (i, j)
    })
}

// ---------------------------------------------------------------------------------------------
// Headers, secrets, signature headers.

fn b64(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), len).prop_map(|b| STANDARD.encode(b))
}

fn hex_of(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), len).prop_map(hex::encode)
}

fn digits() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[0-9]{0,40}",
        "[ +-]?[0-9]{1,12}[ .]?",
    ]
}

/// `Stripe-Signature`-like: `t=…,v1=…` items, some malformed.
fn stripe_header() -> impl Strategy<Value = String> {
    let item = prop_oneof![
        digits().prop_map(|t| format!("t={t}")),
        hex_of(0..40).prop_map(|h| format!("v1={h}")),
        hex_of(32..33).prop_map(|h| format!(" v1 = {h} ")),
        b64(0..40).prop_map(|b| format!("v0={b}")),
        "[a-z0-9=, ]{0,12}",
        any::<String>(),
    ];
    prop_oneof![
        prop::collection::vec(item, 0..12).prop_map(|items| items.join(",")),
        any::<String>(),
        (1usize..3000).prop_map(|n| "t=1,".repeat(n)),
    ]
}

/// `webhook-signature`-like: space-separated `v1,<base64>` entries, some malformed.
fn sw_signature_header() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        b64(0..48).prop_map(|b| format!("v1,{b}")),
        b64(32..33).prop_map(|b| format!("v1,{b}")),
        b64(0..64).prop_map(|b| format!("v1a,{b}")),
        "[a-z0-9,=+/ ]{0,16}",
        any::<String>(),
    ];
    prop_oneof![
        prop::collection::vec(entry, 0..20).prop_map(|e| e.join(" ")),
        any::<String>(),
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        select(TOPICS).prop_map(str::to_owned),
        b64(0..48),
        hex_of(0..48),
        digits(),
        stripe_header(),
        sw_signature_header(),
        text(),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop_oneof![
                4 => select(&HEADER_NAMES[..]).prop_map(str::to_owned),
                1 => any::<String>(),
            ],
            header_value(),
        ),
        0..10,
    )
}

fn secrets() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            b64(0..64).prop_map(|b| format!("whsec_{b}")),
            b64(0..64),
            select(&["", "whsec_", "whsec_!!", " whsec_AAAA ", "secret"][..])
                .prop_map(str::to_owned),
            any::<String>(),
        ],
        0..4,
    )
}

fn tolerance() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        (0u64..1_000_000).prop_map(Duration::from_secs),
        any::<u64>().prop_map(Duration::from_secs),
    ]
}

fn secret_strings(s: &[String]) -> Vec<SecretString> {
    s.iter().map(|s| SecretString::from(s.as_str())).collect()
}

fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        tree().prop_map(|j| j.text().into_bytes()),
        // JSON with a stray invalid byte, or cut short.
        (tree(), any::<Index>(), any::<u8>()).prop_map(|(j, at, b)| {
            let mut t = j.text().into_bytes();
            if !t.is_empty() {
                let i = at.index(t.len());
                t[i] = b;
            }
            t
        }),
        (tree(), any::<Index>()).prop_map(|(j, at)| {
            let mut t = j.text().into_bytes();
            t.truncate(at.index(t.len() + 1));
            t
        }),
        Just(b"webhook_id=1".to_vec()),
        "webhook_id=[0-9a-z&=]{0,20}".prop_map(String::into_bytes),
    ]
}

// ---------------------------------------------------------------------------------------------
// What every parse result must be.

/// Ok or a `ParseError` (a 400); an event is well formed and survives storage as JSON.
fn check_parsed(result: &Result<Parsed, ParseError>) -> Result<(), TestCaseError> {
    match result {
        Ok(Parsed::Event(e)) => {
            prop_assert!(!e.kinds.is_empty(), "an event means something: {e:?}");
            for (i, k) in e.kinds.iter().enumerate() {
                prop_assert!(!e.kinds[..i].contains(k), "repeated kind in {:?}", e.kinds);
            }
            prop_assert!(!e.delivery_key.is_empty(), "empty delivery key: {e:?}");
            check_order(&e.order)?;
        }
        Ok(Parsed::Ignored { .. }) | Err(ParseError::Json(_) | ParseError::Invalid(_)) => {}
    }
    Ok(())
}

/// What the webhook handler and the worker do with a parsed order, none of which may panic:
/// the amount limit (a 400 past 10^15), the reconciliation check and the money formatting of
/// messages and invoices. The order is stored as JSON and read back by the worker: it must
/// come back the same.
fn check_order(order: &Order) -> Result<(), TestCaseError> {
    let _ = order.check_amounts();
    let _ = order.reconcile();
    let _ = order.display_name();
    let amounts = [
        order.subtotal,
        order.shipping_total,
        order.discount_total,
        order.tax_total,
        order.total,
    ];
    let lines = order
        .lines
        .iter()
        .flat_map(|l| [l.quantity, l.unit_price, l.total]);
    let taxes = order.taxes.iter().map(|t| t.amount);
    for amount in amounts.into_iter().chain(lines).chain(taxes) {
        let _ = crate::order::format_money(amount, &order.currency);
    }
    let stored = serde_json::to_string(order).expect("an order serialises");
    let back: Order = serde_json::from_str(&stored)
        .map_err(|e| TestCaseError::fail(format!("stored order does not read back: {e}")))?;
    prop_assert_eq!(&back, order);
    Ok(())
}

/// Headers that sign `body` correctly for `platform`, as the platform would send them.
fn signed_headers(
    platform: Platform,
    topic: Option<&str>,
    delivery_id: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let now = unix_now();
    let h = |k: &str, v: String| (k.to_owned(), v);
    match platform {
        Platform::Woocommerce => vec![
            h(
                woocommerce::SIGNATURE,
                signature::sign_base64(HMAC_SECRET, body),
            ),
            h(woocommerce::TOPIC, topic.unwrap_or("order.created").into()),
            h(woocommerce::WEBHOOK_ID, delivery_id.into()),
        ],
        Platform::Shopify => vec![
            h(
                shopify::SIGNATURE[0],
                signature::sign_base64(HMAC_SECRET, body),
            ),
            h(shopify::TOPIC[0], topic.unwrap_or("orders/create").into()),
            h(shopify::WEBHOOK_ID[0], delivery_id.into()),
        ],
        Platform::Stripe => vec![h(stripe::SIGNATURE, stripe::sign(HMAC_SECRET, now, body))],
        Platform::Shopware => vec![
            h(
                shopware::SIGNATURE,
                hex::encode(signature::hmac_sha256(HMAC_SECRET.as_bytes(), &[body])),
            ),
            h(shopware::EVENT_ID, delivery_id.into()),
        ],
        Platform::Standard | Platform::Bigcommerce => {
            let form = if platform == Platform::Standard {
                KeyForm::Whsec
            } else {
                KeyForm::RawOrWhsec
            };
            vec![
                h(sw::ID, delivery_id.into()),
                h(sw::TIMESTAMP, now.to_string()),
                h(sw::SIGNATURE, sw::sign(WHSEC, form, delivery_id, now, body)),
            ]
        }
    }
}

const HMAC_SECRET: &str = "shop-secret-ü";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn store_secrets(platform: Platform) -> Vec<SecretString> {
    let own = match platform {
        Platform::Standard | Platform::Bigcommerce => WHSEC,
        _ => HMAC_SECRET,
    };
    // A rolled-away secret first, as while a secret is rotated.
    vec![SecretString::from("old-secret"), SecretString::from(own)]
}

/// The whole path a webhook takes before it is stored: verify (must succeed, it is signed),
/// then parse, the other invoice-plugin number and a saved-order preview.
fn signed_round(
    platform: Platform,
    topic: Option<&str>,
    delivery_id: &str,
    body: &[u8],
) -> Result<(), TestCaseError> {
    let adapter = platform.adapter();
    let headers = Headers::new(signed_headers(platform, topic, delivery_id, body));
    let verified = adapter.verify(
        &headers,
        body,
        &store_secrets(platform),
        platform.default_tolerance(),
    );
    // Shopware signs its send time inside the body: a body with none is refused before
    // parsing; the test parses it all the same. (serde reads a struct from an array too, so
    // `[0]` has the send time 0 and is stale; a body nested past serde_json's depth limit
    // still yields its top-level `timestamp`, and is then refused by parse.)
    let sent_at = || {
        serde_json::from_slice::<Value>(body)
            .ok()?
            .get("timestamp")?
            .as_i64()
    };
    if platform == Platform::Shopware && sent_at().is_none() {
        prop_assert!(
            matches!(
                verified,
                Ok(Verified::Signed)
                    | Err(VerifyError::MissingBodyField(_) | VerifyError::Stale(_))
            ),
            "{verified:?}"
        );
    } else {
        prop_assert_eq!(
            verified,
            Ok(Verified::Signed),
            "{} body not verified",
            platform
        );
    }
    check_parsed(&adapter.parse(&headers, body))?;
    let keys = [
        "_wcpdf_invoice_number".to_owned(),
        "wf_invoice_number".to_owned(),
        "".to_owned(),
    ];
    let _ = adapter.invoice_number(body, &keys);
    if let Ok(order) = adapter.parse_order(body) {
        check_order(&order)?;
    }
    Ok(())
}

/// Delivery ids as a sender may send them: Standard Webhooks refuses a `.` or an empty id.
fn delivery_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{1,40}",
        any::<String>().prop_map(|s| s.trim().replace('.', "_")),
    ]
    .prop_filter("a usable id", |s| !s.is_empty() && s.trim() == s)
}

// ---------------------------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(config())]

    /// Arbitrary headers, bodies, secrets and windows: verification answers, never panics, and
    /// never takes a signature nobody made for valid.
    #[test]
    fn verify_never_panics_nor_accepts_a_forgery(
        platform in select(&PLATFORMS[..]),
        headers in headers(),
        body in body_bytes(),
        secrets in secrets(),
        tolerance in tolerance(),
    ) {
        let verified = platform.adapter().verify(
            &Headers::new(headers),
            &body,
            &secret_strings(&secrets),
            tolerance,
        );
        // WooCommerce answers its unsigned `webhook_id=N` ping without a signature.
        if verified == Ok(Verified::Ping) {
            prop_assert_eq!(platform, Platform::Woocommerce);
        } else {
            prop_assert!(verified.is_err(), "{platform} accepted {verified:?}");
        }
    }

    /// Arbitrary bytes and headers into `parse` and `parse_order`: Ok or a 400, never a panic.
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(
        platform in select(&PLATFORMS[..]),
        headers in headers(),
        body in body_bytes(),
    ) {
        let adapter = platform.adapter();
        check_parsed(&adapter.parse(&Headers::new(headers), &body))?;
        if let Ok(order) = adapter.parse_order(&body) {
            check_order(&order)?;
        }
        let _ = adapter.invoice_number(&body, &["_wcpdf_invoice_number".to_owned()]);
    }

    /// An arbitrary JSON tree, under each platform's own topic header and inside each
    /// platform's envelope, so that the order readers see it.
    #[test]
    fn parse_never_panics_on_arbitrary_json(
        platform in select(&PLATFORMS[..]),
        topic in select(TOPICS),
        tree in tree(),
        delivery_id in delivery_id(),
    ) {
        let envelopes = [
            tree.clone(),
            J::Obj(vec![
                ("type".into(), J::Str(topic.into())),
                ("id".into(), J::Str(delivery_id.clone())),
                ("scope".into(), J::Str(topic.into())),
                ("timestamp".into(), J::Raw(unix_now().to_string())),
                ("data".into(), J::Obj(vec![
                    ("object".into(), tree.clone()),
                    ("event".into(), J::Str(topic.into())),
                    ("payload".into(), J::Obj(vec![("order".into(), tree.clone())])),
                    ("id".into(), J::Raw("250".into())),
                ])),
            ]),
        ];
        for body in &envelopes {
            let body = body.text().into_bytes();
            signed_round(platform, Some(topic), &delivery_id, &body)?;
        }
    }

    /// The fixtures of every platform with arbitrary values put into them, correctly signed:
    /// verify → parse → preview, Ok or a 400 and never a panic.
    #[test]
    fn signed_fixtures_with_arbitrary_values_parse_or_are_refused(
        (i, mut body) in mutated_fixture(),
        delivery_id in delivery_id(),
    ) {
        let fixture = &FIXTURES[i];
        if fixture.platform == Platform::Shopware {
            // The signed send time, so the replay window lets the body through to parsing.
            body.set("timestamp", J::Raw(unix_now().to_string()));
        }
        let text = body.text();
        signed_round(fixture.platform, fixture.topic, &delivery_id, text.as_bytes())?;
    }

    /// BigCommerce's order, products and addresses come from its API (the worker's fetch):
    /// arbitrary values there are refused or read, never a panic.
    #[test]
    fn bigcommerce_api_orders_never_panic(
        (_, order) in mutated_fixture(),
        products in prop::collection::vec(tree(), 0..4),
        addresses in prop::collection::vec(tree(), 0..3),
        use_fixture_lines in any::<bool>(),
    ) {
        let parse = |t: &J| serde_json::from_str::<Value>(&t.text()).unwrap_or(Value::Null);
        let mut products: Vec<Value> = products.iter().map(parse).collect();
        if use_fixture_lines {
            let fixture: Vec<Value> = serde_json::from_str(include_str!(
                "../../tests/fixtures/bigcommerce/api-order-250-products.json"
            )).unwrap();
            products.extend(fixture);
        }
        let addresses: Vec<Value> = addresses.iter().map(parse).collect();
        if let Ok(order) = bigcommerce::order_from_api(&parse(&order), &products, &addresses) {
            check_order(&order)?;
        }
    }

    /// Stripe's `t=…,v1=…` header: any text is refused or checked, never a panic; what Stripe
    /// signs verifies exactly when its time is inside the window, and not once the body changes.
    #[test]
    fn stripe_signature_header(
        header in stripe_header(),
        body in prop::collection::vec(any::<u8>(), 0..256),
        now in any::<i64>(),
        t in prop_oneof![0..=i64::MAX, Just(0), Just(i64::MAX)],
        tolerance in tolerance(),
        secret in "[ -~]{1,40}",
    ) {
        let secrets = [SecretString::from(secret.as_str())];
        prop_assert!(stripe::verify_at(Some(&header), &body, &secrets, now, tolerance).is_err());
        let signed = stripe::sign(&secret, t, &body);
        let expected = if within(t, now, tolerance) {
            Ok(())
        } else {
            Err(VerifyError::Stale(tolerance.as_secs()))
        };
        prop_assert_eq!(stripe::verify_at(Some(&signed), &body, &secrets, now, tolerance), expected);
        let mut tampered = body.clone();
        tampered.push(b' ');
        prop_assert_eq!(
            stripe::verify_at(Some(&signed), &tampered, &secrets, now, tolerance),
            Err(VerifyError::Mismatch)
        );
    }

    /// Standard Webhooks' three headers (`standard` and `bigcommerce`): any text is refused or
    /// checked; a signed delivery verifies exactly inside the window, for either key form.
    #[test]
    fn standard_webhooks_headers(
        id in prop_oneof![delivery_id(), any::<String>()],
        timestamp in digits(),
        header in sw_signature_header(),
        body in prop::collection::vec(any::<u8>(), 0..256),
        secrets in secrets(),
        now in any::<i64>(),
        t in 0..=i64::MAX,
        tolerance in tolerance(),
        whsec_key in prop::collection::vec(any::<u8>(), 1..64),
        raw in any::<bool>(),
    ) {
        let secrets = secret_strings(&secrets);
        for form in [KeyForm::Whsec, KeyForm::RawOrWhsec] {
            let forged = Signed {
                id: Some(&id),
                timestamp: Some(&timestamp),
                signature: Some(&header),
            };
            prop_assert!(sw::verify_at(&forged, &body, &secrets, form, now, tolerance).is_err());
            for s in &secrets {
                let _ = sw::key(secrecy::ExposeSecret::expose_secret(s), form);
            }
        }
        let id = format!("msg_{}", id.replace('.', "_").trim());
        let (secret, form) = if raw {
            (format!("raw-{}", STANDARD.encode(&whsec_key)), KeyForm::RawOrWhsec)
        } else {
            (format!("whsec_{}", STANDARD.encode(&whsec_key)), KeyForm::Whsec)
        };
        let sig = sw::sign(&secret, form, id.trim(), t, &body);
        let ts = t.to_string();
        let signed = Signed { id: Some(&id), timestamp: Some(&ts), signature: Some(&sig) };
        let keys = [SecretString::from(secret.as_str())];
        let expected = if within(t, now, tolerance) {
            Ok(())
        } else {
            Err(VerifyError::Stale(tolerance.as_secs()))
        };
        prop_assert_eq!(sw::verify_at(&signed, &body, &keys, form, now, tolerance), expected);
        let mut tampered = body.clone();
        tampered.push(0);
        prop_assert_eq!(
            sw::verify_at(&signed, &tampered, &keys, form, now, tolerance),
            Err(VerifyError::Mismatch)
        );
    }

    /// Shopware's hex signature and the send time inside the signed body.
    #[test]
    fn shopware_signature_and_send_time(
        header in prop_oneof![hex_of(0..48), any::<String>(), hex_of(32..33)],
        body in body_bytes(),
        timestamp in prop_oneof![
            number_text().prop_map(J::Raw),
            text().prop_map(J::Str),
            any::<i64>().prop_map(|n| J::Raw(n.to_string())),
        ],
        now in any::<i64>(),
        tolerance in tolerance(),
    ) {
        let secrets = [SecretString::from(HMAC_SECRET)];
        prop_assert!(shopware::verify_at(Some(&header), &body, &secrets, now, tolerance).is_err());
        // Signed correctly, with whatever the body says its send time is.
        let body = J::Obj(vec![
            ("timestamp".into(), timestamp.clone()),
            ("data".into(), J::Raw("null".into())),
        ]).text();
        let sig = hex::encode(signature::hmac_sha256(HMAC_SECRET.as_bytes(), &[body.as_bytes()]));
        let result = shopware::verify_at(Some(&sig), body.as_bytes(), &secrets, now, tolerance);
        match serde_json::from_str::<Value>(&body).ok().and_then(|v| v["timestamp"].as_i64()) {
            Some(sent) if within(sent, now, tolerance) => prop_assert_eq!(result, Ok(())),
            Some(_) => prop_assert_eq!(result, Err(VerifyError::Stale(tolerance.as_secs()))),
            None => prop_assert_eq!(result, Err(VerifyError::MissingBodyField("timestamp"))),
        }
    }

    /// The base64 and hex body signatures (WooCommerce, Shopify, Shopware) with any header text.
    #[test]
    fn body_signature_headers(
        value in prop_oneof![b64(0..48), hex_of(0..48), any::<String>(), b64(32..33)],
        body in prop::collection::vec(any::<u8>(), 0..256),
        secrets in secrets(),
    ) {
        let secrets = secret_strings(&secrets);
        prop_assert!(signature::verify_base64_body("H", Some(&value), &body, &secrets).is_err());
        prop_assert!(signature::verify_hex_body("H", Some(&value), &body, &secrets).is_err());
    }
}

/// Whether `t` is within `tolerance` of `now`, computed without the code under test.
fn within(t: i64, now: i64, tolerance: Duration) -> bool {
    (i128::from(now) - i128::from(t)).unsigned_abs() <= u128::from(tolerance.as_secs())
}

fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale)),
        select(
            &[
                Decimal::MAX,
                Decimal::MIN,
                Decimal::ZERO,
                Decimal::ONE,
                Decimal::NEGATIVE_ONE
            ][..]
        ),
        number_text().prop_filter_map("a decimal", |t| t.parse().ok()),
    ]
}

fn currency() -> impl Strategy<Value = String> {
    prop_oneof![
        select(&["TND", "KWD", "BHD", "JPY", "EUR", "usd", "CLF", "", "XXX"][..])
            .prop_map(str::to_owned),
        "[A-Za-z]{0,4}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Money formatting is total: any `Decimal`, any currency text.
    #[test]
    fn format_money_is_total(amount in decimal(), currency in currency()) {
        let text = crate::order::format_money(amount, &currency);
        prop_assert!(text.starts_with(&currency.to_ascii_uppercase()), "{text}");
    }
}
