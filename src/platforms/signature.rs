//! HMAC helpers shared by the platforms: constant-time, over raw bytes, any of several secrets.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::VerifyError;

type HmacSha256 = hmac::Hmac<Sha256>;

/// HMAC-SHA256 of the concatenated `parts` (a platform signing `t.body` passes both).
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// A signature header longer than this is refused before any MAC is computed: real ones hold
/// a few entries, and a huge list must not buy an unauthenticated sender CPU time.
pub const MAX_SIGNATURE_HEADER: usize = 4 * 1024;

/// At most this many signature entries of one header are compared. Senders list one per active
/// secret while rolling, so a handful is plenty.
pub const MAX_SIGNATURE_ENTRIES: usize = 8;

/// Whether any of the decoded `candidates` is the HMAC of `parts` under any of the secrets.
/// The MAC is computed once per secret, never once per candidate: the body can be megabytes,
/// the candidate list is the sender's to choose. Each comparison is constant-time.
pub fn any_matches(secrets: &[SecretString], parts: &[&[u8]], candidates: &[Vec<u8>]) -> bool {
    any_key_matches(
        secrets.iter().map(|s| s.expose_secret().as_bytes()),
        parts,
        candidates,
    )
}

/// `any_matches` for keys that are not the secret's bytes as written (Standard Webhooks'
/// decoded `whsec_` keys).
pub fn any_key_matches<K: AsRef<[u8]>>(
    keys: impl IntoIterator<Item = K>,
    parts: &[&[u8]],
    candidates: &[Vec<u8>],
) -> bool {
    keys.into_iter().any(|key| {
        let digest = hmac_sha256(key.as_ref(), parts);
        candidates
            .iter()
            .any(|sig| bool::from(digest.as_slice().ct_eq(sig.as_slice())))
    })
}

/// A hex HMAC-SHA256 of the raw body, as Shopware sends it.
pub fn verify_hex_body(
    header: &'static str,
    value: Option<&str>,
    body: &[u8],
    secrets: &[SecretString],
) -> Result<(), VerifyError> {
    verify_body(header, value, body, secrets, |v| hex::decode(v).ok())
}

/// One HMAC-SHA256 of the raw body in `header`, written in whatever `decode` reads.
fn verify_body(
    header: &'static str,
    value: Option<&str>,
    body: &[u8],
    secrets: &[SecretString],
    decode: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<(), VerifyError> {
    let value = value.ok_or(VerifyError::Missing(header))?;
    let sig = decode(value.trim())
        .filter(|sig| sig.len() == 32)
        .ok_or(VerifyError::Malformed(header))?;
    if any_matches(secrets, &[body], &[sig]) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// Seconds since the Unix epoch, for the replay windows of platforms that sign a timestamp.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Whether a signed timestamp is within `tolerance` of `now`, either side: a clock running
/// ahead at the sender must not open an unbounded window into the future.
pub fn within(timestamp: i64, now: i64, tolerance: std::time::Duration) -> bool {
    now.abs_diff(timestamp) <= tolerance.as_secs()
}

/// A base64 HMAC-SHA256 of the raw body, as WooCommerce and Shopify send it.
pub fn verify_base64_body(
    header: &'static str,
    value: Option<&str>,
    body: &[u8],
    secrets: &[SecretString],
) -> Result<(), VerifyError> {
    verify_body(header, value, body, secrets, |v| STANDARD.decode(v).ok())
}

/// base64 of HMAC-SHA256(secret, body): what a test or a load generator signs with.
pub fn sign_base64(secret: &str, body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(secret.as_bytes(), &[body]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_secret_verifies_and_a_flipped_byte_does_not() {
        let secrets = [SecretString::from("old"), SecretString::from("new")];
        let body = br#"{"id":1}"#;
        for s in ["old", "new"] {
            let sig = sign_base64(s, body);
            assert_eq!(verify_base64_body("H", Some(&sig), body, &secrets), Ok(()));
        }
        let sig = sign_base64("new", body);
        assert_eq!(
            verify_base64_body("H", Some(&sig), br#"{"id":2}"#, &secrets),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_base64_body("H", Some(&sign_base64("other", body)), body, &secrets),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_base64_body("H", None, body, &secrets),
            Err(VerifyError::Missing("H"))
        );
        assert_eq!(
            verify_base64_body("H", Some("!!"), body, &secrets),
            Err(VerifyError::Malformed("H"))
        );
    }
}
