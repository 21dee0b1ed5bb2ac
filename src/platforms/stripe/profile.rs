//! `[stripe]`: the API key a store may give so shopbip can sweep the events Stripe kept
//! (`GET /v1/events`, issue 20) and check its webhook endpoint. Optional: Stripe's webhooks
//! carry the whole invoice; without the key a store simply has no sweep.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::net::{display_url, parse_base_url};

pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// The section as written in the profile.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// A restricted key (`rk_live_…`) with read access to Events and Webhook Endpoints is all
    /// shopbip needs; a secret key (`sk_…`) works too. Sent as a bearer token.
    pub secret_key: SecretString,
    /// Overridable so tests (and proxies) can stand in for Stripe.
    pub api_base_url: Option<String>,
}

/// A Stripe store's API access, validated.
#[derive(Debug, Clone)]
pub struct Api {
    /// `https://api.stripe.com` or `api_base_url`, without a trailing slash.
    pub base_url: String,
    pub secret_key: SecretString,
}

/// Checks the section of a `stripe` store; `err` gets the key and the problem. `None` when
/// the profile has no section.
pub fn validate(section: Option<&Section>, err: &mut dyn FnMut(&str, String)) -> Option<Api> {
    let st = section?;
    let key = st.secret_key.expose_secret().trim();
    if key.is_empty() {
        err("stripe.secret_key", "is empty".into());
    } else if !(key.starts_with("rk_") || key.starts_with("sk_")) {
        // A `whsec_…` or a publishable `pk_…` pasted here fails now, not at the first sweep.
        err(
            "stripe.secret_key",
            "is not a Stripe API key (they start with \"rk_\" or \"sk_\"): make a restricted key with read access to Events and Webhook Endpoints under Developers → API keys".into(),
        );
    }
    let base = st.api_base_url.as_deref().unwrap_or(DEFAULT_API_BASE);
    if parse_base_url(base).is_err() {
        err(
            "stripe.api_base_url",
            format!(
                "{:?} is not allowed: use an https:// URL without query (http:// only for a loopback host)",
                display_url(base)
            ),
        );
    }
    Some(Api {
        base_url: base.trim().trim_end_matches('/').to_owned(),
        secret_key: SecretString::from(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(section: &str) -> (Option<Api>, Vec<String>) {
        let section: Section = toml::from_str(section).unwrap();
        let mut keys = Vec::new();
        let api = validate(Some(&section), &mut |k, m| {
            assert!(!m.contains("whsec_secret"), "{m}");
            keys.push(k.to_owned())
        });
        (api, keys)
    }

    #[test]
    fn a_restricted_key_is_taken_and_a_webhook_secret_is_not() {
        let (api, keys) = check("secret_key = \"rk_test_1\"\n");
        assert!(keys.is_empty(), "{keys:?}");
        assert_eq!(api.unwrap().base_url, DEFAULT_API_BASE);
        let (_, keys) = check("secret_key = \"whsec_secret\"\n");
        assert_eq!(keys, ["stripe.secret_key"]);
        let (_, keys) =
            check("secret_key = \"sk_test_1\"\napi_base_url = \"http://stripe.example\"\n");
        assert_eq!(keys, ["stripe.api_base_url"]);
    }
}
