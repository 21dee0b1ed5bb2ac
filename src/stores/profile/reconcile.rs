//! `[reconcile]` (issue 20): the sweep that lists the orders a shop changed through its own
//! API, so an order whose webhook never came (a disabled webhook, a deploy, a network cut) is
//! still messaged, once. The API access is the platform section's (`[woocommerce]`,
//! `[shopify]`, `[stripe]`, `[bigcommerce]`, `[shopware]`); a Standard Webhooks store lists
//! from its own `reconcile.url`.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::net::{display_url, parse_base_url};
use crate::platforms::Platform;
use crate::platforms::api::ApiAccess;
use crate::platforms::reconcile::SweepAccess;

pub const DEFAULT_EVERY_MINUTES: u64 = 15;
pub const DEFAULT_LOOKBACK_HOURS: u64 = 48;
/// Stripe keeps undelivered events 30 days: looking back further finds nothing anywhere.
const MAX_LOOKBACK_HOURS: u64 = 30 * 24;

/// The section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileSection {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default, deserialize_with = "super::opt_number_or_string")]
    pub every_minutes: Option<u64>,
    /// How far back the first sweep looks (later sweeps start from where the last ended).
    #[serde(default, deserialize_with = "super::opt_number_or_string")]
    pub lookback_hours: Option<u64>,
    /// WooCommerce only: a webhook WooCommerce disabled is set back to active.
    #[serde(default)]
    pub reactivate: bool,
    /// Standard Webhooks stores only: the shop's endpoint listing its changed orders.
    pub url: Option<String>,
}

/// A store's sweep, validated.
#[derive(Debug, Clone)]
pub struct Reconcile {
    pub enabled: bool,
    pub every: Duration,
    pub lookback: Duration,
    pub reactivate: bool,
    /// What the sweep lists with; `None`: the store gives no API access (no sweep possible,
    /// and `enabled` was refused).
    pub access: Option<SweepAccess>,
}

impl Reconcile {
    /// The sweep of a store without a `[reconcile]` section: off, but its API access (if any)
    /// still serves `shopbip reconcile` and the webhook health check.
    pub fn off(access: Option<SweepAccess>) -> Self {
        Reconcile {
            enabled: false,
            every: Duration::from_secs(DEFAULT_EVERY_MINUTES * 60),
            lookback: Duration::from_secs(DEFAULT_LOOKBACK_HOURS * 3600),
            reactivate: false,
            access,
        }
    }
}

/// Checks `section` of a `platform` store whose API access is `api` and first webhook secret
/// `secret`; `err` gets the key and the problem.
pub fn validate(
    section: Option<&ReconcileSection>,
    platform: Platform,
    api: Option<&ApiAccess>,
    secret: Option<&SecretString>,
    err: &mut dyn FnMut(&str, String),
) -> Reconcile {
    let empty = ReconcileSection::default();
    let section = section.unwrap_or(&empty);
    let mut access = api.cloned().map(SweepAccess::Api);
    match (&section.url, platform) {
        (Some(url), Platform::Standard) => {
            if parse_base_url(url).is_err() {
                err(
                    "reconcile.url",
                    format!(
                        "{:?} is not allowed: use an https:// URL without query (http:// only for a loopback host)",
                        display_url(url)
                    ),
                );
            } else if let Some(secret) = secret {
                access = Some(SweepAccess::Standard {
                    url: url.trim().to_owned(),
                    secret: secret.clone(),
                });
            }
        }
        (Some(_), other) => err(
            "reconcile.url",
            format!(
                "only a platform = \"standard\" store lists its orders from its own URL; a {other} store's sweep uses the [{other}] API access"
            ),
        ),
        (None, _) => {}
    }
    let every = section.every_minutes.unwrap_or(DEFAULT_EVERY_MINUTES);
    if !(1..=1440).contains(&every) {
        err(
            "reconcile.every_minutes",
            format!("{every} is outside 1..=1440 (a day)"),
        );
    }
    let lookback = section.lookback_hours.unwrap_or(DEFAULT_LOOKBACK_HOURS);
    if !(1..=MAX_LOOKBACK_HOURS).contains(&lookback) {
        err(
            "reconcile.lookback_hours",
            format!(
                "{lookback} is outside 1..={MAX_LOOKBACK_HOURS} (30 days: Stripe keeps events no longer)"
            ),
        );
    }
    if section.reactivate && platform != Platform::Woocommerce {
        err(
            "reconcile.reactivate",
            format!(
                "only WooCommerce webhooks can be set back to active by shopbip; a {platform} store's subscription is fixed in its admin"
            ),
        );
    }
    if section.enabled && access.is_none() {
        let needs = match platform {
            Platform::Standard => {
                "reconcile.url (the shop's endpoint listing changed orders)".to_owned()
            }
            other => format!("the [{other}] section's API credentials"),
        };
        err(
            "reconcile.enabled",
            format!("a sweep lists orders through the shop's API: it needs {needs}"),
        );
    }
    Reconcile {
        enabled: section.enabled,
        every: Duration::from_secs(every.clamp(1, 1440) * 60),
        lookback: Duration::from_secs(lookback.clamp(1, MAX_LOOKBACK_HOURS) * 3600),
        reactivate: section.reactivate,
        access,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(toml: &str, platform: Platform, api: Option<&ApiAccess>) -> (Reconcile, Vec<String>) {
        let section: ReconcileSection = toml::from_str(toml).unwrap();
        let mut keys = Vec::new();
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let r = validate(Some(&section), platform, api, Some(&secret), &mut |k, _| {
            keys.push(k.to_owned())
        });
        (r, keys)
    }

    #[test]
    fn a_sweep_needs_an_access_and_names_the_key_that_gives_it() {
        let (r, keys) = run("enabled = true", Platform::Woocommerce, None);
        assert_eq!(keys, ["reconcile.enabled"]);
        assert!(r.access.is_none());
        let (r, keys) = run(
            "enabled = true\nurl = \"https://shop.test/shopbip/orders\"\nevery_minutes = \"5\"",
            Platform::Standard,
            None,
        );
        assert!(keys.is_empty(), "{keys:?}");
        assert!(matches!(r.access, Some(SweepAccess::Standard { .. })));
        assert_eq!(r.every, Duration::from_secs(300));
        assert_eq!(r.lookback, Duration::from_secs(48 * 3600));
    }

    #[test]
    fn keys_that_do_not_fit_the_platform_or_the_range_are_refused() {
        let (_, keys) = run(
            "url = \"https://shop.test/o\"\nreactivate = true\nevery_minutes = 0\nlookback_hours = 9999",
            Platform::Shopify,
            None,
        );
        assert_eq!(
            keys,
            [
                "reconcile.url",
                "reconcile.every_minutes",
                "reconcile.lookback_hours",
                "reconcile.reactivate"
            ]
        );
        let (_, keys) = run("url = \"http://shop.test/o\"", Platform::Standard, None);
        assert_eq!(keys, ["reconcile.url"]);
    }
}
