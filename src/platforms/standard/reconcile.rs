//! The sweep's listing for standard (issue 20): see `platforms::reconcile`.

use super::super::reconcile::{ApiError, Page};
use secrecy::SecretString;

/// The page `cursor` of the orders changed at or after `since` (Unix ms).
pub async fn list_changed(
    _client: &reqwest::Client,
    _url: &str,
    _secret: &SecretString,
    _since: i64,
    _cursor: Option<&str>,
) -> Result<Page, ApiError> {
    Err(ApiError::Permanent(
        "standard: reconciliation is not built yet".into(),
    ))
}
