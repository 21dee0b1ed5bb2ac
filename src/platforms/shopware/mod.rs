//! Shopware 6 app webhooks: `shopware-shop-signature` = hex HMAC-SHA256 of the raw body keyed
//! with the shop's secret. The body carries its send time (`timestamp`) inside the signed bytes,
//! which gives a replay window; the event name is `data.event` and business events carry the
//! order entity in `data.payload.order`.

#[cfg(not(fuzzing))]
pub mod api;
mod payload;
#[cfg(not(fuzzing))]
pub mod profile;
#[cfg(not(fuzzing))]
pub mod reconcile;

use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Deserialize;

use super::fields::{checked_sub, full_name, line_item};
use super::lenient::{Obj, Text};
use super::signature::{unix_now, verify_hex_body, within};
use super::{
    CanonicalEvent, Capabilities, DeliveryKeyRule, Headers, ParseError, Parsed, SecretForm,
    SignatureScheme, Verified, VerifyError, WebhookPlatform, body_hash_key, kinds, not_an_event,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, Payment, PaymentKind, TaxLine};
use payload::{Envelope, SwAddress, SwLine, SwOrder, Transaction};

pub const SIGNATURE: &str = "shopware-shop-signature";
/// Sent by Shopware releases with the reworked delivery contract, outside the signature: the
/// delivery key is the signed `source.eventId`, this header only when the body has none.
pub const EVENT_ID: &str = "X-Shopware-Event-Id";

/// The replay window when the profile sets no `webhook.tolerance_secs`: Shopware retries a
/// failed delivery with the payload, and so the send time, of the first attempt (5 s, 30 s,
/// 5 min, 30 min, 4 h, about 4 h 35 min in all): a 5-minute window would refuse every later
/// retry, and Shopware disables a webhook after 10 errors. Room is left for a queue that runs
/// late; redelivery of an accepted event is caught by the event id, not the window.
pub const TOLERANCE: Duration = Duration::from_secs(6 * 3600);

pub const CAPABILITIES: Capabilities = Capabilities {
    signature: SignatureScheme::HexBodyHmacWithBodyTime,
    default_tolerance: TOLERANCE,
    secret_form: SecretForm::AsWritten,
    invoice_pdf_url: None,
    fetch_invoice_by_default: false,
    fetches_order: false,
    order_meta: false,
    delivery_key: DeliveryKeyRule::EventId,
};

pub struct Shopware;

impl WebhookPlatform for Shopware {
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
        let json: Obj<Envelope> = super::json(body)?;
        match order_entity(&json.value) {
            Some(entity) => order(entity),
            None => order(&super::json::<Obj<SwOrder>>(body)?.value),
        }
    }

    fn parse(&self, headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError> {
        let json: Obj<Envelope> = super::json(body)?;
        let json = json.value;
        // Signed, so not bad input: a body of some other kind, acknowledged so Shopware does
        // not count it toward disabling the webhook.
        let Some(topic) = json.data.value.event.json_str() else {
            return Ok(not_an_event("a body without data.event"));
        };
        let topic = topic.to_owned();
        let first = match topic.as_str() {
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
            .source
            .value
            .event_id
            .json_str()
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
        let mut order = order(entity)?;
        if first == EventKind::OrderPaid {
            // The state the transaction entered, whatever the serialised entity still says.
            order.payment.paid = true;
        }
        // An order placed or shipped already paid is also `order.paid`.
        let also_paid = matches!(first, EventKind::OrderCreated | EventKind::OrderFulfilled)
            && order.payment.paid;
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            delivery_key,
            topic,
            kinds: kinds(first, &[(also_paid, EventKind::OrderPaid)]),
            order,
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
        .ok_or(VerifyError::MissingBodyField("timestamp"))?;
    if !within(sent, now, tolerance) {
        return Err(VerifyError::Stale(tolerance.as_secs()));
    }
    Ok(())
}

/// Business events carry `payload.order`; a state change of a transaction may carry the
/// transaction with its order.
fn order_entity(json: &Envelope) -> Option<&SwOrder> {
    let payload = &json.data.value.payload.value;
    let order = match &payload.order {
        Some(order) => order,
        None => &payload.order_transaction.value.order,
    };
    order.present.then_some(&order.value)
}

fn order(o: &SwOrder) -> Result<Order, ParseError> {
    let id = o.id.json_id("order")?;
    let customer = &o.order_customer.value;
    let billing_entity = if o.billing_address.present {
        Some(&o.billing_address.value)
    } else {
        // Without the association loaded, the billing address is one of `addresses`.
        o.billing_address_id.json_text().and_then(|billing_id| {
            o.addresses
                .0
                .iter()
                .find(|a| a.id.json_text().as_deref() == Some(billing_id.as_str()))
        })
    };
    let shipping_entity = o.deliveries.0.iter().find_map(|d| {
        let a = &d.shipping_order_address;
        a.present.then_some(&a.value)
    });
    let price = &o.price.value;
    let money = |t: &Text| t.json_money().unwrap_or_default();
    let taxes: Vec<TaxLine> = price
        .calculated_taxes
        .0
        .iter()
        .map(|t| {
            let rate = t.tax_rate.json_money();
            TaxLine {
                label: rate
                    .map(|r| format!("Tax {}%", r.normalize()))
                    .unwrap_or_else(|| "Tax".into()),
                rate,
                amount: money(&t.tax),
            }
        })
        .collect();
    let total = o
        .amount_total
        .json_money()
        .unwrap_or_else(|| money(&price.total_price));
    let net = o
        .amount_net
        .json_money()
        .unwrap_or_else(|| money(&price.net_price));
    let currency = o
        .currency
        .value
        .iso_code
        .json_str()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let number = o.order_number.json_text().unwrap_or_else(|| id.clone());
    Ok(Order {
        name: number.clone(),
        number,
        id,
        payment: payment(o),
        prices_include_tax: price.tax_status.json_text().as_deref() == Some("gross"),
        total_missing: o.amount_total.json_money().is_none()
            && price.total_price.json_money().is_none(),
        key: o.deep_link_code.json_text(),
        status: o
            .state_machine_state
            .value
            .technical_name
            .json_str()
            .map(str::to_owned),
        currency,
        subtotal: o
            .position_price
            .json_money()
            .unwrap_or_else(|| money(&price.position_price)),
        shipping_total: money(&o.shipping_total),
        discount_total: Decimal::ZERO,
        tax_total: checked_sub(total, net)?,
        total,
        taxes,
        lines: o
            .line_items
            .0
            .iter()
            .filter(|l| l.kind.json_text().as_deref() != Some("promotion"))
            .map(line)
            .collect::<Result<_, _>>()?,
        customer: Customer {
            first_name: customer.first_name.json_text_or_empty(),
            last_name: customer.last_name.json_text_or_empty(),
            email: customer.email.json_text(),
            phone: None,
        },
        billing: billing_entity.map(address),
        shipping: shipping_entity.map(address),
        created_at: o.order_date_time.json_text(),
        paid_at: None,
        invoice_number: None,
        invoice_url: None,
        // `language.locale.code` (`de-DE`) where the event loaded the association; else its
        // `translationCode`. The bare `languageId` names the language without saying which.
        locale: o
            .language
            .value
            .locale
            .value
            .code
            .json_text()
            .or_else(|| o.language.value.translation_code.value.code.json_text()),
        refund: None,
    })
}

/// The order's payment: its latest transaction's method and state.
fn payment(o: &SwOrder) -> Payment {
    // The transaction that counts: the last one not cancelled or failed (a retried payment
    // adds one), else the last.
    let transactions = &o.transactions.0;
    let state_of = |t: &Transaction| {
        t.state_machine_state
            .value
            .technical_name
            .json_str()
            .unwrap_or_default()
            .to_owned()
    };
    let Some(tx) = transactions
        .iter()
        .rev()
        .find(|t| !matches!(state_of(t).as_str(), "cancelled" | "failed"))
        .or_else(|| transactions.last())
    else {
        return Payment::default();
    };
    let method = &tx.payment_method.value;
    let handler = method.handler_identifier.json_text();
    let state = state_of(tx);
    Payment {
        kind: handler.as_deref().map(payment_kind).unwrap_or_default(),
        title: method
            .distinguishable_name
            .json_text()
            .or_else(|| method.name.json_text()),
        method: method.technical_name.json_text().or(handler),
        // Partly paid is not paid: the rest is still due.
        paid: state == "paid",
    }
}

/// Shopware's built-in payment handlers by class: cash on delivery, prepayment (a bank
/// transfer before shipping), invoice and direct debit; an app's or plugin's handler (cards,
/// PayPal, …) takes the money online.
fn payment_kind(handler: &str) -> PaymentKind {
    let class = handler.rsplit('\\').next().unwrap_or(handler);
    match class {
        "CashPayment" => PaymentKind::Cod,
        "PrePayment" => PaymentKind::BankTransfer,
        "InvoicePayment" | "DebitPayment" | "DefaultPayment" => PaymentKind::Other,
        _ => PaymentKind::Online,
    }
}

fn line(l: &SwLine) -> Result<LineItem, ParseError> {
    line_item(
        l.label.json_text_or_empty(),
        l.payload.value.product_number.json_str().map(str::to_owned),
        l.quantity.json_money(),
        l.unit_price.json_money(),
        l.total_price.json_money(),
    )
}

fn address(a: &SwAddress) -> Address {
    Address {
        name: full_name(
            &a.first_name.json_text_or_empty(),
            &a.last_name.json_text_or_empty(),
        ),
        company: a.company.json_text(),
        line1: a.street.json_text_or_empty(),
        line2: a.additional_address_line1.json_text(),
        city: a.city.json_text_or_empty(),
        state: a
            .country_state
            .value
            .short_code
            .json_str()
            .map(str::to_owned),
        postcode: a.zipcode.json_text(),
        country: a.country.value.iso.json_country(),
        phone: a.phone_number.json_text(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The order of a JSON value, read as a saved order body is.
    fn order(j: &Value) -> Result<Order, ParseError> {
        let body = serde_json::to_vec(j).unwrap();
        super::order(&super::super::json::<Obj<SwOrder>>(&body)?.value)
    }
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
            Err(VerifyError::MissingBodyField("timestamp"))
        );
        assert_eq!(
            verify_at(Some("zz"), &b, &secrets, NOW, FIVE_MIN),
            Err(VerifyError::Malformed(SIGNATURE))
        );
    }

    fn placed(handler: &str, state: &str, event: &str) -> CanonicalEvent {
        let body = format!(
            r#"{{"data":{{"event":"{event}","payload":{{"order":{{"id":"o1","orderNumber":"10077",
            "amountTotal":10,"transactions":[{{"stateMachineState":{{"technicalName":"{state}"}},
            "paymentMethod":{{"handlerIdentifier":"{handler}","name":"Pay"}}}}]}}}}}},"timestamp":1}}"#
        );
        match Shopware
            .parse(&Headers::default(), body.as_bytes())
            .unwrap()
        {
            Parsed::Event(e) => *e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn orders_placed_or_shipped_already_paid_also_mean_paid() {
        use EventKind::*;
        // As JSON writes them: `\\` is one backslash.
        let cash = r"Shopware\\Core\\Checkout\\Payment\\Cart\\PaymentHandler\\CashPayment";
        let pre = r"Shopware\\Core\\Checkout\\Payment\\Cart\\PaymentHandler\\PrePayment";
        let cod = placed(cash, "open", "checkout.order.placed");
        assert_eq!(cod.kinds, [OrderCreated]);
        assert_eq!(
            (cod.order.payment.kind, cod.order.payment.paid),
            (PaymentKind::Cod, false)
        );
        let paid = placed(r"app\\Stripe_card", "paid", "checkout.order.placed");
        assert_eq!(paid.kinds, [OrderCreated, OrderPaid]);
        assert_eq!(paid.order.payment.kind, PaymentKind::Online);
        let shipped = placed(pre, "paid", "state_enter.order_delivery.state.shipped");
        assert_eq!(shipped.kinds, [OrderFulfilled, OrderPaid]);
        assert_eq!(shipped.order.payment.kind, PaymentKind::BankTransfer);
        // The transaction entered "paid": the order is paid, whatever the entity still says.
        let entered = placed(cash, "open", "state_enter.order_transaction.state.paid");
        assert_eq!(entered.kinds, [OrderPaid]);
        assert!(entered.order.payment.paid);
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

    #[test]
    fn the_orders_language_is_its_locale_when_loaded() {
        let with = |language: Value| order(&serde_json::json!({"id": "o", "language": language}));
        let loaded = serde_json::json!({"id": "l", "locale": {"code": "de-DE"}});
        assert_eq!(with(loaded).unwrap().locale.as_deref(), Some("de-DE"));
        let translation = serde_json::json!({"locale": null, "translationCode": {"code": "fr-FR"}});
        assert_eq!(with(translation).unwrap().locale.as_deref(), Some("fr-FR"));
        // As real events send it: the association not loaded, only ids.
        let ids =
            serde_json::json!({"localeId": "c7672fc8", "locale": null, "translationCode": null});
        assert_eq!(with(ids).unwrap().locale, None);
        assert_eq!(with(Value::Null).unwrap().locale, None);
    }
}
