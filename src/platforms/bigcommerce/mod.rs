//! BigCommerce: Standard Webhooks signing keyed with the app's client secret, and a thin
//! payload (`{"scope": "store/order/created", "data": {"type": "order", "id": 250}}`). The
//! webhook stores the order by id only; the worker fetches it from the REST API
//! (`/v2/orders/{id}`, its products and shipping addresses, see `api.rs`) and
//! `order_from_api` turns those answers into the canonical order.

#[cfg(not(fuzzing))]
pub mod api;
mod payload;
#[cfg(not(fuzzing))]
pub mod profile;
#[cfg(not(fuzzing))]
pub mod reconcile;

use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

use serde::Deserialize;

use super::fields::{checked_sum, full_name, line_item};
use super::lenient::{Obj, Text};
use super::standard::signed;
use super::standard_webhooks::{self as sw, KeyForm};
use super::{
    CanonicalEvent, Capabilities, DEFAULT_TOLERANCE, DeliveryKeyRule, Headers, ParseError, Parsed,
    SecretForm, SignatureScheme, Verified, VerifyError, WebhookPlatform, not_an_event,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, Payment, PaymentKind, TaxLine};
use payload::{BcAddress, BcOrder, BcProduct, Webhook};

pub const CAPABILITIES: Capabilities = Capabilities {
    signature: SignatureScheme::StandardWebhooks,
    default_tolerance: DEFAULT_TOLERANCE,
    secret_form: SecretForm::Key {
        form: KeyForm::RawOrWhsec,
        problem: "starts with whsec_ but the rest is not base64: paste the client secret as shown, or whsec_ followed by its base64",
    },
    invoice_pdf_url: None,
    fetch_invoice_by_default: false,
    fetches_order: true,
    order_meta: false,
    delivery_key: DeliveryKeyRule::WebhookIdHeader,
};

pub struct BigCommerce;

/// What a change to one of BigCommerce's built-in order statuses (`status_id`) means: the
/// status's own event first. Awaiting Fulfillment is the status BigCommerce gives an order
/// once its payment is confirmed; a completed order is fulfilled and paid (a cash on delivery
/// order is paid on delivery). Shipped, Awaiting Shipment and Awaiting Pickup say nothing of
/// payment (a cash on delivery order is packed and shipped unpaid).
fn status_events(status_id: i64) -> Option<Vec<EventKind>> {
    Some(match status_id {
        11 => vec![EventKind::OrderPaid],
        10 => vec![EventKind::OrderFulfilled, EventKind::OrderPaid],
        2 => vec![EventKind::OrderFulfilled],
        5 => vec![EventKind::OrderCancelled],
        4 => vec![EventKind::OrderRefunded],
        _ => return None,
    })
}

impl WebhookPlatform for BigCommerce {
    fn capabilities(&self) -> &'static Capabilities {
        &CAPABILITIES
    }

    fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        secrets: &[SecretString],
        tolerance: Duration,
    ) -> Result<Verified, VerifyError> {
        sw::verify(
            &signed(headers),
            body,
            secrets,
            KeyForm::RawOrWhsec,
            tolerance,
        )
        .map(|()| Verified::Signed)
    }

    /// A saved `GET /v2/orders/{id}` answer, optionally with `products` and
    /// `shipping_addresses` arrays inlined.
    fn parse_order(&self, body: &[u8]) -> Result<Order, ParseError> {
        let saved: Obj<BcOrder> = super::json(body)?;
        let o = &saved.value;
        order(o, &o.products.0, &o.shipping_addresses.0)
    }

    fn parse(&self, headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError> {
        let json: Obj<Webhook> = super::json(body)?;
        let json = json.value;
        // Signed, so not bad input: a body of some other kind, acknowledged so the sender does
        // not retry it for days.
        let Some(topic) = json.scope.json_text() else {
            return Ok(not_an_event("a body without a scope"));
        };
        let ignored = |reason: &str| {
            Ok(Parsed::Ignored {
                topic: topic.clone(),
                reason: reason.to_owned(),
            })
        };
        let kinds = match topic.as_str() {
            "store/order/created" => vec![EventKind::OrderCreated],
            "store/order/statusUpdated" => {
                let new_status = json.data.value.status.value.new_status_id.json_i64();
                match new_status.and_then(status_events) {
                    Some(kinds) => kinds,
                    None => return ignored("the order's new status means no canonical event"),
                }
            }
            _ => return ignored("scope not used by shopbip"),
        };
        let id = json.data.value.id.json_id("event data")?;
        let delivery_key = headers
            .get(&[sw::ID])
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ParseError::Invalid(format!("missing {} header", sw::ID)))?
            .to_owned();
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            delivery_key,
            topic,
            kinds,
            // The worker replaces this with the order fetched from the API.
            order: Order {
                number: id.clone(),
                name: id.clone(),
                id,
                ..Order::default()
            },
        })))
    }
}

/// The canonical order from the JSON answers of `GET /v2/orders/{id}`, `/products` and
/// `/shipping_addresses`.
pub fn order_from_api(
    o: &Value,
    products: &[Value],
    shipping_addresses: &[Value],
) -> Result<Order, ParseError> {
    // Reading a `Value` as these lenient structs cannot fail: every field takes any JSON.
    fn typed<'a, T: Deserialize<'a> + Default>(v: &'a Value) -> Result<T, ParseError> {
        Obj::<T>::deserialize(v)
            .map(|o| o.value)
            .map_err(|e| ParseError::Json(e.to_string()))
    }
    let products: Vec<BcProduct> = products.iter().map(typed).collect::<Result<_, _>>()?;
    let addresses: Vec<BcAddress> = shipping_addresses
        .iter()
        .map(typed)
        .collect::<Result<_, _>>()?;
    order(&typed(o)?, &products, &addresses)
}

fn order(
    o: &BcOrder,
    products: &[BcProduct],
    shipping_addresses: &[BcAddress],
) -> Result<Order, ParseError> {
    let id = o.id.json_id("order")?;
    let billing = o
        .billing_address
        .present
        .then_some(&o.billing_address.value);
    let tax_total = o.total_tax.json_money().unwrap_or_default();
    let taxes = if tax_total.is_zero() {
        Vec::new()
    } else {
        vec![TaxLine {
            label: "Tax".into(),
            rate: None,
            amount: tax_total,
        }]
    };
    let method = o.payment_method.json_text();
    let payment_status = o.payment_status.json_text_or_empty().to_ascii_lowercase();
    let currency = o
        .currency_code
        .json_text()
        .or_else(|| o.default_currency_code.json_text())
        .unwrap_or_default()
        .to_ascii_uppercase();
    let money = |t: &Text| t.json_money().unwrap_or_default();
    Ok(Order {
        number: id.clone(),
        name: id.clone(),
        id,
        key: None,
        payment: Payment {
            kind: method.as_deref().map(payment_kind).unwrap_or_default(),
            title: method.clone(),
            method,
            paid: matches!(
                payment_status.as_str(),
                "captured" | "paid" | "partially refunded"
            ),
        },
        prices_include_tax: false,
        // BigCommerce's order carries no language.
        locale: None,
        total_missing: o.total_inc_tax.json_money().is_none(),
        status: o.status.json_text(),
        currency,
        subtotal: money(&o.subtotal_ex_tax),
        shipping_total: money(&o.shipping_cost_ex_tax),
        discount_total: checked_sum([money(&o.discount_amount), money(&o.coupon_discount)])?,
        tax_total,
        total: money(&o.total_inc_tax),
        taxes,
        lines: products.iter().map(line).collect::<Result<_, _>>()?,
        customer: Customer {
            first_name: billing
                .map(|b| b.first_name.json_text_or_empty())
                .unwrap_or_default(),
            last_name: billing
                .map(|b| b.last_name.json_text_or_empty())
                .unwrap_or_default(),
            email: billing.and_then(|b| b.email.json_text()),
            phone: billing.and_then(|b| b.phone.json_text()),
        },
        billing: billing.map(address),
        shipping: shipping_addresses.first().map(address),
        created_at: o
            .date_created
            .json_text()
            .and_then(|d| rfc2822_to_rfc3339(&d)),
        paid_at: None,
        invoice_number: None,
        invoice_url: None,
        refund: None,
    })
}

/// BigCommerce's offline payment methods by the exact names the v2 API gives them; any other
/// method (a card gateway, PayPal, Checkout.com, …) takes the money online.
fn payment_kind(method: &str) -> PaymentKind {
    match method.trim().to_ascii_lowercase().as_str() {
        "cash on delivery" | "cod" => PaymentKind::Cod,
        "bank deposit" | "check" | "cheque" | "money order" => PaymentKind::BankTransfer,
        // Paid at the counter, or entered by hand: not money on delivery, not online.
        "" | "cash" | "pay in store" | "manual" | "test payment gateway" => PaymentKind::Other,
        _ => PaymentKind::Online,
    }
}

fn line(p: &BcProduct) -> Result<LineItem, ParseError> {
    line_item(
        p.name.json_text_or_empty(),
        p.sku.json_text(),
        p.quantity.json_money(),
        p.price_ex_tax.json_money(),
        p.total_ex_tax.json_money(),
    )
}

fn address(a: &BcAddress) -> Address {
    Address {
        name: full_name(
            &a.first_name.json_text_or_empty(),
            &a.last_name.json_text_or_empty(),
        ),
        company: a.company.json_text(),
        line1: a.street_1.json_text_or_empty(),
        line2: a.street_2.json_text(),
        city: a.city.json_text_or_empty(),
        state: a.state.json_text(),
        postcode: a.zip.json_text(),
        country: a.country_iso2.json_country(),
        phone: a.phone.json_text(),
    }
}

/// `Tue, 20 Nov 2026 10:05:00 +0000` (the v2 API's dates) as RFC 3339.
fn rfc2822_to_rfc3339(d: &str) -> Option<String> {
    let parts: Vec<&str> = d.split_whitespace().collect();
    let [_, day, month, year, time, offset] = parts.as_slice() else {
        return None;
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m.eq_ignore_ascii_case(month))?
        + 1;
    let day: u32 = day.parse().ok()?;
    // ASCII first: the slicing below is by byte, and would panic inside a multi-byte char.
    let ok_offset = offset.is_ascii() && offset.len() == 5 && offset.starts_with(['+', '-']);
    if !ok_offset || time.len() != 8 || year.len() != 4 {
        return None;
    }
    Some(format!(
        "{year}-{month:02}-{day:02}T{time}{}:{}",
        &offset[..3],
        &offset[3..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_dates_become_rfc3339() {
        assert_eq!(
            rfc2822_to_rfc3339("Tue, 24 Nov 2026 10:05:00 +0000").as_deref(),
            Some("2026-11-24T10:05:00+00:00")
        );
        assert_eq!(rfc2822_to_rfc3339("yesterday"), None);
        // Five bytes, a byte-3 boundary inside the 'é'.
        assert_eq!(rfc2822_to_rfc3339("Tue, 24 Nov 2026 10:05:00 +1é1"), None);
    }

    #[test]
    fn status_ids_map_to_events() {
        use EventKind::*;
        assert_eq!(status_events(11), Some(vec![OrderPaid]));
        assert_eq!(
            status_events(9),
            None,
            "awaiting shipment: packed, maybe unpaid"
        );
        assert_eq!(status_events(10), Some(vec![OrderFulfilled, OrderPaid]));
        assert_eq!(status_events(2), Some(vec![OrderFulfilled]));
        assert_eq!(status_events(5), Some(vec![OrderCancelled]));
        assert_eq!(status_events(4), Some(vec![OrderRefunded]));
        assert_eq!(status_events(7), None, "awaiting payment");
        assert_eq!(status_events(1), None);
    }

    #[test]
    fn payment_methods_and_the_store_currency_come_from_the_api_order() {
        let order = |fields: &str| {
            let body = format!(r#"{{"id":1,{fields}}}"#);
            BigCommerce.parse_order(body.as_bytes()).unwrap()
        };
        let cod = order(r#""payment_method":"Cash on Delivery","payment_status":"pending""#);
        // Paid at the counter: not cash on delivery.
        assert_eq!(
            order(r#""payment_method":"Cash""#).payment.kind,
            PaymentKind::Other
        );
        assert_eq!(
            order(r#""payment_method":"Checkout.com""#).payment.kind,
            PaymentKind::Online
        );
        assert_eq!(
            order(r#""payment_method":"Money Order""#).payment.kind,
            PaymentKind::BankTransfer
        );
        assert_eq!(
            order(r#""payment_method":"Cash App Pay""#).payment.kind,
            PaymentKind::Online
        );
        assert_eq!(
            (cod.payment.kind, cod.payment.paid),
            (PaymentKind::Cod, false)
        );
        let card = order(r#""payment_method":"Braintree (Visa)","payment_status":"captured""#);
        assert_eq!(
            (card.payment.kind, card.payment.paid),
            (PaymentKind::Online, true)
        );
        assert_eq!(
            order(r#""payment_method":"Bank Deposit""#).payment.kind,
            PaymentKind::BankTransfer
        );
        assert_eq!(order(r#""default_currency_code":"usd""#).currency, "USD");
        assert_eq!(
            order(r#""currency_code":"EUR","default_currency_code":"USD""#).currency,
            "EUR"
        );
        assert!(order(r#""currency_code":"EUR""#).total_missing);
        assert!(!order(r#""total_inc_tax":"0.0000""#).total_missing);
    }

    #[test]
    fn amounts_past_the_decimal_range_are_refused_not_a_panic() {
        let big = "79000000000000000000000000000";
        let out_of_range = Err(ParseError::Invalid("amount out of range".into()));
        let o = serde_json::json!({"id": 1, "discount_amount": big, "coupon_discount": big});
        assert_eq!(order_from_api(&o, &[], &[]).map(|o| o.total), out_of_range);
        let products = [serde_json::json!({"quantity": big, "price_ex_tax": "2"})];
        assert_eq!(
            order_from_api(&serde_json::json!({"id": 1}), &products, &[]).map(|o| o.total),
            out_of_range
        );
    }
}
