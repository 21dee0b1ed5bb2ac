//! Shopware 6 app webhooks: `shopware-shop-signature` = hex HMAC-SHA256 of the raw body keyed
//! with the shop's secret. The body carries its send time (`timestamp`) inside the signed bytes,
//! which gives a replay window; the event name is `data.event` and business events carry the
//! order entity in `data.payload.order`.

use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

use super::fields::{
    LineFields, array, checked_sub, country, full_name, line_item, money, opt_money, text,
    text_or_empty,
};
use super::signature::{unix_now, verify_hex_body, within};
use super::{
    CanonicalEvent, Headers, ParseError, Parsed, Verified, VerifyError, WebhookPlatform,
    body_hash_key,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, TaxLine};

pub const SIGNATURE: &str = "shopware-shop-signature";
/// Sent by Shopware releases with the reworked delivery contract, outside the signature: the
/// delivery key is the signed `source.eventId`, this header only when the body has none.
pub const EVENT_ID: &str = "X-Shopware-Event-Id";

pub struct Shopware;

impl WebhookPlatform for Shopware {
    fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        secrets: &[SecretString],
        tolerance: Duration,
    ) -> Result<Verified, VerifyError> {
        verify_at(
            headers.get(&[SIGNATURE]),
            body,
            secrets,
            unix_now(),
            tolerance,
        )
        .map(|()| Verified::Signed)
    }

    fn parse_order(&self, body: &[u8]) -> Result<Order, ParseError> {
        let json: Value = super::json(body)?;
        let entity = order_entity(&json).unwrap_or(&json);
        order(entity)
    }

    fn parse(&self, headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError> {
        let json: Value = super::json(body)?;
        let topic = json
            .pointer("/data/event")
            .and_then(Value::as_str)
            .ok_or_else(|| ParseError::Invalid("body without data.event".into()))?
            .to_owned();
        let kind = match topic.as_str() {
            "checkout.order.placed" => EventKind::OrderCreated,
            "state_enter.order_transaction.state.paid" => EventKind::OrderPaid,
            "state_enter.order_delivery.state.shipped" => EventKind::OrderFulfilled,
            "state_enter.order.state.cancelled" => EventKind::OrderCancelled,
            "state_enter.order_transaction.state.refunded" => EventKind::OrderRefunded,
            _ => {
                return Ok(Parsed::Ignored {
                    topic,
                    reason: "event not used by shopbip".into(),
                });
            }
        };
        let entity = order_entity(&json)
            .ok_or_else(|| ParseError::Invalid("event without an order in data.payload".into()))?;
        // The body's id first: it is signed, so whoever holds a captured delivery cannot give
        // it a fresh id (and a second job) by changing a header.
        let delivery_key = json
            .pointer("/source/eventId")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                headers
                    .get(&[EVENT_ID])
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
            })
            // Shops before 6.4.11 send no event id; a retry repeats the same bytes.
            .unwrap_or_else(|| body_hash_key(body));
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            delivery_key,
            topic,
            kind,
            order: order(entity)?,
        })))
    }
}

/// Only the send time, read after the signature matched: the full parse happens once, later.
#[derive(Deserialize)]
struct SentAt {
    timestamp: Option<i64>,
}

pub fn verify_at(
    header: Option<&str>,
    body: &[u8],
    secrets: &[SecretString],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    verify_hex_body(SIGNATURE, header, body, secrets)?;
    // The timestamp is part of the signed body, so it cannot be moved without the secret.
    let sent = serde_json::from_slice::<SentAt>(body)
        .ok()
        .and_then(|s| s.timestamp)
        .ok_or(VerifyError::Malformed("timestamp"))?;
    if !within(sent, now, tolerance) {
        return Err(VerifyError::Stale(tolerance.as_secs()));
    }
    Ok(())
}

/// Business events carry `payload.order`; a state change of a transaction may carry the
/// transaction with its order.
fn order_entity(json: &Value) -> Option<&Value> {
    let payload = json.pointer("/data/payload")?;
    payload
        .get("order")
        .or_else(|| payload.pointer("/orderTransaction/order"))
        .filter(|o| o.is_object())
}

fn order(o: &Value) -> Result<Order, ParseError> {
    let id = text(o, "id").ok_or_else(|| ParseError::Invalid("order without an id".into()))?;
    let customer = o.get("orderCustomer").cloned().unwrap_or(Value::Null);
    let billing_entity = o
        .get("billingAddress")
        .filter(|a| a.is_object())
        .or_else(|| {
            // Without the association loaded, the billing address is one of `addresses`.
            let billing_id = text(o, "billingAddressId")?;
            array(o, "addresses")
                .iter()
                .find(|a| text(a, "id").as_deref() == Some(billing_id.as_str()))
        });
    let shipping_entity = array(o, "deliveries")
        .iter()
        .find_map(|d| d.get("shippingOrderAddress").filter(|a| a.is_object()));
    let price = o.get("price").cloned().unwrap_or(Value::Null);
    let taxes: Vec<TaxLine> = array(&price, "calculatedTaxes")
        .iter()
        .map(|t| {
            let rate = opt_money(t, "taxRate");
            TaxLine {
                label: rate
                    .map(|r| format!("Tax {}%", r.normalize()))
                    .unwrap_or_else(|| "Tax".into()),
                rate,
                amount: money(t, "tax"),
            }
        })
        .collect();
    let total = opt_money(o, "amountTotal").unwrap_or_else(|| money(&price, "totalPrice"));
    let net = opt_money(o, "amountNet").unwrap_or_else(|| money(&price, "netPrice"));
    let currency = o
        .pointer("/currency/isoCode")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    Ok(Order {
        number: text(o, "orderNumber").unwrap_or_else(|| id.clone()),
        id,
        key: text(o, "deepLinkCode"),
        status: o
            .pointer("/stateMachineState/technicalName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        currency,
        subtotal: opt_money(o, "positionPrice").unwrap_or_else(|| money(&price, "positionPrice")),
        shipping_total: money(o, "shippingTotal"),
        discount_total: Decimal::ZERO,
        tax_total: checked_sub(total, net)?,
        total,
        taxes,
        lines: array(o, "lineItems")
            .iter()
            .filter(|l| text(l, "type").as_deref() != Some("promotion"))
            .map(line)
            .collect::<Result<_, _>>()?,
        customer: Customer {
            first_name: text_or_empty(&customer, "firstName"),
            last_name: text_or_empty(&customer, "lastName"),
            email: text(&customer, "email"),
            phone: None,
        },
        billing: billing_entity.map(address),
        shipping: shipping_entity.map(address),
        created_at: text(o, "orderDateTime"),
        paid_at: None,
        invoice_number: None,
        invoice_url: None,
    })
}

fn line(l: &Value) -> Result<LineItem, ParseError> {
    let fields = LineFields {
        name: "label",
        quantity: "quantity",
        unit_price: "unitPrice",
        total: "totalPrice",
    };
    let sku = l
        .pointer("/payload/productNumber")
        .and_then(Value::as_str)
        .map(str::to_owned);
    line_item(l, &fields, sku)
}

fn address(a: &Value) -> Address {
    Address {
        name: full_name(
            &text_or_empty(a, "firstName"),
            &text_or_empty(a, "lastName"),
        ),
        company: text(a, "company"),
        line1: text_or_empty(a, "street"),
        line2: text(a, "additionalAddressLine1"),
        city: text_or_empty(a, "city"),
        state: a
            .pointer("/countryState/shortCode")
            .and_then(Value::as_str)
            .map(str::to_owned),
        postcode: text(a, "zipcode"),
        country: a.get("country").and_then(|c| country(c, "iso")),
        phone: text(a, "phoneNumber"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::signature::hmac_sha256;

    const SECRET: &str = "shopware-shop-secret";
    const NOW: i64 = 1_764_064_800;
    const FIVE_MIN: Duration = Duration::from_secs(300);

    fn body(ts: i64) -> Vec<u8> {
        format!(r#"{{"data":{{"payload":{{}},"event":"x"}},"timestamp":{ts}}}"#).into_bytes()
    }

    fn sign(secret: &str, body: &[u8]) -> String {
        hex::encode(hmac_sha256(secret.as_bytes(), &[body]))
    }

    #[test]
    fn hex_signatures_verify_with_any_secret_inside_the_window() {
        let b = body(NOW - 60);
        let secrets = [SecretString::from("old"), SecretString::from(SECRET)];
        for s in ["old", SECRET] {
            assert_eq!(
                verify_at(Some(&sign(s, &b)), &b, &secrets, NOW, FIVE_MIN),
                Ok(())
            );
        }
        let mut tampered = b.clone();
        tampered[10] ^= 1;
        assert_eq!(
            verify_at(Some(&sign(SECRET, &b)), &tampered, &secrets, NOW, FIVE_MIN),
            Err(VerifyError::Mismatch)
        );
        let stale = body(NOW - 301);
        assert_eq!(
            verify_at(Some(&sign(SECRET, &stale)), &stale, &secrets, NOW, FIVE_MIN),
            Err(VerifyError::Stale(300))
        );
        let untimed = br#"{"data":{}}"#;
        assert_eq!(
            verify_at(
                Some(&sign(SECRET, untimed)),
                untimed,
                &secrets,
                NOW,
                FIVE_MIN
            ),
            Err(VerifyError::Malformed("timestamp"))
        );
        assert_eq!(
            verify_at(Some("zz"), &b, &secrets, NOW, FIVE_MIN),
            Err(VerifyError::Malformed(SIGNATURE))
        );
    }

    #[test]
    fn amounts_past_the_decimal_range_are_refused_not_a_panic() {
        let big = "79000000000000000000000000000";
        let out_of_range = Err(ParseError::Invalid("amount out of range".into()));
        let net =
            serde_json::json!({"id": "o", "amountTotal": big, "amountNet": format!("-{big}")});
        assert_eq!(order(&net).map(|o| o.total), out_of_range);
        let line = serde_json::json!({
            "id": "o", "lineItems": [{"label": "x", "quantity": big, "unitPrice": "2"}],
        });
        assert_eq!(order(&line).map(|o| o.total), out_of_range);
    }

    #[test]
    fn the_signed_event_id_is_the_key_then_the_header_then_the_body_hash() {
        let key = |source: &str, header: Option<&str>| {
            let body = format!(
                r#"{{"data":{{"event":"checkout.order.placed","payload":{{"order":{{"id":"o"}}}}}},"source":{source}}}"#
            );
            let headers =
                Headers::new(header.map(|h| ("X-Shopware-Event-Id".to_owned(), h.to_owned())));
            match Shopware.parse(&headers, body.as_bytes()).unwrap() {
                Parsed::Event(e) => (e.delivery_key, body),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(key(r#"{"eventId":"signed"}"#, Some("header")).0, "signed");
        assert_eq!(key(r#"{"eventId":""}"#, Some("header")).0, "header");
        assert_eq!(key("{}", Some("header")).0, "header");
        let (hashed, body) = key("{}", None);
        assert_eq!(hashed, body_hash_key(body.as_bytes()));
    }
}
