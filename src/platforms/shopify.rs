//! Shopify webhooks: `X-Shopify-Hmac-Sha256` (or `Shopify-Hmac-Sha256` in the newer delivery
//! format) = base64 HMAC-SHA256 of the raw body; the topic is in `X-Shopify-Topic`.

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;

use super::fields::{array, country, money, opt_money, text, text_or_empty};
use super::signature::verify_base64_body;
use super::{
    CanonicalEvent, Headers, ParseError, Parsed, Verified, VerifyError, WebhookPlatform,
    body_hash_key,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, TaxLine};

pub const SIGNATURE: [&str; 2] = ["X-Shopify-Hmac-Sha256", "Shopify-Hmac-Sha256"];
pub const TOPIC: [&str; 2] = ["X-Shopify-Topic", "Shopify-Topic"];
pub const WEBHOOK_ID: [&str; 2] = ["X-Shopify-Webhook-Id", "Shopify-Webhook-Id"];

pub struct Shopify;

impl WebhookPlatform for Shopify {
    fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        secrets: &[SecretString],
    ) -> Result<Verified, VerifyError> {
        verify_base64_body(SIGNATURE[0], headers.get(&SIGNATURE), body, secrets)
            .map(|()| Verified::Signed)
    }

    fn parse_order(&self, body: &[u8]) -> Result<Order, ParseError> {
        let json: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
        order(&json)
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
        let json: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
        let order = if kind == EventKind::OrderRefunded {
            refund_order(&json)?
        } else {
            order(&json)?
        };
        let delivery_key = headers
            .get(&WEBHOOK_ID)
            .map(str::to_owned)
            .unwrap_or_else(|| body_hash_key(body));
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            delivery_key,
            topic,
            kind,
            order,
        })))
    }
}

fn order(j: &Value) -> Result<Order, ParseError> {
    let id = text(j, "id").ok_or_else(|| ParseError::Invalid("order without an id".into()))?;
    let customer = j.get("customer").cloned().unwrap_or(Value::Null);
    let billing = j
        .get("billing_address")
        .filter(|v| v.is_object())
        .map(address);
    let shipping = j
        .get("shipping_address")
        .filter(|v| v.is_object())
        .map(address);
    let first = text(&customer, "first_name")
        .or_else(|| {
            billing
                .as_ref()
                .and_then(|_| text(&j["billing_address"], "first_name"))
        })
        .unwrap_or_default();
    let last = text(&customer, "last_name")
        .or_else(|| {
            billing
                .as_ref()
                .and_then(|_| text(&j["billing_address"], "last_name"))
        })
        .unwrap_or_default();
    let number = text(j, "order_number")
        .or_else(|| text(j, "name").map(|n| n.trim_start_matches('#').to_owned()))
        .unwrap_or_else(|| id.clone());
    let shipping_total = j
        .pointer("/total_shipping_price_set/shop_money/amount")
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| {
            array(j, "shipping_lines")
                .iter()
                .map(|s| money(s, "price"))
                .sum()
        });
    let taxes = array(j, "tax_lines")
        .iter()
        .map(|t| TaxLine {
            label: text(t, "title").unwrap_or_else(|| "Tax".into()),
            rate: opt_money(t, "rate").map(|r| (r * Decimal::ONE_HUNDRED).normalize()),
            amount: money(t, "price"),
        })
        .collect();
    let paid = text(j, "financial_status").as_deref() == Some("paid");
    Ok(Order {
        id,
        number,
        key: text(j, "token"),
        status: text(j, "financial_status"),
        currency: text_or_empty(j, "currency").to_ascii_uppercase(),
        subtotal: money(j, "subtotal_price"),
        shipping_total,
        discount_total: money(j, "total_discounts"),
        tax_total: money(j, "total_tax"),
        total: money(j, "total_price"),
        taxes,
        lines: array(j, "line_items").iter().map(line).collect(),
        customer: Customer {
            first_name: first,
            last_name: last,
            email: text(&customer, "email").or_else(|| text(j, "email")),
            phone: text(j, "phone").or_else(|| text(&customer, "phone")),
        },
        billing,
        shipping,
        created_at: text(j, "created_at"),
        paid_at: if paid { text(j, "processed_at") } else { None },
        invoice_number: None,
        invoice_url: None,
    })
}

/// `refunds/create` carries the refund, not the order: the order is known by id only.
fn refund_order(j: &Value) -> Result<Order, ParseError> {
    let id = text(j, "order_id")
        .ok_or_else(|| ParseError::Invalid("refund without an order_id".into()))?;
    Ok(Order {
        number: id.clone(),
        id,
        created_at: text(j, "created_at"),
        ..Order::default()
    })
}

fn address(a: &Value) -> Address {
    let name = text(a, "name").unwrap_or_else(|| {
        format!(
            "{} {}",
            text_or_empty(a, "first_name"),
            text_or_empty(a, "last_name")
        )
        .trim()
        .to_owned()
    });
    Address {
        name,
        company: text(a, "company"),
        line1: text_or_empty(a, "address1"),
        line2: text(a, "address2"),
        city: text_or_empty(a, "city"),
        state: text(a, "province_code").or_else(|| text(a, "province")),
        postcode: text(a, "zip"),
        country: country(a, "country_code"),
        phone: text(a, "phone"),
    }
}

fn line(l: &Value) -> LineItem {
    let quantity = opt_money(l, "quantity").unwrap_or(Decimal::ONE);
    let unit_price = money(l, "price");
    LineItem {
        name: text(l, "name")
            .or_else(|| text(l, "title"))
            .unwrap_or_default(),
        sku: text(l, "sku"),
        quantity,
        unit_price,
        total: unit_price * quantity,
    }
}
