//! WooCommerce core webhooks: `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the raw body;
//! the order is the REST API v3 order. There is no "paid" topic: `order.updated` means whatever
//! its new `status`/`date_paid` mean.

use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Deserialize;

use super::fields::{checked_sum, full_name, out_of_range};
use super::lenient::{List, Obj, Text};
use super::signature::verify_base64_body;
use super::{
    CanonicalEvent, Headers, ParseError, Parsed, Verified, VerifyError, WebhookPlatform,
    body_hash_key, order_delivery_key,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, TaxLine};

pub const SIGNATURE: &str = "X-WC-Webhook-Signature";
pub const TOPIC: &str = "X-WC-Webhook-Topic";

pub struct WooCommerce;

impl WebhookPlatform for WooCommerce {
    /// No signed send time: the window does not apply.
    fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        secrets: &[SecretString],
        _tolerance: Duration,
    ) -> Result<Verified, VerifyError> {
        let signature = headers.get(&[SIGNATURE]);
        if signature.is_none() && is_ping(body) {
            return Ok(Verified::Ping);
        }
        verify_base64_body(SIGNATURE, signature, body, secrets).map(|()| Verified::Signed)
    }

    fn parse_order(&self, body: &[u8]) -> Result<Order, ParseError> {
        order(parse_json(body)?)
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
        let order = order(parse_json(body)?)?;
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
            delivery_key: order_delivery_key(&order.id, &body_key(headers, body)),
            topic,
            kind,
            order,
        })))
    }
}

/// What identifies a delivery: the delivery id changes on every send and can collide within a
/// second, so it is the body. The verified signature is already a hash of exactly that body
/// (keyed by the shop's secret), so it is used as is instead of hashing the body a second time;
/// the same body signed with another secret (after a rotation) counts as another delivery, and
/// the one-job-per-order-event-rule rule still keeps it from a second message.
fn body_key(headers: &Headers, body: &[u8]) -> String {
    use base64::Engine;
    headers
        .get(&[SIGNATURE])
        .and_then(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok()
        })
        .filter(|mac| mac.len() == 32)
        .map(|mac| format!("hmac-sha256:{}", hex::encode(mac)))
        .unwrap_or_else(|| body_hash_key(body))
}

/// WooCommerce's creation/activation ping: a form body `webhook_id=N`, unsigned.
fn is_ping(body: &[u8]) -> bool {
    std::str::from_utf8(body)
        .ok()
        .and_then(|s| s.trim().strip_prefix("webhook_id="))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// The fields of a REST API v3 order that shopbip reads; everything else is skipped unread.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcOrder {
    id: Text,
    number: Text,
    order_key: Text,
    status: Text,
    currency: Text,
    shipping_total: Text,
    discount_total: Text,
    total_tax: Text,
    total: Text,
    date_created_gmt: Text,
    date_paid_gmt: Text,
    billing: Obj<WcAddress>,
    shipping: Obj<WcAddress>,
    line_items: List<WcLine>,
    tax_lines: List<WcTax>,
    meta_data: List<WcMeta>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcAddress {
    first_name: Text,
    last_name: Text,
    company: Text,
    address_1: Text,
    address_2: Text,
    city: Text,
    state: Text,
    postcode: Text,
    country: Text,
    email: Text,
    phone: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcLine {
    name: Text,
    sku: Text,
    quantity: Text,
    subtotal: Text,
    total: Text,
    price: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcTax {
    label: Text,
    rate_percent: Text,
    tax_total: Text,
    shipping_tax_total: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WcMeta {
    key: Text,
    value: Text,
}

fn parse_json(body: &[u8]) -> Result<WcOrder, ParseError> {
    super::json(body)
}

fn order(j: WcOrder) -> Result<Order, ParseError> {
    let id =
        j.id.get()
            .ok_or_else(|| ParseError::Invalid("order without an id".into()))?;
    let billing = j.billing.present.then(|| address(&j.billing.value));
    let shipping = Some(address(&j.shipping.value))
        .filter(|a| j.shipping.present && (!a.line1.is_empty() || a.phone.is_some()));
    let b = &j.billing.value;
    let lines: Vec<LineItem> = j.line_items.0.iter().map(line).collect::<Result<_, _>>()?;
    let subtotal = checked_sum(
        lines
            .iter()
            .zip(&j.line_items.0)
            .map(|(l, raw)| raw.subtotal.opt_money().unwrap_or(l.total)),
    )?;
    let taxes = j
        .tax_lines
        .0
        .iter()
        .map(|t| {
            Ok(TaxLine {
                label: t.label.get().unwrap_or_else(|| "Tax".into()),
                rate: t.rate_percent.opt_money(),
                amount: checked_sum([t.tax_total.money(), t.shipping_tax_total.money()])?,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    Ok(Order {
        number: j.number.get().unwrap_or_else(|| id.clone()),
        id,
        key: j.order_key.get(),
        status: j.status.get(),
        currency: j.currency.or_empty().to_ascii_uppercase(),
        subtotal,
        shipping_total: j.shipping_total.money(),
        discount_total: j.discount_total.money(),
        tax_total: j.total_tax.money(),
        total: j.total.money(),
        taxes,
        lines,
        customer: Customer {
            first_name: b.first_name.or_empty(),
            last_name: b.last_name.or_empty(),
            email: b.email.get(),
            phone: b.phone.get(),
        },
        billing,
        shipping,
        created_at: gmt(&j.date_created_gmt),
        paid_at: gmt(&j.date_paid_gmt),
        invoice_number: j
            .meta_data
            .0
            .iter()
            .find(|m| m.key.is("_wcpdf_invoice_number"))
            .and_then(|m| m.value.get()),
        invoice_url: None,
    })
}

/// WooCommerce writes GMT times without a zone.
fn gmt(t: &Text) -> Option<String> {
    t.get()
        .map(|t| if t.ends_with('Z') { t } else { format!("{t}Z") })
}

fn address(a: &WcAddress) -> Address {
    Address {
        name: full_name(&a.first_name.or_empty(), &a.last_name.or_empty()),
        company: a.company.get(),
        line1: a.address_1.or_empty(),
        line2: a.address_2.get(),
        city: a.city.or_empty(),
        state: a.state.get(),
        postcode: a.postcode.get(),
        country: a.country.country(),
        phone: a.phone.get(),
    }
}

/// Decimal places a unit price worked out by division keeps: 133.000 / 12 is 11.08333333, not
/// rust_decimal's 28 digits (which every job row stored and every serialisation wrote out).
/// Cut toward zero, so rounding it later to a currency's minor unit (at most 4 places) gives
/// what rounding the exact quotient would: no midpoint of a coarser grid lies between the two.
const UNIT_PRICE_PLACES: u32 = 8;

fn line(l: &WcLine) -> Result<LineItem, ParseError> {
    let quantity = l.quantity.opt_money().unwrap_or(Decimal::ONE);
    let before_discount = l.subtotal.opt_money();
    let unit_price = match before_discount {
        Some(s) if !quantity.is_zero() => s
            .checked_div(quantity)
            .ok_or_else(out_of_range)?
            .round_dp_with_strategy(UNIT_PRICE_PLACES, rust_decimal::RoundingStrategy::ToZero),
        _ => l.price.money(),
    };
    Ok(LineItem {
        name: l.name.or_empty(),
        sku: l.sku.get(),
        quantity,
        unit_price,
        total: before_discount.unwrap_or_else(|| l.total.money()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_past_the_decimal_range_are_refused_not_a_panic() {
        let big = "70000000000000000000000000000";
        for lines in [
            format!(r#"[{{"subtotal":"{big}","quantity":"0.0000001"}}]"#),
            format!(r#"[{{"subtotal":"{big}"}},{{"subtotal":"{big}"}}]"#),
        ] {
            let body = format!(r#"{{"id":1,"line_items":{lines}}}"#);
            let err = WooCommerce.parse_order(body.as_bytes()).unwrap_err();
            assert_eq!(
                err,
                ParseError::Invalid("amount out of range".into()),
                "{lines}"
            );
        }
    }

    #[test]
    fn divided_unit_prices_keep_eight_places_and_display_as_the_exact_quotient() {
        let body = r#"{"id":1,"currency":"TND","line_items":[
            {"quantity":12,"subtotal":"133.000"},
            {"quantity":3,"subtotal":"-10.00"},
            {"quantity":4,"subtotal":"10.00"},
            {"quantity":"3","subtotal":"0.01499999999"}]}"#;
        let order = WooCommerce.parse_order(body.as_bytes()).unwrap();
        let prices: Vec<String> = order
            .lines
            .iter()
            .map(|l| l.unit_price.to_string())
            .collect();
        assert_eq!(prices, ["11.08333333", "-3.33333333", "2.50", "0.00499999"]);
        // Cut, not rounded: 0.0049999999966… rounded to 8 places would be 0.005, shown as 0.01;
        // the exact quotient shows as 0.00, and so does the cut one.
        assert_eq!(
            crate::order::format_money(order.lines[3].unit_price, "EUR"),
            "EUR 0.00"
        );
        assert_eq!(
            crate::order::format_money(order.lines[0].unit_price, "TND"),
            "TND 11.083"
        );
    }

    #[test]
    fn the_delivery_key_is_the_body_hash_under_the_order_id() {
        let unsigned = Headers::new([(TOPIC.to_owned(), "order.updated".to_owned())]);
        let key = |headers: &Headers, body: &str| match WooCommerce
            .parse(headers, body.as_bytes())
            .unwrap()
        {
            Parsed::Event(e) => e.delivery_key,
            other => panic!("{other:?}"),
        };
        let paid = r#"{"id":5120,"status":"processing","date_paid_gmt":"2026-11-25T10:00:00"}"#;
        let again = key(&unsigned, paid);
        assert_eq!(
            key(&unsigned, paid),
            again,
            "a repeat of the same body is the same delivery"
        );
        assert_eq!(again, format!("5120/{}", body_hash_key(paid.as_bytes())));
        let edited = paid.replace("10:00:00", "10:00:01");
        assert_ne!(key(&unsigned, &edited), again);

        // Signed, the verified signature stands for the body: no second hash of it.
        let signed = |body: &str, secret: &str| {
            let mac = super::super::signature::hmac_sha256(secret.as_bytes(), &[body.as_bytes()]);
            let headers = Headers::new([
                (TOPIC.to_owned(), "order.updated".to_owned()),
                (
                    SIGNATURE.to_owned(),
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &mac),
                ),
            ]);
            (key(&headers, body), hex::encode(mac))
        };
        let (first, mac) = signed(paid, "s1");
        assert_eq!(first, format!("5120/hmac-sha256:{mac}"));
        assert_eq!(signed(paid, "s1").0, first, "a resend is the same delivery");
        assert_ne!(signed(&edited, "s1").0, first, "an edit is a new delivery");
        assert_ne!(signed(paid, "s2").0, first);
    }

    #[test]
    fn ping_is_recognised_only_in_its_exact_form() {
        assert!(is_ping(b"webhook_id=15"));
        assert!(!is_ping(b"webhook_id="));
        assert!(!is_ping(b"webhook_id=15&x=1"));
        assert!(!is_ping(br#"{"webhook_id":15}"#));
    }
}
