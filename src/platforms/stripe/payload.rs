//! A Stripe event and the invoice it carries: only the fields shopbip reads, each lenient
//! (`lenient.rs`), read with the `json_…` readers (numbers, ids and strings as the `Value`
//! lookups this replaced read them).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::platforms::lenient::{List, Obj, Text};

/// `{"id": "evt_…", "type": "invoice.paid", "data": {"object": <invoice>}}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Event {
    pub(super) id: Text,
    #[serde(rename = "type")]
    pub(super) topic: Text,
    pub(super) data: Obj<EventData>,
}

/// `object` is `Some` whenever the key is there, even `null` (then an invoice without an id).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct EventData {
    #[serde(deserialize_with = "present")]
    pub(super) object: Option<Obj<Invoice>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Obj<Invoice>>, D::Error> {
    Obj::deserialize(d).map(Some)
}

/// `Some` only when the field holds an array (maybe empty): `total_taxes` wins over
/// `total_tax_amounts` by being an array at all, as the API versions that have it send one.
fn array<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<Option<List<T>>, D::Error> {
    let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
    if !raw.get().trim_start().starts_with('[') {
        return Ok(None);
    }
    serde_json::from_str(raw.get())
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Invoice {
    pub(super) id: Text,
    pub(super) number: Text,
    pub(super) status: Text,
    pub(super) paid: Text,
    pub(super) currency: Text,
    pub(super) collection_method: Text,
    pub(super) customer_name: Text,
    pub(super) customer_email: Text,
    pub(super) customer_phone: Text,
    pub(super) customer_address: Obj<StripeAddress>,
    pub(super) customer_shipping: Obj<Shipping>,
    pub(super) subtotal: Text,
    pub(super) tax: Text,
    pub(super) total: Text,
    pub(super) created: Text,
    pub(super) invoice_pdf: Text,
    pub(super) status_transitions: Obj<Transitions>,
    #[serde(deserialize_with = "array")]
    pub(super) total_taxes: Option<List<StripeTax>>,
    pub(super) total_tax_amounts: List<StripeTax>,
    pub(super) total_discount_amounts: List<Amount>,
    pub(super) shipping_cost: Obj<ShippingCost>,
    pub(super) lines: Obj<Lines>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StripeAddress {
    pub(super) line1: Text,
    pub(super) line2: Text,
    pub(super) city: Text,
    pub(super) state: Text,
    pub(super) postal_code: Text,
    pub(super) country: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Shipping {
    pub(super) name: Text,
    pub(super) phone: Text,
    pub(super) address: Obj<StripeAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Transitions {
    pub(super) paid_at: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StripeTax {
    pub(super) amount: Text,
    pub(super) inclusive: Text,
    pub(super) tax_behavior: Text,
    pub(super) tax_rate: Obj<TaxRate>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct TaxRate {
    pub(super) display_name: Text,
    pub(super) percentage: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Amount {
    pub(super) amount: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ShippingCost {
    pub(super) amount_subtotal: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Lines {
    pub(super) data: List<Line>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Line {
    pub(super) description: Text,
    pub(super) quantity: Text,
    pub(super) amount: Text,
    pub(super) price: Obj<Price>,
    pub(super) pricing: Obj<Pricing>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Price {
    pub(super) unit_amount: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Pricing {
    pub(super) unit_amount_decimal: Text,
}
