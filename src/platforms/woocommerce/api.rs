//! WooCommerce's REST API: the write-back, a private order note
//! (`POST /wp-json/wc/v3/orders/{id}/notes`) with the store's consumer key and secret as HTTP
//! Basic (WooCommerce accepts Basic over https; the profile allows http only to loopback).

use secrecy::ExposeSecret;
use serde_json::json;

use super::profile::Api;
use crate::platforms::writeback::{Fixes, Note, WriteBackError, endpoint, send};

const FIXES: Fixes = Fixes {
    platform: "WooCommerce",
    auth: "WooCommerce refused the API keys: check woocommerce.consumer_key / consumer_secret (Read/Write permission)",
    base_key: "woocommerce.api_base_url (or base_uri)",
    reset_ms_header: None,
};

/// Adds `note.text` to order `order_id` as a private note (not e-mailed to the customer).
/// WooCommerce has no order tags: `note.tag` is not used.
pub async fn write_back(
    client: &reqwest::Client,
    api: &Api,
    order_id: &str,
    note: &Note<'_>,
) -> Result<(), WriteBackError> {
    // WooCommerce order ids are post ids; sequential-number plugins change `number`, not `id`.
    if order_id.is_empty() || !order_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WriteBackError::Permanent(format!(
            "WooCommerce: {:?} is not an order id",
            order_id.chars().take(40).collect::<String>()
        )));
    }
    let url = endpoint(
        &api.base_url,
        &["wp-json", "wc", "v3", "orders", order_id, "notes"],
        &FIXES,
    )?;
    let request = client
        .post(url.clone())
        .basic_auth(
            api.consumer_key.expose_secret(),
            Some(api.consumer_secret.expose_secret()),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&json!({ "note": note.text, "customer_note": false }));
    send(request, &url, &FIXES).await.map(|_| ())
}
