//! BigCommerce's thin webhook and its v2 API answers (`GET /v2/orders/{id}`, `/products`,
//! `/shipping_addresses`): only the fields shopbip reads, each lenient (`lenient.rs`), read
//! with the `json_…` readers (numbers and ids as the `Value` lookups this replaced read them).

use serde::Deserialize;

use crate::platforms::lenient::{List, Obj, Text};

/// `{"scope": "store/order/statusUpdated", "data": {"id": 250, "status": {…}}}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Webhook {
    pub(super) scope: Text,
    pub(super) data: Obj<WebhookData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WebhookData {
    pub(super) id: Text,
    pub(super) status: Obj<StatusChange>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StatusChange {
    pub(super) new_status_id: Text,
}

/// The API's order; a saved one (`shopbip invoice`) may carry its `products` and
/// `shipping_addresses` answers inline (in the API's own answer `products` is a link object,
/// which reads as no lines).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct BcOrder {
    pub(super) id: Text,
    pub(super) status: Text,
    pub(super) date_created: Text,
    pub(super) currency_code: Text,
    pub(super) default_currency_code: Text,
    pub(super) payment_method: Text,
    pub(super) payment_status: Text,
    pub(super) subtotal_ex_tax: Text,
    pub(super) shipping_cost_ex_tax: Text,
    pub(super) discount_amount: Text,
    pub(super) coupon_discount: Text,
    pub(super) total_tax: Text,
    pub(super) total_inc_tax: Text,
    pub(super) billing_address: Obj<BcAddress>,
    pub(super) products: List<BcProduct>,
    pub(super) shipping_addresses: List<BcAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct BcProduct {
    pub(super) name: Text,
    pub(super) sku: Text,
    pub(super) quantity: Text,
    pub(super) price_ex_tax: Text,
    pub(super) total_ex_tax: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct BcAddress {
    pub(super) first_name: Text,
    pub(super) last_name: Text,
    pub(super) company: Text,
    pub(super) street_1: Text,
    pub(super) street_2: Text,
    pub(super) city: Text,
    pub(super) state: Text,
    pub(super) zip: Text,
    pub(super) country_iso2: Text,
    pub(super) email: Text,
    pub(super) phone: Text,
}
