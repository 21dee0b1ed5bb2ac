//! `[bigcommerce]`: the REST API access a `bigcommerce` store's worker fetches orders with (its
//! webhooks carry only the order id).

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::net::{display_url, parse_base_url};

pub const DEFAULT_API: &str = "https://api.bigcommerce.com";

/// The section as written in the profile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// The `{store_hash}` of `https://api.bigcommerce.com/stores/{store_hash}/…`.
    pub store_hash: String,
    /// The API account's access token, sent as `X-Auth-Token` (scope: Orders read-only).
    pub access_token: SecretString,
    /// Overridable so tests (and proxies) can stand in for BigCommerce.
    #[serde(default = "default_api")]
    pub api_base_url: String,
}

fn default_api() -> String {
    DEFAULT_API.to_owned()
}

/// A BigCommerce store's REST API access, validated.
#[derive(Debug, Clone)]
pub struct Api {
    pub store_hash: String,
    pub access_token: SecretString,
    /// Without a trailing slash.
    pub api_base_url: String,
}

/// Checks the section of a `bigcommerce` store; `err` gets the key and the problem.
pub fn validate(section: Option<&Section>, err: &mut dyn FnMut(&str, String)) -> Option<Api> {
    let Some(bc) = section else {
        err(
            "bigcommerce",
            "platform = \"bigcommerce\" needs [bigcommerce] store_hash and access_token: its webhooks carry only the order id".into(),
        );
        return None;
    };
    let hash = bc.store_hash.trim();
    if hash.is_empty() || !hash.chars().all(|c| c.is_ascii_alphanumeric()) {
        err(
            "bigcommerce.store_hash",
            format!("{hash:?} is not a store hash such as \"abc123xyz\""),
        );
    }
    if bc.access_token.expose_secret().trim().is_empty() {
        err("bigcommerce.access_token", "is empty".into());
    }
    // Same rule as Buzzbip's URL: the access token must not travel in clear text. Shown
    // without user info or query: they may hold credentials.
    if parse_base_url(&bc.api_base_url).is_err() {
        err(
            "bigcommerce.api_base_url",
            format!(
                "{:?} is not allowed: use an https:// URL without query (http:// only for a loopback host)",
                display_url(&bc.api_base_url)
            ),
        );
    }
    Some(Api {
        store_hash: hash.to_owned(),
        access_token: bc.access_token.clone(),
        api_base_url: bc.api_base_url.trim_end_matches('/').to_owned(),
    })
}
