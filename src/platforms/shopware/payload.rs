//! A Shopware 6 webhook and the order entity it serialises: only the fields shopbip reads,
//! each lenient (`lenient.rs`), read with the `json_…` readers (numbers, ids and strings as the
//! `Value` lookups this replaced read them).

use serde::{Deserialize, Deserializer};

use crate::platforms::lenient::{List, Obj, Text};

/// `{"data": {"event": …, "payload": {…}}, "source": {"eventId": …}, "timestamp": …}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Envelope {
    pub(super) data: Obj<Data>,
    pub(super) source: Obj<Source>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Data {
    pub(super) event: Text,
    pub(super) payload: Obj<Payload>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Source {
    #[serde(rename = "eventId")]
    pub(super) event_id: Text,
}

/// Business events carry `order`; a state change of a transaction may carry the transaction
/// with its order. An `order` key holding anything but an object means no order (the
/// transaction's is not looked at), hence `Some` even for `null`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Payload {
    #[serde(deserialize_with = "present")]
    pub(super) order: Option<Obj<SwOrder>>,
    #[serde(rename = "orderTransaction")]
    pub(super) order_transaction: Obj<TransactionWithOrder>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Obj<SwOrder>>, D::Error> {
    Obj::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct TransactionWithOrder {
    pub(super) order: Obj<SwOrder>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct SwOrder {
    pub(super) id: Text,
    pub(super) order_number: Text,
    pub(super) deep_link_code: Text,
    pub(super) order_date_time: Text,
    pub(super) amount_total: Text,
    pub(super) amount_net: Text,
    pub(super) position_price: Text,
    pub(super) shipping_total: Text,
    pub(super) billing_address_id: Text,
    pub(super) currency: Obj<Currency>,
    pub(super) state_machine_state: Obj<State>,
    pub(super) price: Obj<Price>,
    pub(super) order_customer: Obj<SwCustomer>,
    pub(super) billing_address: Obj<SwAddress>,
    pub(super) addresses: List<SwAddress>,
    pub(super) deliveries: List<Delivery>,
    pub(super) line_items: List<SwLine>,
    pub(super) transactions: List<Transaction>,
    /// The order's language; its locale is there only when the event loaded that association.
    pub(super) language: Obj<Language>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Language {
    pub(super) locale: Obj<Locale>,
    pub(super) translation_code: Obj<Locale>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Locale {
    pub(super) code: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Currency {
    pub(super) iso_code: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct State {
    pub(super) technical_name: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Price {
    pub(super) total_price: Text,
    pub(super) net_price: Text,
    pub(super) position_price: Text,
    pub(super) tax_status: Text,
    pub(super) calculated_taxes: List<SwTax>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct SwTax {
    pub(super) tax_rate: Text,
    pub(super) tax: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct SwCustomer {
    pub(super) first_name: Text,
    pub(super) last_name: Text,
    pub(super) email: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct SwAddress {
    pub(super) id: Text,
    pub(super) first_name: Text,
    pub(super) last_name: Text,
    pub(super) company: Text,
    pub(super) street: Text,
    pub(super) additional_address_line1: Text,
    pub(super) city: Text,
    pub(super) zipcode: Text,
    pub(super) phone_number: Text,
    pub(super) country_state: Obj<CountryState>,
    pub(super) country: Obj<Country>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct CountryState {
    pub(super) short_code: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Country {
    pub(super) iso: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Delivery {
    pub(super) shipping_order_address: Obj<SwAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct SwLine {
    #[serde(rename = "type")]
    pub(super) kind: Text,
    pub(super) label: Text,
    pub(super) quantity: Text,
    pub(super) unit_price: Text,
    pub(super) total_price: Text,
    pub(super) payload: Obj<LinePayload>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct LinePayload {
    pub(super) product_number: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Transaction {
    pub(super) state_machine_state: Obj<State>,
    pub(super) payment_method: Obj<PaymentMethod>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct PaymentMethod {
    pub(super) handler_identifier: Text,
    pub(super) distinguishable_name: Text,
    pub(super) name: Text,
    pub(super) technical_name: Text,
}
