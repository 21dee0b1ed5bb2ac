//! WooCommerce core webhooks: `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the raw body;
//! the order is the REST API v3 order. There is no "paid" topic: `order.updated` means whatever
//! its new `status`/`date_paid` mean.

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

pub const SIGNATURE: &str = "X-WC-Webhook-Signature";
pub const TOPIC: &str = "X-WC-Webhook-Topic";

pub struct WooCommerce;

impl WebhookPlatform for WooCommerce {
    fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        secrets: &[SecretString],
    ) -> Result<Verified, VerifyError> {
        let signature = headers.get(&[SIGNATURE]);
        if signature.is_none() && is_ping(body) {
            return Ok(Verified::Ping);
        }
        verify_base64_body(SIGNATURE, signature, body, secrets).map(|()| Verified::Signed)
    }

    fn parse_order(&self, body: &[u8]) -> Result<Order, ParseError> {
        let json: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
        order(&json)
    }

    fn parse(&self, headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError> {
        let topic = headers
            .get(&[TOPIC])
            .ok_or_else(|| ParseError::Invalid(format!("missing {TOPIC} header")))?
            .to_owned();
        let ignored = |reason: &str| {
            Ok(Parsed::Ignored {
                topic: topic.clone(),
                reason: reason.to_owned(),
            })
        };
        if !matches!(topic.as_str(), "order.created" | "order.updated") {
            return ignored("not an order creation or update");
        }
        let json: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
        let order = order(&json)?;
        let kind = match topic.as_str() {
            "order.created" => EventKind::OrderCreated,
            _ => match (order.status.as_deref(), order.paid_at.is_some()) {
                (Some("processing"), true) => EventKind::OrderPaid,
                (Some("completed"), _) => EventKind::OrderFulfilled,
                (Some("cancelled"), _) => EventKind::OrderCancelled,
                (Some("refunded"), _) => EventKind::OrderRefunded,
                _ => return ignored("the order's new status means no canonical event"),
            },
        };
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            // The delivery id changes on every send and can collide within a second.
            delivery_key: body_hash_key(body),
            topic,
            kind,
            order,
        })))
    }
}

/// WooCommerce's creation/activation ping: a form body `webhook_id=N`, unsigned.
fn is_ping(body: &[u8]) -> bool {
    std::str::from_utf8(body)
        .ok()
        .and_then(|s| s.trim().strip_prefix("webhook_id="))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

fn order(j: &Value) -> Result<Order, ParseError> {
    let id = text(j, "id").ok_or_else(|| ParseError::Invalid("order without an id".into()))?;
    let billing = j.get("billing").map(address);
    let shipping = j
        .get("shipping")
        .map(address)
        .filter(|a| !a.line1.is_empty() || a.phone.is_some());
    let b = j.get("billing").cloned().unwrap_or(Value::Null);
    let lines: Vec<LineItem> = array(j, "line_items").iter().map(line).collect();
    let subtotal = lines
        .iter()
        .zip(array(j, "line_items"))
        .map(|(l, raw)| opt_money(raw, "subtotal").unwrap_or(l.total))
        .sum();
    let taxes = array(j, "tax_lines")
        .iter()
        .map(|t| TaxLine {
            label: text(t, "label").unwrap_or_else(|| "Tax".into()),
            rate: opt_money(t, "rate_percent"),
            amount: money(t, "tax_total") + money(t, "shipping_tax_total"),
        })
        .collect();
    Ok(Order {
        number: text(j, "number").unwrap_or_else(|| id.clone()),
        id,
        key: text(j, "order_key"),
        status: text(j, "status"),
        currency: text_or_empty(j, "currency").to_ascii_uppercase(),
        subtotal,
        shipping_total: money(j, "shipping_total"),
        discount_total: money(j, "discount_total"),
        tax_total: money(j, "total_tax"),
        total: money(j, "total"),
        taxes,
        lines,
        customer: Customer {
            first_name: text_or_empty(&b, "first_name"),
            last_name: text_or_empty(&b, "last_name"),
            email: text(&b, "email"),
            phone: text(&b, "phone"),
        },
        billing,
        shipping,
        created_at: gmt(j, "date_created_gmt"),
        paid_at: gmt(j, "date_paid_gmt"),
        invoice_number: array(j, "meta_data")
            .iter()
            .find(|m| m.get("key").and_then(Value::as_str) == Some("_wcpdf_invoice_number"))
            .and_then(|m| text(m, "value")),
        invoice_url: None,
    })
}

/// WooCommerce writes GMT times without a zone.
fn gmt(j: &Value, key: &str) -> Option<String> {
    text(j, key).map(|t| if t.ends_with('Z') { t } else { format!("{t}Z") })
}

fn address(a: &Value) -> Address {
    let name = format!(
        "{} {}",
        text_or_empty(a, "first_name"),
        text_or_empty(a, "last_name")
    );
    Address {
        name: name.trim().to_owned(),
        company: text(a, "company"),
        line1: text_or_empty(a, "address_1"),
        line2: text(a, "address_2"),
        city: text_or_empty(a, "city"),
        state: text(a, "state"),
        postcode: text(a, "postcode"),
        country: country(a, "country"),
        phone: text(a, "phone"),
    }
}

fn line(l: &Value) -> LineItem {
    let quantity = opt_money(l, "quantity").unwrap_or(Decimal::ONE);
    let before_discount = opt_money(l, "subtotal");
    let unit_price = match before_discount {
        Some(s) if !quantity.is_zero() => s / quantity,
        _ => money(l, "price"),
    };
    LineItem {
        name: text_or_empty(l, "name"),
        sku: text(l, "sku"),
        quantity,
        unit_price,
        total: before_discount.unwrap_or_else(|| money(l, "total")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_is_recognised_only_in_its_exact_form() {
        assert!(is_ping(b"webhook_id=15"));
        assert!(!is_ping(b"webhook_id="));
        assert!(!is_ping(b"webhook_id=15&x=1"));
        assert!(!is_ping(br#"{"webhook_id":15}"#));
    }
}
