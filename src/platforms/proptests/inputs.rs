//! Headers, secrets, signature headers, bodies: what a sender controls besides the JSON.

use super::TOPICS;
use super::json::{text, tree};
use crate::platforms::standard_webhooks as sw;
use crate::platforms::{shopify, shopware, stripe, woocommerce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use secrecy::SecretString;
use std::time::Duration;

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

pub(super) fn b64(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), len).prop_map(|b| STANDARD.encode(b))
}

pub(super) fn hex_of(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), len).prop_map(hex::encode)
}

pub(super) fn digits() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "[0-9]{0,40}",
        "[ +-]?[0-9]{1,12}[ .]?",
    ]
}

/// `Stripe-Signature`-like: `t=…,v1=…` items, some malformed.
pub(super) fn stripe_header() -> impl Strategy<Value = String> {
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
pub(super) fn sw_signature_header() -> impl Strategy<Value = String> {
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

pub(super) fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
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

pub(super) fn secrets() -> impl Strategy<Value = Vec<String>> {
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

pub(super) fn tolerance() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        (0u64..1_000_000).prop_map(Duration::from_secs),
        any::<u64>().prop_map(Duration::from_secs),
    ]
}

pub(super) fn secret_strings(s: &[String]) -> Vec<SecretString> {
    s.iter().map(|s| SecretString::from(s.as_str())).collect()
}

pub(super) fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
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
