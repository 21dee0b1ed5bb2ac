//! The REST API v3 order as WooCommerce sends it: only the fields shopbip reads, each lenient
//! (`lenient.rs`), everything else skipped unread.

use serde::Deserialize;

use crate::platforms::lenient::{Id, List, Obj, Text};

/// The fields of a REST API v3 order that shopbip reads; everything else is skipped unread.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WcOrder {
    pub(super) id: Id,
    pub(super) number: Text,
    pub(super) order_key: Text,
    pub(super) status: Text,
    pub(super) currency: Text,
    pub(super) shipping_total: Text,
    pub(super) discount_total: Text,
    pub(super) total_tax: Text,
    pub(super) total: Text,
    pub(super) date_created_gmt: Text,
    pub(super) date_paid_gmt: Text,
    pub(super) payment_method: Text,
    pub(super) payment_method_title: Text,
    pub(super) fee_lines: List<WcFee>,
    pub(super) billing: Obj<WcAddress>,
    pub(super) shipping: Obj<WcAddress>,
    pub(super) line_items: List<WcLine>,
    pub(super) tax_lines: List<WcTax>,
    pub(super) meta_data: List<WcMeta>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WcAddress {
    pub(super) first_name: Text,
    pub(super) last_name: Text,
    pub(super) company: Text,
    pub(super) address_1: Text,
    pub(super) address_2: Text,
    pub(super) city: Text,
    pub(super) state: Text,
    pub(super) postcode: Text,
    pub(super) country: Text,
    pub(super) email: Text,
    pub(super) phone: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WcLine {
    pub(super) name: Text,
    pub(super) sku: Text,
    pub(super) quantity: Text,
    pub(super) subtotal: Text,
    pub(super) total: Text,
    pub(super) price: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WcTax {
    pub(super) label: Text,
    pub(super) rate_percent: Text,
    pub(super) tax_total: Text,
    pub(super) shipping_tax_total: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WcMeta {
    pub(super) key: Text,
    pub(super) value: Text,
}

/// A fee the shop added (a cash on delivery fee, a gift wrap): a line of the invoice.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WcFee {
    pub(super) name: Text,
    pub(super) total: Text,
}

/// Only the order's meta, for a store's own invoice-number keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WcMetaOnly {
    pub(super) meta_data: List<WcMeta>,
}
