//! Shopware 6's Admin API: the write-back, a tag on the order. The integration's credentials
//! buy a bearer token (`POST /api/oauth/token`, grant `client_credentials`), kept until it
//! expires; the tag is written with `PATCH /api/order/{id}` and `{"tags": [{"id", "name"}]}`.
//!
//! Why this way: the Admin API guide ("Writing entities", ManyToMany associations) documents
//! that writing a ManyToMany association only adds links, never removes the order's other
//! tags, and that an association entry with an id that does not exist creates the entity with
//! that id. The tag's id is derived from its name, so the first write-back creates the tag and
//! every later one links the same tag instead of a new one of the same name (a tag the
//! merchant made by hand under that name is another tag). `_action/sync` would do the same
//! in a batch; one order needs no batch.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::profile::{Api, Token};
use crate::platforms::writeback::{
    Fixes, Note, WriteBackError, classify, endpoint, send, send_raw,
};

pub(super) const TOKEN_FIXES: Fixes = Fixes {
    platform: "Shopware",
    auth: "Shopware refused the integration's credentials: check shopware.client_id / client_secret (Settings → System → Integrations)",
    base_key: "shopware.api_base_url (or base_uri)",
    reset_ms_header: None,
};

const FIXES: Fixes = Fixes {
    platform: "Shopware",
    auth: "Shopware refused the order update: check shopware.client_id / client_secret and that the integration may write orders and tags (administrator, or a role with those permissions)",
    base_key: "shopware.api_base_url (or base_uri)",
    reset_ms_header: None,
};

/// A token is renewed this long before Shopware says it expires: a request started just
/// before the end would otherwise meet a 401.
pub(super) const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// Shopware's lifetime of an integration's token, when its answer does not say.
pub(super) const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// Tags order `order_id` with `note.tag`. Shopware orders have no note shopbip may add to:
/// `note.text` is not used.
pub async fn write_back(
    client: &reqwest::Client,
    api: &Api,
    order_id: &str,
    note: &Note<'_>,
) -> Result<(), WriteBackError> {
    // Shopware ids are UUIDs written as 32 hex digits.
    if order_id.len() != 32 || !order_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WriteBackError::Permanent(format!(
            "Shopware: {:?} is not an order id",
            order_id.chars().take(40).collect::<String>()
        )));
    }
    let url = endpoint(
        &api.base_url,
        &["api", "order", &order_id.to_ascii_lowercase()],
        &FIXES,
    )?;
    let body = json!({ "tags": [{ "id": tag_id(note.tag), "name": note.tag }] });
    let mut retried = false;
    loop {
        let token = token(client, api).await?;
        let answer = send_raw(
            client
                .patch(url.clone())
                .bearer_auth(token.expose_secret())
                .header(reqwest::header::ACCEPT, "application/json")
                .json(&body),
            &url,
            &FIXES,
        )
        .await?;
        // A token revoked or expired early (the integration's key regenerated, a clock
        // ahead): one new token, once.
        if answer.status == reqwest::StatusCode::UNAUTHORIZED && !retried {
            retried = true;
            forget(api, &token).await;
            continue;
        }
        return classify(answer, &url, &FIXES).map(|_| ());
    }
}

/// The cached token, or a new one; shared by the write-back and the sweep (`api.token`).
pub(super) async fn token(
    client: &reqwest::Client,
    api: &Api,
) -> Result<SecretString, WriteBackError> {
    let mut cached = api.token.0.lock().await;
    if let Some(t) = cached.as_ref()
        && t.expires > Instant::now()
    {
        return Ok(t.value.clone());
    }
    let url = endpoint(&api.base_url, &["api", "oauth", "token"], &TOKEN_FIXES)?;
    let answer = send(
        client
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&json!({
                "grant_type": "client_credentials",
                "client_id": api.client_id,
                "client_secret": api.client_secret.expose_secret(),
            })),
        &url,
        &TOKEN_FIXES,
    )
    .await?;
    let body = answer.json(&TOKEN_FIXES, &url)?;
    let Some(value) = body["access_token"].as_str().filter(|t| !t.is_empty()) else {
        return Err(WriteBackError::Permanent(
            "Shopware: the token answer holds no access_token; check shopware.api_base_url (or base_uri)".into(),
        ));
    };
    let lifetime = body["expires_in"]
        .as_u64()
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_LIFETIME)
        .min(Duration::from_secs(24 * 3600));
    let value = SecretString::from(value);
    *cached = Some(Token {
        value: value.clone(),
        expires: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN),
    });
    Ok(value)
}

/// Drops `failed` from the cache, unless another write-back already replaced it.
pub(super) async fn forget(api: &Api, failed: &SecretString) {
    let mut cached = api.token.0.lock().await;
    if cached
        .as_ref()
        .is_some_and(|t| t.value.expose_secret() == failed.expose_secret())
    {
        *cached = None;
    }
}

/// The id of the tag named `name`: the same for every write-back of every store, shaped as a
/// UUID v4 (32 hex digits) as Shopware's ids are.
pub fn tag_id(name: &str) -> String {
    let digest = Sha256::digest(format!("shopbip-tag:{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_has_one_id_shaped_as_shopware_ids() {
        let id = tag_id("whatsapp-delivered");
        assert_eq!(id, tag_id("whatsapp-delivered"));
        assert_ne!(id, tag_id("whatsapp-failed"));
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(&id[12..13], "4");
    }
}
