//! The sweep's listing for stripe (issue 20): see `platforms::reconcile`.

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
        "stripe: reconciliation is not built yet".into(),
    ))
}

/// Whether the shop still has an active subscription delivering to us.
pub async fn subscription(
    _client: &reqwest::Client,
    _api: &Api,
    _store_id: &str,
) -> Result<Subscription, ApiError> {
    Err(ApiError::Permanent(
        "stripe: webhook health is not built yet".into(),
    ))
}
