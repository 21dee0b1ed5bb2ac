//! Reconciliation (issue 20): the orders a shop changed since a time, listed through its own
//! API page by page and turned into canonical events by the same mapping as its webhooks, and
//! whether the shop still delivers its webhooks to us. Each platform's calls live in
//! `<p>/reconcile.rs`; the sweep itself (watermark, lease, dedupe) is `crate::reconcile`'s.
//!
//! Every call goes through the client of [`super::api::client`] (timeouts, no redirects) to
//! URLs built by `writeback::endpoint` (the one URL policy); a failure is classed as the
//! write-back's are ([`ApiError`]): no answer, 408, 429 (with its `Retry-After`) and 5xx are
//! transient, the rest permanent with the fix.

use secrecy::SecretString;

use super::api::ApiAccess;
pub use super::writeback::WriteBackError as ApiError;
use super::{CanonicalEvent, bigcommerce, shopify, shopware, standard, stripe, woocommerce};

/// One order a sweep found.
#[derive(Debug, Clone)]
pub struct Found {
    /// The order as its webhook would have brought it; `delivery_key` and `topic` are the
    /// sweep's to set (`crate::reconcile` overwrites them).
    pub event: CanonicalEvent,
    /// The order in the shape the platform's webhooks carry it, where the listing gives that
    /// shape (WooCommerce): read for `invoice.number_meta_keys`.
    pub body: Option<Vec<u8>>,
    /// When the platform last changed the order (Unix ms): the watermark is made of these.
    pub changed_at: i64,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub found: Vec<Found>,
    /// Orders listed that map to no event (a draft, a state no rule can use) or could not be
    /// read, with why: counted and logged, never stored. (order id, reason)
    pub skipped: Vec<(String, String)>,
    /// The largest change time on this page, including skipped orders (Unix ms).
    pub newest_change: Option<i64>,
    /// Where the next page starts (a page number, a cursor, an object id), given back to the
    /// next call as it is; `None`: this was the last page.
    pub next: Option<String>,
}

/// What a sweep lists with: the platform's API access, or a Standard Webhooks store's
/// `reconcile.url`.
#[derive(Debug, Clone)]
pub enum SweepAccess {
    Api(ApiAccess),
    /// A Standard Webhooks store's own endpoint (see `plugin-config/README.md`), called signed
    /// with the store's first webhook secret as Standard Webhooks signs (so the shop checks it
    /// with the library it already uses).
    Standard {
        url: String,
        secret: SecretString,
    },
}

impl SweepAccess {
    /// Whether pages come oldest change first, so the watermark can move after each page.
    /// Otherwise (Stripe lists newest first) it moves only once the last page is stored.
    pub fn oldest_first(&self) -> bool {
        !matches!(self, SweepAccess::Api(ApiAccess::Stripe(_)))
    }
}

/// The page `cursor` (`None`: the first) of the orders changed at or after `since` (Unix ms).
pub async fn list_changed(
    client: &reqwest::Client,
    access: &SweepAccess,
    since: i64,
    cursor: Option<&str>,
) -> Result<Page, ApiError> {
    match access {
        SweepAccess::Api(ApiAccess::Woocommerce(api)) => {
            woocommerce::reconcile::list_changed(client, api, since, cursor).await
        }
        SweepAccess::Api(ApiAccess::Shopify(api)) => {
            shopify::reconcile::list_changed(client, api, since, cursor).await
        }
        SweepAccess::Api(ApiAccess::Stripe(api)) => {
            stripe::reconcile::list_changed(client, api, since, cursor).await
        }
        SweepAccess::Api(ApiAccess::Bigcommerce(api)) => {
            bigcommerce::reconcile::list_changed(client, api, since, cursor).await
        }
        SweepAccess::Api(ApiAccess::Shopware(api)) => {
            shopware::reconcile::list_changed(client, api, since, cursor).await
        }
        SweepAccess::Standard { url, secret } => {
            standard::reconcile::list_changed(client, url, secret, since, cursor).await
        }
    }
}

/// Whether the shop still delivers a store's webhooks to us, as its platform tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub ok: bool,
    /// What was found, in words, and when not ok the fix ("WooCommerce → Settings → Advanced
    /// → Webhooks: set … to Active"); never a secret.
    pub detail: String,
    /// The subscription was found disabled and set back to active (`reconcile.reactivate`).
    pub reactivated: bool,
}

/// The subscriptions of the store `store_id` (ours are those whose delivery URL's path ends
/// with `/webhooks/{store_id}`); `None` where the platform cannot tell (BigCommerce,
/// Shopware, Standard Webhooks). `reactivate`: set a disabled WooCommerce webhook back to
/// active.
pub async fn subscription(
    client: &reqwest::Client,
    access: &SweepAccess,
    store_id: &str,
    reactivate: bool,
) -> Result<Option<Subscription>, ApiError> {
    match access {
        SweepAccess::Api(ApiAccess::Woocommerce(api)) => {
            woocommerce::reconcile::subscription(client, api, store_id, reactivate)
                .await
                .map(Some)
        }
        SweepAccess::Api(ApiAccess::Shopify(api)) => {
            shopify::reconcile::subscription(client, api, store_id)
                .await
                .map(Some)
        }
        SweepAccess::Api(ApiAccess::Stripe(api)) => {
            stripe::reconcile::subscription(client, api, store_id)
                .await
                .map(Some)
        }
        _ => Ok(None),
    }
}

/// Whether `url`'s path is the store's webhook route (`…/webhooks/{store_id}`, a trailing
/// slash allowed): how a platform's list of subscriptions is searched for ours without
/// knowing the public address shopbip is reached at.
pub fn is_our_delivery_url(url: &str, store_id: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url.trim()) else {
        return false;
    };
    let path = url.path().trim_end_matches('/');
    path.strip_suffix(store_id)
        .is_some_and(|rest| rest.ends_with("/webhooks/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_delivery_url_is_found_by_its_path_whatever_the_host() {
        assert!(is_our_delivery_url(
            "https://hooks.example.com/webhooks/acme",
            "acme"
        ));
        assert!(is_our_delivery_url(
            "https://example.com/shopbip/webhooks/acme/",
            "acme"
        ));
        assert!(!is_our_delivery_url(
            "https://example.com/webhooks/acme-2",
            "acme"
        ));
        assert!(!is_our_delivery_url(
            "https://example.com/webhooks/xacme",
            "acme"
        ));
        assert!(!is_our_delivery_url("not a url", "acme"));
    }
}
