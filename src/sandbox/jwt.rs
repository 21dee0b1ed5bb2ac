//! HS256 tokens shaped like LexikJWT's (what Buzzbip's `/api/login_check` issues).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iat: u64,
    pub exp: u64,
    pub username: String,
    pub roles: Vec<String>,
    /// Issue sequence: lets the control API expire every token issued so far.
    pub jti: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
}

pub fn sign(secret: &[u8], claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signing_input = format!("{header}.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(
        mac(secret, signing_input.as_bytes())
            .finalize()
            .into_bytes(),
    );
    format!("{signing_input}.{sig}")
}

pub fn verify(secret: &[u8], token: &str, now: u64) -> Result<Claims, TokenError> {
    let (signing_input, sig) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Invalid)?;
    mac(secret, signing_input.as_bytes())
        .verify_slice(&sig)
        .map_err(|_| TokenError::Invalid)?;
    let payload = signing_input.split('.').nth(1).ok_or(TokenError::Invalid)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Invalid)?;
    let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)?;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

fn mac(secret: &[u8], input: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(input);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            iat: 100,
            exp,
            username: "u".into(),
            roles: vec!["ROLE_USER".into()],
            jti: 1,
        }
    }

    #[test]
    fn round_trip_expiry_and_tampering() {
        let token = sign(b"k", &claims(200));
        assert_eq!(verify(b"k", &token, 150), Ok(claims(200)));
        assert_eq!(verify(b"k", &token, 200), Err(TokenError::Expired));
        assert_eq!(verify(b"other", &token, 150), Err(TokenError::Invalid));
        let forged = sign(b"k", &claims(900))
            .rsplit_once('.')
            .unwrap()
            .0
            .to_owned()
            + "."
            + token.rsplit_once('.').unwrap().1;
        assert_eq!(verify(b"k", &forged, 150), Err(TokenError::Invalid));
    }
}
