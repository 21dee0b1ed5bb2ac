//! The sweep's listing for bigcommerce (issue 20): see `platforms::reconcile`.

use super::super::reconcile::{ApiError, Page};
use super::profile::Api;

/// The page `cursor` of the orders changed at or after `since` (Unix ms).
pub async fn list_changed(
    _client: &reqwest::Client,
    _api: &Api,
    _since: i64,
    _cursor: Option<&str>,
) -> Result<Page, ApiError> {
    Err(ApiError::Permanent(
        "bigcommerce: reconciliation is not built yet".into(),
    ))
}
