//! Any body, under each platform's topic headers, through parse, parse_order and what follows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shopbip_fuzz::platforms::Headers;
use shopbip_fuzz::{PLATFORMS, parse_all};

const TOPICS: [&str; 6] = [
    "order.created",
    "order.updated",
    "orders/create",
    "orders/paid",
    "refunds/create",
    "orders/cancelled",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let platform = PLATFORMS[usize::from(selector) % PLATFORMS.len()];
    let topic = TOPICS[usize::from(selector / 8) % TOPICS.len()];
    let headers = Headers::new(
        [
            "x-wc-webhook-topic",
            "x-shopify-topic",
            "webhook-id",
            "x-wc-webhook-id",
        ]
        .into_iter()
        .map(|k| {
            (
                k.to_owned(),
                if k.ends_with("id") {
                    "d1".into()
                } else {
                    topic.to_owned()
                },
            )
        }),
    );
    parse_all(platform, &headers, body);
});
