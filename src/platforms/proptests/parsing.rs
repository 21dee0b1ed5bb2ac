//! Verification and parsing: arbitrary headers, bytes, JSON and mutated fixtures, signed or
//! not, never panic and never pass a forgery.

use super::checks::{check_order, check_parsed, delivery_id, signed_round};
use super::fixtures::{FIXTURES, mutated_fixture};
use super::inputs::{body_bytes, headers, secret_strings, secrets, tolerance};
use super::json::{J, tree};
use super::{TOPICS, config};
use crate::platforms::signature::unix_now;
use crate::platforms::{Headers, Platform, Verified, bigcommerce};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

const PLATFORMS: [Platform; Platform::ALL.len()] = Platform::ALL;

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
                "../../../tests/fixtures/bigcommerce/api-order-250-products.json"
            )).unwrap();
            products.extend(fixture);
        }
        let addresses: Vec<Value> = addresses.iter().map(parse).collect();
        if let Ok(order) = bigcommerce::order_from_api(&parse(&order), &products, &addresses) {
            check_order(&order)?;
        }
    }

}
