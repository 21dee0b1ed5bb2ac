//! The profile sections platforms own (`[bigcommerce]`, `[woocommerce]`, `[shopify]`,
//! `[shopware]`): each is read by the profile file as one optional field, then checked here by
//! the platform it belongs to. A section is required by its platform when that platform
//! fetches the order (BigCommerce), optional where it only enables write-back, and refused in
//! any other store.

use super::Platform;
use super::api::ApiAccess;
use super::{bigcommerce, shopify, shopware, stripe, woocommerce};

/// The platform sections of one profile, as written, with the store's `base_uri` (the API base
/// of platforms whose API lives on the shop itself).
#[derive(Debug, Default, Clone, Copy)]
pub struct Sections<'a> {
    pub base_uri: &'a str,
    pub bigcommerce: Option<&'a bigcommerce::profile::Section>,
    pub woocommerce: Option<&'a woocommerce::profile::Section>,
    pub shopify: Option<&'a shopify::profile::Section>,
    pub shopware: Option<&'a shopware::profile::Section>,
    pub stripe: Option<&'a stripe::profile::Section>,
}

impl Sections<'_> {
    /// The key of each section present, with the platform that owns it.
    fn present(&self) -> impl Iterator<Item = (&'static str, Platform)> {
        [
            (
                "bigcommerce",
                Platform::Bigcommerce,
                self.bigcommerce.is_some(),
            ),
            (
                "woocommerce",
                Platform::Woocommerce,
                self.woocommerce.is_some(),
            ),
            ("shopify", Platform::Shopify, self.shopify.is_some()),
            ("shopware", Platform::Shopware, self.shopware.is_some()),
            ("stripe", Platform::Stripe, self.stripe.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, owner, present)| present.then_some((key, owner)))
    }
}

/// Checks the sections of a `platform` store; `err` gets the key and the problem. The API
/// access of the store, when its profile gives one: the order fetch of platforms that need it,
/// and the write-back (`super::writeback`).
pub fn validate(
    platform: Platform,
    sections: Sections<'_>,
    err: &mut dyn FnMut(&str, String),
) -> Option<ApiAccess> {
    for (key, owner) in sections.present() {
        if owner != platform {
            err(
                key,
                format!("only used by platform = \"{owner}\", not {platform}"),
            );
        }
    }
    match platform {
        Platform::Bigcommerce => {
            bigcommerce::profile::validate(sections.bigcommerce, err).map(ApiAccess::Bigcommerce)
        }
        Platform::Woocommerce => {
            woocommerce::profile::validate(sections.woocommerce, sections.base_uri, err)
                .map(ApiAccess::Woocommerce)
        }
        Platform::Shopify => {
            shopify::profile::validate(sections.shopify, err).map(ApiAccess::Shopify)
        }
        Platform::Shopware => {
            shopware::profile::validate(sections.shopware, sections.base_uri, err)
                .map(ApiAccess::Shopware)
        }
        Platform::Stripe => stripe::profile::validate(sections.stripe, err).map(ApiAccess::Stripe),
        Platform::Standard => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(platform: Platform, sections: Sections<'_>) -> (bool, Vec<(String, String)>) {
        let mut errors = Vec::new();
        let api = validate(platform, sections, &mut |k, m| {
            errors.push((k.to_owned(), m))
        });
        (api.is_some(), errors)
    }

    #[test]
    fn a_section_on_another_platform_is_refused_and_optional_ones_may_be_left_out() {
        let woo: woocommerce::profile::Section =
            toml::from_str("consumer_key = \"ck_1\"\nconsumer_secret = \"cs_2\"\n").unwrap();
        let shopify: shopify::profile::Section =
            toml::from_str("shop_domain = \"a.myshopify.com\"\nadmin_token = \"t\"\n").unwrap();
        let shopware: shopware::profile::Section =
            toml::from_str("client_id = \"i\"\nclient_secret = \"s\"\n").unwrap();
        let all = Sections {
            base_uri: "https://shop.test",
            woocommerce: Some(&woo),
            shopify: Some(&shopify),
            shopware: Some(&shopware),
            bigcommerce: None,
            stripe: None,
        };
        for (platform, own) in [
            (Platform::Woocommerce, "woocommerce"),
            (Platform::Shopify, "shopify"),
            (Platform::Shopware, "shopware"),
        ] {
            let (api, errors) = run(platform, all);
            assert!(api, "{platform}: its own section gives the access");
            let mut keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
            keys.sort();
            let mut others: Vec<&str> = ["woocommerce", "shopify", "shopware"]
                .into_iter()
                .filter(|k| *k != own)
                .collect();
            others.sort();
            assert_eq!(keys, others, "{platform}: {errors:?}");
            assert!(
                errors
                    .iter()
                    .all(|(_, m)| m.contains(&format!("not {platform}"))),
                "{errors:?}"
            );
        }
        let (api, errors) = run(
            Platform::Stripe,
            Sections {
                base_uri: "https://shop.test",
                woocommerce: Some(&woo),
                ..Sections::default()
            },
        );
        assert!(!api);
        assert_eq!(errors.len(), 1, "{errors:?}");
        for platform in [Platform::Woocommerce, Platform::Shopify, Platform::Shopware] {
            let (api, errors) = run(
                platform,
                Sections {
                    base_uri: "https://shop.test",
                    ..Sections::default()
                },
            );
            assert!(!api && errors.is_empty(), "{platform}: {errors:?}");
        }
        let (api, errors) = run(Platform::Bigcommerce, Sections::default());
        assert!(!api);
        assert_eq!(errors[0].0, "bigcommerce", "still required: {errors:?}");
    }
}
