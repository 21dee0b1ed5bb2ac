//! A Shopify order (or refund) as its webhooks send it: only the fields shopbip reads, each
//! lenient (`lenient.rs`), everything else skipped unread.

use serde::Deserialize;

use crate::platforms::lenient::{Id, List, Obj, Text, Texts};

/// The fields of an order (or, for `refunds/create`, a refund) that shopbip reads; everything
/// else is skipped unread.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ShopifyOrder {
    pub(super) id: Id,
    pub(super) order_id: Id,
    pub(super) order_number: Text,
    pub(super) name: Text,
    pub(super) token: Text,
    pub(super) financial_status: Text,
    pub(super) fulfillment_status: Text,
    pub(super) cancelled_at: Text,
    pub(super) gateway: Text,
    pub(super) payment_gateway_names: Texts,
    pub(super) taxes_included: Text,
    pub(super) currency: Text,
    pub(super) presentment_currency: Text,
    pub(super) subtotal_price: Text,
    pub(super) total_line_items_price: Text,
    pub(super) total_discounts: Text,
    pub(super) total_tax: Text,
    pub(super) total_price: Text,
    pub(super) created_at: Text,
    pub(super) processed_at: Text,
    pub(super) email: Text,
    pub(super) phone: Text,
    /// The language the customer checked out in (`en`, `fr-CA`).
    pub(super) customer_locale: Text,
    pub(super) customer: Obj<ShopifyCustomer>,
    pub(super) billing_address: Obj<ShopifyAddress>,
    pub(super) shipping_address: Obj<ShopifyAddress>,
    pub(super) total_shipping_price_set: Obj<MoneySet>,
    pub(super) shipping_lines: List<Priced>,
    pub(super) tax_lines: List<ShopifyTax>,
    pub(super) line_items: List<ShopifyLine>,
    /// The order's refunds so far, each as `refunds/create` sent it.
    pub(super) refunds: List<ShopifyRefund>,
}

/// A refund, as `refunds/create` sends it and as an order's `refunds` lists it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ShopifyRefund {
    pub(super) id: Id,
    pub(super) order_id: Id,
    pub(super) created_at: Text,
    pub(super) processed_at: Text,
    pub(super) refund_line_items: List<RefundLine>,
    pub(super) transactions: List<RefundTransaction>,
    /// Older API versions' refunded shipping (`kind: shipping_refund`, negative amounts).
    pub(super) order_adjustments: List<Adjustment>,
    /// Newer API versions' refunded shipping.
    pub(super) refund_shipping_lines: List<RefundShipping>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RefundLine {
    pub(super) quantity: Text,
    /// After the line's discounts, for the quantity refunded.
    pub(super) subtotal: Text,
    pub(super) subtotal_set: Obj<MoneySet>,
    pub(super) total_tax: Text,
    pub(super) total_tax_set: Obj<MoneySet>,
    pub(super) line_item: Obj<RefundedItem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RefundedItem {
    pub(super) name: Text,
    pub(super) title: Text,
    pub(super) sku: Text,
    pub(super) tax_lines: List<ShopifyTax>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RefundTransaction {
    pub(super) kind: Text,
    pub(super) status: Text,
    pub(super) amount: Text,
    pub(super) currency: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Adjustment {
    pub(super) kind: Text,
    pub(super) amount: Text,
    pub(super) amount_set: Obj<MoneySet>,
    pub(super) tax_amount: Text,
    pub(super) tax_amount_set: Obj<MoneySet>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RefundShipping {
    pub(super) subtotal_amount_set: Obj<MoneySet>,
    pub(super) tax_amount_set: Obj<MoneySet>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ShopifyCustomer {
    pub(super) first_name: Text,
    pub(super) last_name: Text,
    pub(super) email: Text,
    pub(super) phone: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ShopifyAddress {
    pub(super) name: Text,
    pub(super) first_name: Text,
    pub(super) last_name: Text,
    pub(super) company: Text,
    pub(super) address1: Text,
    pub(super) address2: Text,
    pub(super) city: Text,
    pub(super) province_code: Text,
    pub(super) province: Text,
    pub(super) zip: Text,
    pub(super) country_code: Text,
    pub(super) phone: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct MoneySet {
    pub(super) shop_money: Obj<Amount>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Amount {
    pub(super) amount: Text,
    pub(super) currency_code: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Priced {
    pub(super) price: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ShopifyTax {
    pub(super) title: Text,
    pub(super) rate: Text,
    pub(super) price: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ShopifyLine {
    pub(super) name: Text,
    pub(super) title: Text,
    pub(super) sku: Text,
    pub(super) quantity: Text,
    pub(super) price: Text,
}
