//! `[woocommerce]`: REST API keys a store may give so shopbip can record each message's outcome
//! as a private order note (write-back). Optional: WooCommerce webhooks carry the whole order.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::net::{display_url, parse_base_url};

/// The section as written in the profile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// `ck_…` of WooCommerce → Settings → Advanced → REST API (permission Read/Write). A
    /// secret too: with the consumer secret it is the HTTP Basic login.
    pub consumer_key: SecretString,
    /// `cs_…`, shown once when the key is made.
    pub consumer_secret: SecretString,
    /// Where `/wp-json/…` is, when not under `base_uri` (a stand-in, a proxy, a shop whose
    /// public URL is not the WordPress one).
    pub api_base_url: Option<String>,
}

/// A WooCommerce store's REST API access, validated.
#[derive(Debug, Clone)]
pub struct Api {
    /// Without a trailing slash; `/wp-json/wc/v3/…` goes after it.
    pub base_url: String,
    pub consumer_key: SecretString,
    pub consumer_secret: SecretString,
}

/// Checks the section of a `woocommerce` store whose public URL is `base_uri`; `err` gets the
/// key and the problem. `None` when the profile has no section (no write-back).
pub fn validate(
    section: Option<&Section>,
    base_uri: &str,
    err: &mut dyn FnMut(&str, String),
) -> Option<Api> {
    let wc = section?;
    // The prefixes WooCommerce gives its keys: a key pasted in the other field, or an
    // application password, fails here rather than as a 401 on the first order.
    for (key, value, prefix) in [
        ("woocommerce.consumer_key", &wc.consumer_key, "ck_"),
        ("woocommerce.consumer_secret", &wc.consumer_secret, "cs_"),
    ] {
        let value = value.expose_secret().trim();
        if value.is_empty() {
            err(key, "is empty".into());
        } else if !value.starts_with(prefix) {
            err(
                key,
                format!(
                    "is not a WooCommerce REST API key (they start with {prefix:?}): make one under WooCommerce → Settings → Advanced → REST API with Read/Write permission"
                ),
            );
        }
    }
    let (key, base) = match &wc.api_base_url {
        Some(url) => ("woocommerce.api_base_url", url.as_str()),
        None => ("woocommerce", base_uri),
    };
    // HTTP Basic carries the keys as they are: never in clear text beyond this machine.
    if parse_base_url(base).is_err() {
        let fix = if wc.api_base_url.is_some() {
            ""
        } else {
            " (it is base_uri's: set woocommerce.api_base_url to the shop's https:// address)"
        };
        err(
            key,
            format!(
                "{:?} is not allowed for the API keys: use an https:// URL without query (http:// only for a loopback host){fix}",
                display_url(base)
            ),
        );
    }
    Some(Api {
        base_url: base.trim().trim_end_matches('/').to_owned(),
        consumer_key: SecretString::from(wc.consumer_key.expose_secret().trim()),
        consumer_secret: SecretString::from(wc.consumer_secret.expose_secret().trim()),
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

    const KEYS: &str = "consumer_key = \"ck_live1\"\nconsumer_secret = \"cs_live2\"\n";

    #[test]
    fn the_base_is_the_shop_unless_api_base_url_says_otherwise() {
        let (api, errors) = check(KEYS, "https://shop.test/");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(api.unwrap().base_url, "https://shop.test");
        let (api, errors) = check(
            &format!("{KEYS}api_base_url = \"http://127.0.0.1:9000/wp/\""),
            "https://shop.test",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(api.unwrap().base_url, "http://127.0.0.1:9000/wp");
        let mut errors = Vec::new();
        assert!(
            validate(None, "https://shop.test", &mut |k, m| errors
                .push((k.to_owned(), m)))
            .is_none()
        );
        assert!(errors.is_empty(), "no section: no write-back, no error");
    }

    #[test]
    fn keys_never_travel_over_plain_http_to_another_host() {
        let (_, errors) = check(KEYS, "http://shop.test");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "woocommerce");
        assert!(
            errors[0].1.contains("woocommerce.api_base_url"),
            "{errors:?}"
        );
        let (_, errors) = check(
            &format!("{KEYS}api_base_url = \"http://wp.shop.test\""),
            "https://shop.test",
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "woocommerce.api_base_url");
    }

    #[test]
    fn swapped_or_foreign_keys_are_named_without_their_value() {
        let (_, errors) = check(
            "consumer_key = \"cs_swapped\"\nconsumer_secret = \"ck_swapped\"\n",
            "https://shop.test",
        );
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["woocommerce.consumer_key", "woocommerce.consumer_secret"]
        );
        assert!(
            errors.iter().all(|(_, m)| !m.contains("swapped")),
            "{errors:?}"
        );
    }
}
