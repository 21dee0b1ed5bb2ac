//! A saved order payload, as the store's platform sends it, turned into the order and number
//! its invoice shows: what `shopbip invoice --order` and the console's invoice preview render.

use crate::order::Order;
use crate::stores::Store;

/// The number a preview prints when the payload carries none (no sequence number is spent).
pub const PREVIEW_NUMBER: &str = "PREVIEW";

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("not a {platform} order: {reason}")]
    Parse { platform: String, reason: String },
    #[error("the order's amounts are not usable: {0}")]
    Amounts(String),
}

/// The order in `body` completed as the store completes orders, and its invoice number (the
/// platform's, else [`PREVIEW_NUMBER`]).
pub fn order_from_payload(store: &Store, body: &[u8]) -> Result<(Order, String), PayloadError> {
    let adapter = store.platform.adapter();
    let mut order = adapter.parse_order(body).map_err(|e| PayloadError::Parse {
        platform: store.platform.to_string(),
        reason: e.to_string(),
    })?;
    order.check_amounts().map_err(PayloadError::Amounts)?;
    store.complete_order(&mut order);
    if let Some(number) = adapter.invoice_number(body, &store.invoice.number_meta_keys) {
        order.invoice_number = Some(number);
    }
    let number = order
        .invoice_number
        .clone()
        .unwrap_or_else(|| PREVIEW_NUMBER.to_owned());
    Ok((order, number))
}
