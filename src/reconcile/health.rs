//! Whether the shop still delivers a store's webhooks to us, as its platform shows it
//! (WooCommerce disables a webhook after repeated failed deliveries and never retries;
//! Shopify drops subscriptions that keep failing; Stripe can disable an endpoint): checked
//! after each sweep, kept per store, exported as `shopbip_webhook_subscription_ok{store}`,
//! warned about with the fix, and reported by `shopbip check --online`.

use crate::clock::now_ms;
use crate::platforms::reconcile::{ApiError, Subscription, subscription};
use crate::stores::Store;

use super::Sweeper;

/// Asks the store's platform (`None`: it cannot tell, or the store gives no API access).
pub async fn check_subscription(
    client: &reqwest::Client,
    store: &Store,
) -> Result<Option<Subscription>, ApiError> {
    let Some(access) = &store.reconcile.access else {
        return Ok(None);
    };
    subscription(
        client,
        access,
        store.id.as_str(),
        store.reconcile.reactivate,
    )
    .await
}

/// Records what the platform said: the row, the gauge, and a warning with the fix when the
/// subscription is not delivering.
pub async fn record_subscription(sweeper: &Sweeper, store: &Store, found: &Subscription) {
    let id = store.id.to_string();
    metrics::gauge!(crate::metrics::WEBHOOK_SUBSCRIPTION_OK, "store" => id.clone())
        .set(if found.ok { 1.0 } else { 0.0 });
    if found.reactivated {
        tracing::warn!(store = %id, detail = %found.detail, "the shop had disabled our webhook: set back to active (reconcile.reactivate)");
    } else if !found.ok {
        tracing::warn!(store = %id, detail = %found.detail, "the shop is not delivering this store's webhooks; the sweep catches its orders until it is fixed");
    }
    if let Err(e) = sweeper
        .sweeps
        .record_subscription(&id, found.ok, &found.detail, now_ms())
        .await
    {
        tracing::error!(store = %id, error = %e, "could not record the webhook subscription's state");
    }
}

pub(super) async fn after_sweep(sweeper: &Sweeper, store: &Store) {
    match check_subscription(&sweeper.client, store).await {
        Ok(Some(found)) => record_subscription(sweeper, store, &found).await,
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(store = %store.id, error = %e, "could not check the shop's webhook subscription")
        }
    }
}
