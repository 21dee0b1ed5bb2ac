//! Invoice numbers: one gapless sequence per store, allocated once per order. The store's
//! database holds them so that a replayed job, or another replica, prints the same number.

use async_trait::async_trait;

use super::StoreError;

#[async_trait]
pub trait InvoiceNumbers: Send + Sync {
    /// The store's invoice number for this order: allocated from the store's sequence the
    /// first time, the same number every time after.
    async fn invoice_number(&self, store_id: &str, order_id: &str) -> Result<u64, StoreError>;
}

/// How an allocated invoice number is printed.
pub fn format_invoice_number(n: u64) -> String {
    format!("INV-{n:06}")
}
