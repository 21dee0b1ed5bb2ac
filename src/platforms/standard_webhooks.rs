//! The Standard Webhooks signing scheme (standardwebhooks.com), shared by the `standard` and
//! `bigcommerce` platforms: `webhook-id`, `webhook-timestamp` (Unix seconds) and
//! `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` over
//! `{id}.{timestamp}.{raw body}`. Several entries are sent while a secret is rolled.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

use super::VerifyError;
use super::signature::{
    MAX_SIGNATURE_ENTRIES, MAX_SIGNATURE_HEADER, any_key_matches, hmac_sha256, unix_now, within,
};

pub const ID: &str = "webhook-id";
pub const TIMESTAMP: &str = "webhook-timestamp";
pub const SIGNATURE: &str = "webhook-signature";

/// How a store's configured secret becomes the HMAC key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// `whsec_<base64>` (the prefix optional, as in the reference libraries): the key is the
    /// decoded bytes.
    Whsec,
    /// BigCommerce: the app's client secret as shown is the key itself; a `whsec_` form is
    /// still decoded, so either spelling can be pasted into the profile.
    RawOrWhsec,
}

/// The HMAC key of one configured secret; `None` when it cannot be one (`shopbip check`
/// reports that, so it never silently fails every delivery).
pub fn key(secret: &str, form: KeyForm) -> Option<Vec<u8>> {
    let secret = secret.trim();
    match (form, secret.strip_prefix("whsec_")) {
        (_, Some(b64)) => STANDARD.decode(b64).ok().filter(|k| !k.is_empty()),
        (KeyForm::Whsec, None) => STANDARD.decode(secret).ok().filter(|k| !k.is_empty()),
        (KeyForm::RawOrWhsec, None) => Some(secret.as_bytes().to_vec()).filter(|k| !k.is_empty()),
    }
}

/// The three headers, as read from a request.
pub struct Signed<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

pub fn verify(
    signed: &Signed<'_>,
    body: &[u8],
    secrets: &[SecretString],
    form: KeyForm,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    verify_at(signed, body, secrets, form, unix_now(), tolerance)
}

pub fn verify_at(
    signed: &Signed<'_>,
    body: &[u8],
    secrets: &[SecretString],
    form: KeyForm,
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let id = signed.id.map(str::trim).ok_or(VerifyError::Missing(ID))?;
    let ts_text = signed
        .timestamp
        .map(str::trim)
        .ok_or(VerifyError::Missing(TIMESTAMP))?;
    let header = signed.signature.ok_or(VerifyError::Missing(SIGNATURE))?;
    if header.len() > MAX_SIGNATURE_HEADER {
        return Err(VerifyError::Malformed(SIGNATURE));
    }
    // A '.' in either would let one signed string stand for another split differently.
    if id.is_empty() || id.contains('.') {
        return Err(VerifyError::Malformed(ID));
    }
    let timestamp: i64 = ts_text
        .parse()
        .ok()
        .filter(|_| ts_text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(VerifyError::Malformed(TIMESTAMP))?;
    let candidates: Vec<Vec<u8>> = header
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .filter(|sig| sig.len() == 32)
        .take(MAX_SIGNATURE_ENTRIES)
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::Malformed(SIGNATURE));
    }
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts_text.as_bytes(), b".", body];
    let keys = secrets.iter().filter_map(|s| key(s.expose_secret(), form));
    if !any_key_matches(keys, &parts, &candidates) {
        return Err(VerifyError::Mismatch);
    }
    // Checked after the signature so an attacker learns nothing about the window from a forgery.
    if !within(timestamp, now, tolerance) {
        return Err(VerifyError::Stale(tolerance.as_secs()));
    }
    Ok(())
}

/// `v1,<base64>` for one secret: what a sender (or a test) puts in `webhook-signature`.
pub fn sign(secret: &str, form: KeyForm, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = key(secret, form).expect("a usable Standard Webhooks secret");
    let ts = timestamp.to_string();
    let mac = hmac_sha256(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", STANDARD.encode(mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TS: i64 = 1614265330;
    const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const FIVE_MIN: Duration = Duration::from_secs(300);

    fn signed<'a>(sig: &'a str) -> Signed<'a> {
        Signed {
            id: Some(VECTOR_ID),
            timestamp: Some("1614265330"),
            signature: Some(sig),
        }
    }

    #[test]
    fn the_published_test_vector_signs_and_verifies() {
        assert_eq!(
            sign(
                VECTOR_SECRET,
                KeyForm::Whsec,
                VECTOR_ID,
                VECTOR_TS,
                VECTOR_BODY
            ),
            VECTOR_SIG
        );
        let secrets = [SecretString::from(VECTOR_SECRET)];
        assert_eq!(
            verify_at(
                &signed(VECTOR_SIG),
                VECTOR_BODY,
                &secrets,
                KeyForm::Whsec,
                VECTOR_TS + 10,
                FIVE_MIN
            ),
            Ok(())
        );
        // The prefix is optional in the reference libraries.
        let bare = [SecretString::from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")];
        assert_eq!(
            verify_at(
                &signed(VECTOR_SIG),
                VECTOR_BODY,
                &bare,
                KeyForm::Whsec,
                VECTOR_TS,
                FIVE_MIN
            ),
            Ok(())
        );
    }

    #[test]
    fn any_entry_of_a_rolled_secret_verifies_and_tampering_does_not() {
        let secrets = [SecretString::from(VECTOR_SECRET)];
        let rolled = format!("v1,bm9wZQ== v1a,ed25519stuff {VECTOR_SIG}");
        let at = |sig: &str, body: &[u8], now: i64| {
            verify_at(&signed(sig), body, &secrets, KeyForm::Whsec, now, FIVE_MIN)
        };
        assert_eq!(at(&rolled, VECTOR_BODY, VECTOR_TS), Ok(()));
        assert_eq!(
            at(VECTOR_SIG, br#"{"test": 2432232315}"#, VECTOR_TS),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            at(VECTOR_SIG, VECTOR_BODY, VECTOR_TS + 301),
            Err(VerifyError::Stale(300))
        );
        assert_eq!(
            at(VECTOR_SIG, VECTOR_BODY, VECTOR_TS - 301),
            Err(VerifyError::Stale(300))
        );
        assert_eq!(
            at("v2,abc", VECTOR_BODY, VECTOR_TS),
            Err(VerifyError::Malformed(SIGNATURE))
        );
        // The timestamp is signed: moving it breaks the signature, not only the window.
        let moved = Signed {
            timestamp: Some("1614265331"),
            ..signed(VECTOR_SIG)
        };
        assert_eq!(
            verify_at(
                &moved,
                VECTOR_BODY,
                &secrets,
                KeyForm::Whsec,
                VECTOR_TS,
                FIVE_MIN
            ),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn long_or_crowded_signature_headers_are_not_worked_through() {
        let secrets = [SecretString::from(VECTOR_SECRET)];
        let at = |sig: &str| {
            verify_at(
                &signed(sig),
                VECTOR_BODY,
                &secrets,
                KeyForm::Whsec,
                VECTOR_TS,
                FIVE_MIN,
            )
        };
        let decoy = format!("v1,{}", STANDARD.encode([0u8; 32]));
        let after = |n: usize| format!("{} {VECTOR_SIG}", vec![decoy.as_str(); n].join(" "));
        assert_eq!(at(&after(MAX_SIGNATURE_ENTRIES - 1)), Ok(()));
        assert_eq!(
            at(&after(MAX_SIGNATURE_ENTRIES)),
            Err(VerifyError::Mismatch)
        );
        let long = format!("{} {VECTOR_SIG}", vec!["v1a,x"; 1000].join(" "));
        assert!(long.len() > MAX_SIGNATURE_HEADER);
        assert_eq!(at(&long), Err(VerifyError::Malformed(SIGNATURE)));
    }

    #[test]
    fn bigcommerce_secrets_are_raw_client_secrets() {
        assert_eq!(
            key("client-secret", KeyForm::RawOrWhsec),
            Some(b"client-secret".to_vec())
        );
        assert_eq!(key("not base64!", KeyForm::Whsec), None);
        assert_eq!(
            key(VECTOR_SECRET, KeyForm::RawOrWhsec),
            key(VECTOR_SECRET, KeyForm::Whsec)
        );
    }
}
