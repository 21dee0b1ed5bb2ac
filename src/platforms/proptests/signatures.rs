//! Each signature-header parser: any text is refused or checked, never a panic, and what the
//! platform signs verifies exactly inside the window.

use super::checks::{HMAC_SECRET, delivery_id};
use super::config;
use super::inputs::{
    b64, body_bytes, digits, hex_of, secret_strings, secrets, stripe_header, sw_signature_header,
    tolerance,
};
use super::json::{J, number_text, text};
use crate::platforms::signature::{self};
use crate::platforms::standard_webhooks::{self as sw, KeyForm, Signed};
use crate::platforms::{VerifyError, shopware, stripe};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::Value;
use std::time::Duration;

proptest! {
    #![proptest_config(config())]

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
