//! Invoice and credit-note numbers: gap-free series per store, kind and period (the year when
//! `invoice.reset = "yearly"`), a number allocated once per document. The store's database
//! holds them so that a replayed job, another job of the same order, or another replica prints
//! the same number.

use async_trait::async_trait;

use super::StoreError;
use crate::clock::now_ms;
use crate::stores::profile::{NumberFormat, NumberReset, SeriesKind};

/// A number as its series gave it: its place in the series, and when it was allocated (what
/// `{year}` and `{month}` print, however much later the document is rendered again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issued {
    pub number: u64,
    pub at_ms: i64,
}

#[async_trait]
pub trait InvoiceNumbers: Send + Sync {
    /// The document's number in the store's `kind` series: the first time, the next one of the
    /// series of `at_ms`'s period under `reset` (the time is a parameter so the moment of issue
    /// is the caller's, and a year's end can be tested); every time after, the same number and
    /// time, whatever `at_ms` then is. `order_id` names the document: the order for an invoice
    /// (what a credit note passes is that refund's own key).
    async fn allocate(
        &self,
        store_id: &str,
        kind: SeriesKind,
        reset: NumberReset,
        order_id: &str,
        at_ms: i64,
    ) -> Result<Issued, StoreError>;

    /// The number `order_id` already has in the store's `kind` series, if any: a lookup that
    /// takes no number (a credit note names the order's invoice without issuing one).
    async fn find(
        &self,
        store_id: &str,
        kind: SeriesKind,
        order_id: &str,
    ) -> Result<Option<Issued>, StoreError>;

    /// The order's invoice number in the store's series that never restarts, allocated now the
    /// first time.
    async fn invoice_number(&self, store_id: &str, order_id: &str) -> Result<u64, StoreError> {
        let issued = self
            .allocate(
                store_id,
                SeriesKind::Invoice,
                NumberReset::Never,
                order_id,
                now_ms(),
            )
            .await?;
        Ok(issued.number)
    }
}

/// How an allocated invoice number is printed by default (`invoice.number_format` unset).
pub fn format_invoice_number(n: u64) -> String {
    NumberFormat::invoice_default().render(n, 0)
}

/// `InvoiceNumbers::find`, the same on both backends.
pub(crate) const FIND_NUMBER: &str = "SELECT number, created_at FROM invoice_numbers \
     WHERE store_id = $1 AND kind = $2 AND order_id = $3";
