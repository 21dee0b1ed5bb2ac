//! Calls to the platforms' own APIs: the order fetch of platforms whose webhooks carry only its
//! id (BigCommerce), and the write-back of a message's outcome to the order
//! (`super::writeback`), made by the worker, never by the webhook request (it must answer at
//! once).

use std::time::Duration;

use super::{bigcommerce, shopify, shopware, stripe, woocommerce};
use crate::order::Order;

/// What a store's platform section gave for its API calls (see [`super::profile`]).
#[derive(Debug, Clone)]
pub enum ApiAccess {
    Bigcommerce(bigcommerce::profile::Api),
    Woocommerce(woocommerce::profile::Api),
    Shopify(shopify::profile::Api),
    Shopware(shopware::profile::Api),
    /// Read-only: the sweep's event listing and the webhook endpoint check (issue 20).
    Stripe(stripe::profile::Api),
}

impl ApiAccess {
    /// The platform whose API this is.
    pub fn platform(&self) -> super::Platform {
        match self {
            ApiAccess::Bigcommerce(_) => super::Platform::Bigcommerce,
            ApiAccess::Woocommerce(_) => super::Platform::Woocommerce,
            ApiAccess::Shopify(_) => super::Platform::Shopify,
            ApiAccess::Shopware(_) => super::Platform::Shopware,
            ApiAccess::Stripe(_) => super::Platform::Stripe,
        }
    }

    /// Whether message outcomes are written back to the shop's orders with this access
    /// (Stripe's key is for the sweep only: an invoice has no note to add to).
    pub fn writes_back(&self) -> bool {
        !matches!(self, ApiAccess::Stripe(_))
    }
}

/// The client API calls go through. Redirects are not followed: reqwest would carry the
/// credentials' header (`X-Auth-Token`, `X-Shopify-Access-Token`, a bearer token; Basic auth
/// too) to whatever host the answer names, so a redirect is an error instead.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shopbip/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| panic!("cannot initialise the HTTP client: {e}"))
}

/// `url` fields are shown without user info or query (`display_url`): they end up in logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OrderFetchError {
    #[error("fetching order {order} from {url} failed: {reason}")]
    Transient {
        order: String,
        url: String,
        reason: String,
        retry_after: Option<Duration>,
    },
    #[error("fetching order {order} from {url} failed for good: {reason}")]
    Permanent {
        order: String,
        url: String,
        reason: String,
    },
}

/// The order `order_id` from the platform's API. `client` must not follow redirects
/// ([`client`]).
pub async fn fetch_order(
    client: &reqwest::Client,
    access: &ApiAccess,
    order_id: &str,
) -> Result<Order, OrderFetchError> {
    match access {
        ApiAccess::Bigcommerce(api) => bigcommerce::api::fetch_order(client, api, order_id).await,
        ApiAccess::Shopify(api) => shopify::api::fetch_order(client, api, order_id).await,
        // Their webhooks carry the whole order: their access is for the write-back only.
        other => Err(OrderFetchError::Permanent {
            order: order_id.to_owned(),
            url: String::new(),
            reason: format!(
                "{} webhooks carry the whole order: there is nothing to fetch",
                other.platform()
            ),
        }),
    }
}
