//! `[shopify]`: the Admin API access a store may give so shopbip can tag each order with its
//! message's outcome and add it to the order's note (write-back). Optional: Shopify webhooks
//! carry the whole order.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::net::{display_url, parse_base_url};

/// The Admin API version calls name; Shopify supports each for a year, so it is overridable.
pub const DEFAULT_API_VERSION: &str = "2025-07";

/// The section as written in the profile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// `acme.myshopify.com`: the Admin API answers there, not on the shop's own domain.
    pub shop_domain: String,
    /// The custom app's Admin API access token (`shpat_…`, scope `write_orders`), sent as
    /// `X-Shopify-Access-Token`.
    pub admin_token: SecretString,
    /// `2025-07`, `unstable`.
    pub api_version: Option<String>,
    /// Overridable so tests (and proxies) can stand in for Shopify.
    pub api_base_url: Option<String>,
}

/// A Shopify store's Admin API access, validated.
#[derive(Debug, Clone)]
pub struct Api {
    /// `https://acme.myshopify.com` or `api_base_url`, without a trailing slash.
    pub base_url: String,
    pub api_version: String,
    pub admin_token: SecretString,
}

/// Checks the section of a `shopify` store; `err` gets the key and the problem. `None` when
/// the profile has no section (no write-back).
pub fn validate(section: Option<&Section>, err: &mut dyn FnMut(&str, String)) -> Option<Api> {
    let sh = section?;
    let domain = sh.shop_domain.trim().to_ascii_lowercase();
    let shop = domain.strip_suffix(".myshopify.com").unwrap_or("");
    if shop.is_empty()
        || shop.starts_with('-')
        || !shop.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        err(
            "shopify.shop_domain",
            format!(
                "{:?} is not a shop's myshopify.com domain such as \"acme.myshopify.com\" (Settings → Domains shows it; the Admin API answers only there)",
                sh.shop_domain
            ),
        );
    }
    if sh.admin_token.expose_secret().trim().is_empty() {
        err("shopify.admin_token", "is empty".into());
    }
    let version = sh
        .api_version
        .as_deref()
        .map(str::trim)
        .unwrap_or(DEFAULT_API_VERSION);
    if !is_api_version(version) {
        err(
            "shopify.api_version",
            format!(
                "{version:?} is not an Admin API version such as {DEFAULT_API_VERSION:?} (or \"unstable\")"
            ),
        );
    }
    let base = match &sh.api_base_url {
        Some(url) => {
            if parse_base_url(url).is_err() {
                err(
                    "shopify.api_base_url",
                    format!(
                        "{:?} is not allowed: use an https:// URL without query (http:// only for a loopback host)",
                        display_url(url)
                    ),
                );
            }
            url.trim().trim_end_matches('/').to_owned()
        }
        None => format!("https://{domain}"),
    };
    Some(Api {
        base_url: base,
        api_version: version.to_owned(),
        admin_token: SecretString::from(sh.admin_token.expose_secret().trim()),
    })
}

/// `YYYY-MM` or `unstable`: the version goes into the URL's path.
fn is_api_version(v: &str) -> bool {
    let b = v.as_bytes();
    v == "unstable"
        || (b.len() == 7
            && b[4] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(section: &str) -> (Option<Api>, Vec<(String, String)>) {
        let section: Section = toml::from_str(section).unwrap();
        let mut errors = Vec::new();
        let api = validate(Some(&section), &mut |k, m| errors.push((k.to_owned(), m)));
        (api, errors)
    }

    #[test]
    fn the_api_is_on_the_myshopify_domain_at_the_default_version() {
        let (api, errors) =
            check("shop_domain = \"Acme.myshopify.com\"\nadmin_token = \"shpat_1\"\n");
        assert!(errors.is_empty(), "{errors:?}");
        let api = api.unwrap();
        assert_eq!(api.base_url, "https://acme.myshopify.com");
        assert_eq!(api.api_version, DEFAULT_API_VERSION);
    }

    #[test]
    fn a_shop_domain_version_or_base_that_cannot_be_called_is_refused() {
        let (_, errors) = check(
            "shop_domain = \"https://acme.com/admin\"\nadmin_token = \"shpat_secret\"\napi_version = \"2025-7\"\napi_base_url = \"http://shopify.test\"\n",
        );
        let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "shopify.shop_domain",
                "shopify.api_version",
                "shopify.api_base_url"
            ]
        );
        assert!(errors.iter().all(|(_, m)| !m.contains("shpat_secret")));
        let (api, errors) = check(
            "shop_domain = \"acme.myshopify.com\"\nadmin_token = \"t\"\napi_version = \"unstable\"\napi_base_url = \"http://127.0.0.1:1/\"\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(api.unwrap().base_url, "http://127.0.0.1:1");
    }
}
