//! The sweep's listing for woocommerce (issue 20): see `platforms::reconcile`.

use super::super::reconcile::{ApiError, Page, Subscription};
use super::profile::Api;

/// The page `cursor` of the orders changed at or after `since` (Unix ms).
pub async fn list_changed(
    _client: &reqwest::Client,
    _api: &Api,
    _since: i64,
    _cursor: Option<&str>,
) -> Result<Page, ApiError> {
    Err(ApiError::Permanent(
        "woocommerce: reconciliation is not built yet".into(),
    ))
}

/// Our webhooks' status in the shop; a disabled one set back to active when `reactivate`.
pub async fn subscription(
    _client: &reqwest::Client,
    _api: &Api,
    _store_id: &str,
    _reactivate: bool,
) -> Result<Subscription, ApiError> {
    Err(ApiError::Permanent(
        "woocommerce: webhook health is not built yet".into(),
    ))
}
