//! The profile sections platforms own (`[bigcommerce]`): each is read by the profile file as
//! one optional field, then checked here by the platform it belongs to. A section is required
//! by its platform when that platform fetches the order, and refused in any other store.

use super::Platform;
use super::api::ApiAccess;
use super::bigcommerce;

/// The platform sections of one profile, as written.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sections<'a> {
    pub bigcommerce: Option<&'a bigcommerce::profile::Section>,
}

impl Sections<'_> {
    /// The key of each section present, with the platform that owns it.
    fn present(&self) -> impl Iterator<Item = (&'static str, Platform)> {
        [(
            "bigcommerce",
            Platform::Bigcommerce,
            self.bigcommerce.is_some(),
        )]
        .into_iter()
        .filter_map(|(key, owner, present)| present.then_some((key, owner)))
    }
}

/// Checks the sections of a `platform` store; `err` gets the key and the problem. The API
/// access its worker calls with, for platforms that fetch the order.
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
        Platform::Woocommerce
        | Platform::Shopify
        | Platform::Stripe
        | Platform::Standard
        | Platform::Shopware => None,
    }
}
