//! Any header text and body into every platform's verify and the signature-header parsers:
//! an answer, never a panic, and never "signed" for a signature nobody made.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use shopbip_fuzz::PLATFORMS;
use shopbip_fuzz::platforms::standard_webhooks::{self as sw, KeyForm, Signed};
use shopbip_fuzz::platforms::{Headers, Verified, shopware, stripe};

const NAMES: [&str; 8] = [
    "x-wc-webhook-signature",
    "x-shopify-hmac-sha256",
    "stripe-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "shopware-shop-signature",
    "x-wc-webhook-topic",
];

fuzz_target!(|data: &[u8]| {
    // `header\nheader\n…\n\nbody`: the first lines are header values, by position.
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let values: Vec<&str> = head.split('\n').collect();
    let headers = Headers::new(
        NAMES
            .iter()
            .zip(&values)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let secrets = [
        SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        SecretString::from("shop-secret"),
    ];
    let now = i64::from_le_bytes(
        data.get(..8)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 8]),
    );
    let tolerance = Duration::from_secs(now as u64);
    for platform in PLATFORMS {
        match platform
            .adapter()
            .verify(&headers, body.as_bytes(), &secrets, tolerance)
        {
            Ok(Verified::Signed) => panic!("{platform} accepted a forged signature"),
            Ok(Verified::Ping) | Err(_) => {}
        }
    }
    let value = values.first().copied();
    let _ = stripe::verify_at(value, body.as_bytes(), &secrets, now, tolerance);
    let _ = shopware::verify_at(value, body.as_bytes(), &secrets, now, tolerance);
    let signed = Signed {
        id: values.first().copied(),
        timestamp: values.get(1).copied(),
        signature: values.get(2).copied(),
    };
    for form in [KeyForm::Whsec, KeyForm::RawOrWhsec] {
        let _ = sw::verify_at(&signed, body.as_bytes(), &secrets, form, now, tolerance);
    }
});
