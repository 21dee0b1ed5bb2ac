//! The canonical order JSON as a shop posts it: only the fields shopbip reads, each lenient
//! (`lenient.rs`), everything else skipped unread. Read with the `json_…` readers: numbers
//! and ids as the `Value` lookups this replaced read them.

use serde::{Deserialize, Deserializer};

use crate::platforms::lenient::{List, Obj, Text};

/// `{"type": "<canonical event>", "data": <order>}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Envelope {
    #[serde(rename = "type")]
    pub(super) topic: Text,
    pub(super) data: Obj<StdOrder>,
}

/// A saved body for a preview: the envelope's `data` when the key is there at all (even
/// `null`, which then is an order without an id), else the body is the order itself.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DataOnly {
    #[serde(deserialize_with = "present")]
    pub(super) data: Option<Obj<StdOrder>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Obj<StdOrder>>, D::Error> {
    Obj::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StdOrder {
    pub(super) id: Text,
    pub(super) number: Text,
    pub(super) name: Text,
    pub(super) key: Text,
    pub(super) status: Text,
    pub(super) currency: Text,
    pub(super) subtotal: Text,
    pub(super) shipping_total: Text,
    pub(super) discount_total: Text,
    pub(super) tax_total: Text,
    pub(super) total: Text,
    pub(super) prices_include_tax: Text,
    pub(super) locale: Text,
    pub(super) created_at: Text,
    pub(super) paid_at: Text,
    pub(super) invoice_number: Text,
    pub(super) invoice_url: Text,
    pub(super) payment: Obj<StdPayment>,
    pub(super) customer: Obj<StdCustomer>,
    pub(super) billing: Obj<StdAddress>,
    pub(super) shipping: Obj<StdAddress>,
    pub(super) lines: List<StdLine>,
    pub(super) taxes: List<StdTax>,
    /// The refund an `order.refunded` event is about, where the shop itemises it.
    pub(super) refund: Obj<StdRefund>,
}

/// `Refund` by name: `id`, `created_at`, `lines`, `shipping`, `tax`, `taxes`, `amount`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StdRefund {
    pub(super) id: Text,
    pub(super) created_at: Text,
    pub(super) lines: List<StdLine>,
    pub(super) shipping: Text,
    pub(super) tax: Text,
    pub(super) taxes: List<StdTax>,
    pub(super) amount: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StdPayment {
    pub(super) method: Text,
    pub(super) title: Text,
    pub(super) kind: Text,
    pub(super) paid: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StdCustomer {
    pub(super) first_name: Text,
    pub(super) last_name: Text,
    pub(super) email: Text,
    pub(super) phone: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StdAddress {
    pub(super) name: Text,
    pub(super) company: Text,
    pub(super) line1: Text,
    pub(super) line2: Text,
    pub(super) city: Text,
    pub(super) state: Text,
    pub(super) postcode: Text,
    pub(super) country: Text,
    pub(super) phone: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StdLine {
    pub(super) name: Text,
    pub(super) sku: Text,
    pub(super) quantity: Text,
    pub(super) unit_price: Text,
    pub(super) total: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StdTax {
    pub(super) label: Text,
    pub(super) rate: Text,
    pub(super) amount: Text,
}
