//! Shopify webhooks: `X-Shopify-Hmac-Sha256` (or `Shopify-Hmac-Sha256` in the newer delivery
//! format) = base64 HMAC-SHA256 of the raw body; the topic is in `X-Shopify-Topic`.

use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Deserialize;

use super::fields::{checked_mul, checked_sum, full_name};
use super::lenient::{List, Obj, Text};
use super::signature::verify_base64_body;
use super::{
    CanonicalEvent, Headers, ParseError, Parsed, Verified, VerifyError, WebhookPlatform,
    body_hash_key, order_delivery_key,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, TaxLine};

pub const SIGNATURE: [&str; 2] = ["X-Shopify-Hmac-Sha256", "Shopify-Hmac-Sha256"];
pub const TOPIC: [&str; 2] = ["X-Shopify-Topic", "Shopify-Topic"];
pub const WEBHOOK_ID: [&str; 2] = ["X-Shopify-Webhook-Id", "Shopify-Webhook-Id"];

pub struct Shopify;

impl WebhookPlatform for Shopify {
    /// No signed send time: the window does not apply.
    fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        secrets: &[SecretString],
        _tolerance: Duration,
    ) -> Result<Verified, VerifyError> {
        verify_base64_body(SIGNATURE[0], headers.get(&SIGNATURE), body, secrets)
            .map(|()| Verified::Signed)
    }

    fn parse_order(&self, body: &[u8]) -> Result<Order, ParseError> {
        order(parse_json(body)?)
    }

    fn parse(&self, headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError> {
        let topic = headers
            .get(&TOPIC)
            .ok_or_else(|| ParseError::Invalid(format!("missing {} header", TOPIC[0])))?
            .to_owned();
        let kind = match topic.as_str() {
            "orders/create" => EventKind::OrderCreated,
            "orders/paid" => EventKind::OrderPaid,
            "orders/fulfilled" => EventKind::OrderFulfilled,
            "orders/cancelled" => EventKind::OrderCancelled,
            "refunds/create" => EventKind::OrderRefunded,
            _ => {
                return Ok(Parsed::Ignored {
                    topic,
                    reason: "topic not used by shopbip".into(),
                });
            }
        };
        let json = parse_json(body)?;
        let order = if kind == EventKind::OrderRefunded {
            refund_order(json)?
        } else {
            order(json)?
        };
        let delivery_key = order_delivery_key(
            &order.id,
            &headers
                .get(&WEBHOOK_ID)
                .map(str::to_owned)
                .unwrap_or_else(|| body_hash_key(body)),
        );
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            delivery_key,
            topic,
            kind,
            order,
        })))
    }
}

/// The fields of an order (or, for `refunds/create`, a refund) that shopbip reads; everything
/// else is skipped unread.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShopifyOrder {
    id: Text,
    order_id: Text,
    order_number: Text,
    name: Text,
    token: Text,
    financial_status: Text,
    currency: Text,
    subtotal_price: Text,
    total_discounts: Text,
    total_tax: Text,
    total_price: Text,
    created_at: Text,
    processed_at: Text,
    email: Text,
    phone: Text,
    customer: Obj<ShopifyCustomer>,
    billing_address: Obj<ShopifyAddress>,
    shipping_address: Obj<ShopifyAddress>,
    total_shipping_price_set: Obj<MoneySet>,
    shipping_lines: List<Priced>,
    tax_lines: List<ShopifyTax>,
    line_items: List<ShopifyLine>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShopifyCustomer {
    first_name: Text,
    last_name: Text,
    email: Text,
    phone: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShopifyAddress {
    name: Text,
    first_name: Text,
    last_name: Text,
    company: Text,
    address1: Text,
    address2: Text,
    city: Text,
    province_code: Text,
    province: Text,
    zip: Text,
    country_code: Text,
    phone: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MoneySet {
    shop_money: Obj<Amount>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Amount {
    amount: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Priced {
    price: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShopifyTax {
    title: Text,
    rate: Text,
    price: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShopifyLine {
    name: Text,
    title: Text,
    sku: Text,
    quantity: Text,
    price: Text,
}

fn parse_json(body: &[u8]) -> Result<ShopifyOrder, ParseError> {
    super::json(body)
}

fn order(j: ShopifyOrder) -> Result<Order, ParseError> {
    let id =
        j.id.get()
            .ok_or_else(|| ParseError::Invalid("order without an id".into()))?;
    let customer = &j.customer.value;
    let billing = j
        .billing_address
        .present
        .then(|| address(&j.billing_address.value));
    let shipping = j
        .shipping_address
        .present
        .then(|| address(&j.shipping_address.value));
    let first = customer
        .first_name
        .get()
        .or_else(|| j.billing_address.value.first_name.get())
        .unwrap_or_default();
    let last = customer
        .last_name
        .get()
        .or_else(|| j.billing_address.value.last_name.get())
        .unwrap_or_default();
    let number = j
        .order_number
        .get()
        .or_else(|| j.name.get().map(|n| n.trim_start_matches('#').to_owned()))
        .unwrap_or_else(|| id.clone());
    let shipping_total = j
        .total_shipping_price_set
        .value
        .shop_money
        .value
        .amount
        .opt_money()
        .map(Ok)
        .unwrap_or_else(|| checked_sum(j.shipping_lines.0.iter().map(|s| s.price.money())))?;
    let taxes = j
        .tax_lines
        .0
        .iter()
        .map(|t| TaxLine {
            label: t.title.get().unwrap_or_else(|| "Tax".into()),
            rate: t
                .rate
                .opt_money()
                .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
                .map(|r| r.normalize()),
            amount: t.price.money(),
        })
        .collect();
    let paid = j.financial_status.is("paid");
    Ok(Order {
        id,
        number,
        key: j.token.get(),
        status: j.financial_status.get(),
        currency: j.currency.or_empty().to_ascii_uppercase(),
        subtotal: j.subtotal_price.money(),
        shipping_total,
        discount_total: j.total_discounts.money(),
        tax_total: j.total_tax.money(),
        total: j.total_price.money(),
        taxes,
        lines: j.line_items.0.iter().map(line).collect::<Result<_, _>>()?,
        customer: Customer {
            first_name: first,
            last_name: last,
            email: customer.email.get().or_else(|| j.email.get()),
            phone: j.phone.get().or_else(|| customer.phone.get()),
        },
        billing,
        shipping,
        created_at: j.created_at.get(),
        paid_at: if paid { j.processed_at.get() } else { None },
        invoice_number: None,
        invoice_url: None,
    })
}

/// `refunds/create` carries the refund, not the order: the order is known by id only.
fn refund_order(j: ShopifyOrder) -> Result<Order, ParseError> {
    let id = j
        .order_id
        .get()
        .ok_or_else(|| ParseError::Invalid("refund without an order_id".into()))?;
    Ok(Order {
        number: id.clone(),
        id,
        created_at: j.created_at.get(),
        ..Order::default()
    })
}

fn address(a: &ShopifyAddress) -> Address {
    let name = a
        .name
        .get()
        .unwrap_or_else(|| full_name(&a.first_name.or_empty(), &a.last_name.or_empty()));
    Address {
        name,
        company: a.company.get(),
        line1: a.address1.or_empty(),
        line2: a.address2.get(),
        city: a.city.or_empty(),
        state: a.province_code.get().or_else(|| a.province.get()),
        postcode: a.zip.get(),
        country: a.country_code.country(),
        phone: a.phone.get(),
    }
}

fn line(l: &ShopifyLine) -> Result<LineItem, ParseError> {
    let quantity = l.quantity.opt_money().unwrap_or(Decimal::ONE);
    let unit_price = l.price.money();
    Ok(LineItem {
        name: l.name.get().or_else(|| l.title.get()).unwrap_or_default(),
        sku: l.sku.get(),
        quantity,
        unit_price,
        total: checked_mul(unit_price, quantity)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_past_the_decimal_range_are_refused_not_a_panic() {
        let big = "70000000000000000000000000000";
        for body in [
            format!(r#"{{"id":1,"line_items":[{{"price":"{big}","quantity":10}}]}}"#),
            format!(r#"{{"id":1,"shipping_lines":[{{"price":"{big}"}},{{"price":"{big}"}}]}}"#),
        ] {
            let err = Shopify.parse_order(body.as_bytes()).unwrap_err();
            assert_eq!(
                err,
                ParseError::Invalid("amount out of range".into()),
                "{body}"
            );
        }
    }
}
