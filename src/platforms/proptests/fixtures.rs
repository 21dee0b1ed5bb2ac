//! Fixtures: real-shaped bodies of every platform, with the topic header each is sent under,
//! and the same with arbitrary values put into them.

use super::json::{J, apply, mutation};
use crate::platforms::Platform;
use proptest::prelude::*;
use serde_json::Value;
use std::sync::LazyLock;

pub(super) struct Fixture {
    pub(super) platform: Platform,
    /// The topic header (WooCommerce, Shopify); the others carry it in the body.
    pub(super) topic: Option<&'static str>,
    pub(super) body: &'static str,
}

macro_rules! fixture {
    ($platform:ident, $topic:expr, $path:literal) => {
        Fixture {
            platform: Platform::$platform,
            topic: $topic,
            body: include_str!(concat!("../../../tests/fixtures/", $path)),
        }
    };
}

pub(super) static FIXTURES: LazyLock<Vec<Fixture>> = LazyLock::new(|| {
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
pub(super) static FIXTURE_KEYS: LazyLock<Vec<String>> = LazyLock::new(|| {
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
pub(super) fn mutated_fixture() -> impl Strategy<Value = (usize, J)> {
    (0..FIXTURES.len(), prop::collection::vec(mutation(), 1..8)).prop_map(|(i, mutations)| {
        let mut j = FIXTURE_TREES[i].clone();
        for m in &mutations {
            apply(&mut j, m);
        }
        (i, j)
    })
}
