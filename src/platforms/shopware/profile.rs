//! `[shopware]`: the integration credentials a store may give so shopbip can tag each order
//! with its message's outcome (write-back). Optional: Shopware webhooks carry the whole order.

use std::sync::Arc;
use std::time::Instant;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::net::{display_url, parse_base_url};

/// The section as written in the profile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// The integration's access key ID (Settings → System → Integrations).
    pub client_id: String,
    /// Its secret access key, shown once.
    pub client_secret: SecretString,
    /// Where `/api/…` is, when not under `base_uri`.
    pub api_base_url: Option<String>,
}

/// A Shopware store's Admin API access, validated. Clones share the access token.
#[derive(Debug, Clone)]
pub struct Api {
    /// Without a trailing slash; `/api/…` goes after it.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub(crate) token: TokenCache,
}

/// The Admin API's bearer token, kept until shortly before it expires: asking for one per
/// write-back would double the calls, and Shopware rate-limits the token route. The lock is
/// held while a token is fetched, so concurrent write-backs of a store fetch one.
#[derive(Clone, Default)]
pub(crate) struct TokenCache(pub(crate) Arc<tokio::sync::Mutex<Option<Token>>>);

pub(crate) struct Token {
    pub(crate) value: SecretString,
    pub(crate) expires: Instant,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache")
    }
}

/// Checks the section of a `shopware` store whose public URL is `base_uri`; `err` gets the
/// key and the problem. `None` when the profile has no section (no write-back).
pub fn validate(
    section: Option<&Section>,
    base_uri: &str,
    err: &mut dyn FnMut(&str, String),
) -> Option<Api> {
    let sw = section?;
    if sw.client_id.trim().is_empty() {
        err("shopware.client_id", "is empty".into());
    }
    if sw.client_secret.expose_secret().trim().is_empty() {
        err("shopware.client_secret", "is empty".into());
    }
    let (key, base) = match &sw.api_base_url {
        Some(url) => ("shopware.api_base_url", url.as_str()),
        None => ("shopware", base_uri),
    };
    // The client secret is posted to `{base}/api/oauth/token`: never in clear text beyond this
    // machine.
    if parse_base_url(base).is_err() {
        let fix = if sw.api_base_url.is_some() {
            ""
        } else {
            " (it is base_uri's: set shopware.api_base_url to the shop's https:// address)"
        };
        err(
            key,
            format!(
                "{:?} is not allowed for the integration's credentials: use an https:// URL without query (http:// only for a loopback host){fix}",
                display_url(base)
            ),
        );
    }
    Some(Api {
        base_url: base.trim().trim_end_matches('/').to_owned(),
        client_id: sw.client_id.trim().to_owned(),
        client_secret: SecretString::from(sw.client_secret.expose_secret().trim()),
        token: TokenCache::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(section: &str, base_uri: &str) -> (Option<Api>, Vec<(String, String)>) {
        let section: Section = toml::from_str(section).unwrap();
        let mut errors = Vec::new();
        let api = validate(Some(&section), base_uri, &mut |k, m| {
            errors.push((k.to_owned(), m))
        });
        (api, errors)
    }

    #[test]
    fn the_base_is_the_shop_unless_api_base_url_says_otherwise_and_never_plain_http() {
        let creds = "client_id = \"SWIAX\"\nclient_secret = \"sw-secret\"\n";
        let (api, errors) = check(creds, "https://shop.test/");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(api.unwrap().base_url, "https://shop.test");
        let (_, errors) = check(creds, "http://shop.test");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "shopware");
        let (_, errors) = check(
            &format!("{creds}api_base_url = \"http://10.0.0.2\""),
            "https://shop.test",
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "shopware.api_base_url");
        assert!(!format!("{errors:?}").contains("sw-secret"));
        let (_, errors) = check(
            "client_id = \" \"\nclient_secret = \"\"\n",
            "https://shop.test",
        );
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["shopware.client_id", "shopware.client_secret"]);
    }
}
