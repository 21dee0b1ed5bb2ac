//! WooCommerce core webhooks: `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the raw body;
//! the order is the REST API v3 order. There is no "paid" topic: `order.updated` means whatever
//! its new `status`/`date_paid` mean.

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

use super::fields::{checked_sum, decode_entities, full_name, out_of_range};
use super::lenient::{List, Text};
use super::signature::verify_base64_body;
use super::{
    CanonicalEvent, Capabilities, DEFAULT_TOLERANCE, DeliveryKeyRule, Headers, ParseError, Parsed,
    SecretForm, SignatureScheme, Verified, VerifyError, WebhookPlatform, body_hash_key, kinds,
    topic_delivery_key,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, Payment, PaymentKind, TaxLine};
use payload::{WcAddress, WcLine, WcMeta, WcMetaOnly, WcOrder};

pub const SIGNATURE: &str = "X-WC-Webhook-Signature";
pub const TOPIC: &str = "X-WC-Webhook-Topic";
/// The webhook's own id in the shop (one per configured webhook, so one per topic).
pub const WEBHOOK_ID: &str = "X-WC-Webhook-ID";

/// Order meta where invoice plugins keep the number they gave the order: PDF Invoices &
/// Packing Slips (`_wcpdf_invoice_number`), WebToffee's (`wf_invoice_number`).
pub const INVOICE_NUMBER_KEYS: [&str; 2] = ["_wcpdf_invoice_number", "wf_invoice_number"];

/// Order meta where translation plugins keep the language the customer ordered in, in this
/// order: WPML's WooCommerce Multilingual (`wpml_language`, a language code such as `fr`),
/// Polylang for WooCommerce on HPOS order tables (`_pll_language`, the language slug; on post
/// storage Polylang keeps it as a taxonomy term, which the order's REST JSON does not carry),
/// TranslatePress (`trp_language`, a locale such as `fr_FR`).
pub const LANGUAGE_KEYS: [&str; 3] = ["wpml_language", "_pll_language", "trp_language"];

pub const CAPABILITIES: Capabilities = Capabilities {
    signature: SignatureScheme::Base64BodyHmac,
    default_tolerance: DEFAULT_TOLERANCE,
    secret_form: SecretForm::AsWritten,
    invoice_pdf_url: None,
    fetch_invoice_by_default: false,
    fetches_order: false,
    order_meta: true,
    delivery_key: DeliveryKeyRule::OrderTopicBody,
};

pub struct WooCommerce;

impl WebhookPlatform for WooCommerce {
    fn capabilities(&self) -> &'static Capabilities {
        &CAPABILITIES
    }

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
        let Some(kinds) = event_kinds(&topic, &order) else {
            return ignored("the order's new status means no canonical event");
        };
        let key = match headers.get(&[WEBHOOK_ID]).map(str::trim) {
            Some(id) if !id.is_empty() => format!("{id}/{}", body_key(headers, body)),
            _ => body_key(headers, body),
        };
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            delivery_key: topic_delivery_key(&order.id, &topic, &key),
            topic,
            kinds,
            order,
        })))
    }

    fn invoice_number(&self, body: &[u8], keys: &[String]) -> Option<String> {
        if keys.is_empty() {
            return None;
        }
        let order: WcMetaOnly = super::json(body).ok()?;
        meta_value(&order.meta_data, keys.iter().map(String::as_str))
    }
}

/// What an order creation or update means. There is no "paid" topic: an order is paid once
/// `date_paid` is set, whatever the topic (an order paid at checkout is created paid; a cash on
/// delivery order gets its `date_paid` when it is completed), and a `completed` order is
/// fulfilled. `None`: an update that means nothing a rule can use.
pub fn event_kinds(topic: &str, order: &Order) -> Option<Vec<EventKind>> {
    let status = order.status.as_deref().unwrap_or_default();
    let paid = order.paid_at.is_some() && !matches!(status, "cancelled" | "refunded" | "failed");
    let completed = status == "completed";
    if topic == "order.created" {
        return Some(kinds(
            EventKind::OrderCreated,
            &[
                (paid, EventKind::OrderPaid),
                (completed, EventKind::OrderFulfilled),
            ],
        ));
    }
    let first = match status {
        "cancelled" => EventKind::OrderCancelled,
        "refunded" => EventKind::OrderRefunded,
        "completed" => EventKind::OrderFulfilled,
        _ if paid => EventKind::OrderPaid,
        _ => return None,
    };
    Some(kinds(first, &[(paid, EventKind::OrderPaid)]))
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

/// The first non-empty value of any of `keys`, in the order of `keys`.
fn meta_value<'a>(meta: &List<WcMeta>, keys: impl IntoIterator<Item = &'a str>) -> Option<String> {
    keys.into_iter().find_map(|k| {
        meta.0
            .iter()
            .find(|m| m.key.is(k))
            .and_then(|m| m.value.get())
    })
}

/// The kind of a WooCommerce payment gateway id: the core gateways by name, anything else
/// (Stripe, PayPal, WooPayments, …) paid online; no gateway (a free order) is `other`.
fn payment_kind(method: &str) -> PaymentKind {
    // Cash on delivery plugins name their gateways after the core one.
    let cod_plugin = method.starts_with("cod_")
        || method.ends_with("_cod")
        || method.contains("cash_on_delivery")
        || method.contains("cashondelivery");
    match method {
        "cod" => PaymentKind::Cod,
        _ if cod_plugin => PaymentKind::Cod,
        "bacs" | "cheque" => PaymentKind::BankTransfer,
        "" => PaymentKind::Other,
        _ => PaymentKind::Online,
    }
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
    let mut lines: Vec<LineItem> = j.line_items.0.iter().map(line).collect::<Result<_, _>>()?;
    let fees = j.fee_lines.0.iter().map(|f| {
        let total = f.total.money();
        LineItem {
            name: decode_entities(&f.name.or_empty()),
            sku: None,
            quantity: Decimal::ONE,
            unit_price: total,
            total,
        }
    });
    lines.extend(fees);
    // Fees are lines of their own, so the lines still make the subtotal.
    let subtotal = checked_sum(
        lines
            .iter()
            .zip(
                j.line_items
                    .0
                    .iter()
                    .map(Some)
                    .chain(std::iter::repeat(None)),
            )
            .map(|(l, raw)| raw.and_then(|r| r.subtotal.opt_money()).unwrap_or(l.total)),
    )?;
    let taxes = j
        .tax_lines
        .0
        .iter()
        .map(|t| {
            Ok(TaxLine {
                label: t
                    .label
                    .get()
                    .map(|l| decode_entities(&l))
                    .unwrap_or_else(|| "Tax".into()),
                rate: t.rate_percent.opt_money(),
                amount: checked_sum([t.tax_total.money(), t.shipping_tax_total.money()])?,
            })
        })
        .collect::<Result<_, ParseError>>()?;
    let number = j.number.get().unwrap_or_else(|| id.clone());
    let paid_at = gmt(&j.date_paid_gmt);
    let method = j.payment_method.or_empty();
    Ok(Order {
        name: number.clone(),
        number,
        id,
        key: j.order_key.get(),
        status: j.status.get(),
        currency: j.currency.or_empty().to_ascii_uppercase(),
        subtotal,
        shipping_total: j.shipping_total.money(),
        discount_total: j.discount_total.money(),
        tax_total: j.total_tax.money(),
        total_missing: j.total.opt_money().is_none(),
        total: j.total.money(),
        taxes,
        lines,
        customer: Customer {
            first_name: decode_entities(&b.first_name.or_empty()),
            last_name: decode_entities(&b.last_name.or_empty()),
            email: b.email.get(),
            phone: b.phone.get(),
        },
        billing,
        shipping,
        created_at: gmt(&j.date_created_gmt),
        payment: Payment {
            kind: payment_kind(&method),
            method: (!method.is_empty()).then_some(method),
            title: j.payment_method_title.get().map(|t| decode_entities(&t)),
            paid: paid_at.is_some(),
        },
        paid_at,
        invoice_number: meta_value(&j.meta_data, INVOICE_NUMBER_KEYS),
        locale: meta_value(&j.meta_data, LANGUAGE_KEYS),
        invoice_url: None,
        // The REST API's line subtotals, shipping and discount are net of tax whatever the
        // shop's display setting (`prices_include_tax`) says: taxes come on top.
        prices_include_tax: false,
        refund: None,
    })
}

/// WooCommerce writes GMT times without a zone.
fn gmt(t: &Text) -> Option<String> {
    t.get()
        .map(|t| if t.ends_with('Z') { t } else { format!("{t}Z") })
}

fn address(a: &WcAddress) -> Address {
    let text = |t: &Text| t.get().map(|s| decode_entities(&s));
    Address {
        name: decode_entities(&full_name(
            &a.first_name.or_empty(),
            &a.last_name.or_empty(),
        )),
        company: text(&a.company),
        line1: text(&a.address_1).unwrap_or_default(),
        line2: text(&a.address_2),
        city: text(&a.city).unwrap_or_default(),
        state: text(&a.state),
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
        // WooCommerce stores product names HTML-escaped (`Ship Your Idea &ndash; Black`).
        name: decode_entities(&l.name.or_empty()),
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
        assert_eq!(
            again,
            format!("5120/order.updated/{}", body_hash_key(paid.as_bytes()))
        );
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
        assert_eq!(first, format!("5120/order.updated/hmac-sha256:{mac}"));
        assert_eq!(signed(paid, "s1").0, first, "a resend is the same delivery");
        assert_ne!(signed(&edited, "s1").0, first, "an edit is a new delivery");
        assert_ne!(signed(paid, "s2").0, first);
    }

    fn parsed(topic: &str, webhook_id: &str, body: &str) -> Parsed {
        let mac = super::super::signature::hmac_sha256(b"s1", &[body.as_bytes()]);
        let headers = Headers::new([
            (TOPIC.to_owned(), topic.to_owned()),
            (WEBHOOK_ID.to_owned(), webhook_id.to_owned()),
            (
                SIGNATURE.to_owned(),
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, mac),
            ),
        ]);
        WooCommerce.parse(&headers, body.as_bytes()).unwrap()
    }

    fn event(topic: &str, body: &str) -> CanonicalEvent {
        match parsed(topic, "7", body) {
            Parsed::Event(e) => *e,
            other => panic!("{topic} {body}: {other:?}"),
        }
    }

    #[test]
    fn what_an_order_means_comes_from_its_state_not_the_topic_alone() {
        use EventKind::*;
        let cases: &[(&str, &str, &[EventKind])] = &[
            // Paid at checkout: created and paid in one delivery.
            (
                "order.created",
                r#"{"id":1,"status":"processing","date_paid_gmt":"2026-11-20T09:00:00"}"#,
                &[OrderCreated, OrderPaid],
            ),
            // Virtual goods: straight to completed, paid.
            (
                "order.created",
                r#"{"id":1,"status":"completed","date_paid_gmt":"2026-11-20T09:00:00"}"#,
                &[OrderCreated, OrderPaid, OrderFulfilled],
            ),
            // Cash on delivery: created unpaid.
            (
                "order.created",
                r#"{"id":1,"status":"processing","payment_method":"cod"}"#,
                &[OrderCreated],
            ),
            (
                "order.updated",
                r#"{"id":1,"status":"processing","date_paid_gmt":"2026-11-20T09:00:00"}"#,
                &[OrderPaid],
            ),
            (
                "order.updated",
                r#"{"id":1,"status":"on-hold","date_paid_gmt":"2026-11-20T09:00:00"}"#,
                &[OrderPaid],
            ),
            // Completed and paid (a cash on delivery order gets date_paid on completion).
            (
                "order.updated",
                r#"{"id":1,"status":"completed","date_paid_gmt":"2026-11-20T09:00:00"}"#,
                &[OrderFulfilled, OrderPaid],
            ),
            (
                "order.updated",
                r#"{"id":1,"status":"completed"}"#,
                &[OrderFulfilled],
            ),
            // Cancelled or refunded is only that, paid before or not.
            (
                "order.updated",
                r#"{"id":1,"status":"cancelled","date_paid_gmt":"2026-11-20T09:00:00"}"#,
                &[OrderCancelled],
            ),
            (
                "order.updated",
                r#"{"id":1,"status":"refunded","date_paid_gmt":"2026-11-20T09:00:00"}"#,
                &[OrderRefunded],
            ),
        ];
        for (topic, body, want) in cases {
            assert_eq!(event(topic, body).kinds, *want, "{topic} {body}");
        }
        for unpaid in ["processing", "on-hold", "pending", "failed"] {
            let body = format!(r#"{{"id":1,"status":"{unpaid}"}}"#);
            assert!(
                matches!(parsed("order.updated", "7", &body), Parsed::Ignored { .. }),
                "{unpaid}"
            );
        }
    }

    #[test]
    fn identical_bodies_under_two_topics_or_two_webhooks_are_two_deliveries() {
        let body = r#"{"id":727,"status":"processing","date_paid_gmt":"2026-11-20T09:00:00"}"#;
        let key = |topic: &str, webhook: &str| match parsed(topic, webhook, body) {
            Parsed::Event(e) => e.delivery_key,
            other => panic!("{other:?}"),
        };
        let created = key("order.created", "7");
        let updated = key("order.updated", "8");
        assert_ne!(created, updated);
        assert_ne!(
            key("order.updated", "9"),
            updated,
            "another webhook, another delivery"
        );
        assert_eq!(
            key("order.updated", "8"),
            updated,
            "a retry is the same delivery"
        );
        assert!(
            created.starts_with("727/order.created/7/hmac-sha256:"),
            "{created}"
        );
    }

    #[test]
    fn payment_methods_map_to_kinds_and_paid_follows_date_paid() {
        let order = |method: &str, paid: bool| {
            let date = if paid {
                r#","date_paid_gmt":"2026-11-20T09:00:00""#
            } else {
                ""
            };
            let body = format!(
                r#"{{"id":1,"payment_method":"{method}","payment_method_title":"T &amp; C"{date}}}"#
            );
            WooCommerce.parse_order(body.as_bytes()).unwrap().payment
        };
        let cod = order("cod", false);
        assert_eq!(
            (
                cod.kind,
                cod.paid,
                cod.method.as_deref(),
                cod.title.as_deref()
            ),
            (PaymentKind::Cod, false, Some("cod"), Some("T & C"))
        );
        assert_eq!(order("bacs", true).kind, PaymentKind::BankTransfer);
        assert!(order("bacs", true).paid);
        assert_eq!(order("cheque", false).kind, PaymentKind::BankTransfer);
        assert_eq!(order("cod_fee_gateway", false).kind, PaymentKind::Cod);
        assert_eq!(order("wc_cash_on_delivery", false).kind, PaymentKind::Cod);
        assert_eq!(order("cod", false).method.as_deref(), Some("cod"));
        assert_eq!(order("codepay", false).kind, PaymentKind::Online);
        assert_eq!(order("stripe_cc", true).kind, PaymentKind::Online);
        assert_eq!(order("", false).kind, PaymentKind::Other);
        assert_eq!(order("", false).method, None);
    }

    #[test]
    fn fees_are_lines_and_the_order_reconciles_with_taxes_on_top() {
        // A tax-inclusive shop: the REST API's amounts are still net, taxes on top.
        let body = r#"{"id":5,"currency":"EUR","prices_include_tax":true,
            "line_items":[{"name":"Mug","quantity":2,"subtotal":"10.00","total":"10.00"}],
            "fee_lines":[{"name":"Frais contre remboursement","total":"2.00"}],
            "shipping_total":"5.00","discount_total":"0.00","total_tax":"3.40","total":"20.40",
            "payment_method":"cod"}"#;
        let order = WooCommerce.parse_order(body.as_bytes()).unwrap();
        assert_eq!(order.lines.len(), 2);
        assert_eq!(order.lines[1].name, "Frais contre remboursement");
        assert_eq!(order.subtotal.to_string(), "12.00");
        assert!(!order.prices_include_tax);
        assert_eq!(order.reconcile(), Ok(()));
    }

    #[test]
    fn names_and_invoice_numbers_of_other_plugins_are_read() {
        let body = r#"{"id":9,"number":"WC-9","billing":{"first_name":"Ren&eacute;e","company":"A &amp; B"},
            "line_items":[{"name":"Mug &times; 2 &ndash; blue","quantity":1,"subtotal":"5.00"}],
            "meta_data":[{"key":"_my_invoice_no","value":"F-2026-0042"},{"key":"wf_invoice_number","value":"WF-17"}]}"#;
        let order = WooCommerce.parse_order(body.as_bytes()).unwrap();
        assert_eq!(order.lines[0].name, "Mug × 2 – blue");
        assert_eq!(order.customer.first_name, "Renée");
        assert_eq!(
            order.billing.as_ref().unwrap().company.as_deref(),
            Some("A & B")
        );
        assert_eq!(order.display_name(), "WC-9");
        assert_eq!(order.invoice_number.as_deref(), Some("WF-17"));
        let keys = ["_my_invoice_no".to_owned()];
        assert_eq!(
            WooCommerce
                .invoice_number(body.as_bytes(), &keys)
                .as_deref(),
            Some("F-2026-0042")
        );
        assert_eq!(WooCommerce.invoice_number(body.as_bytes(), &[]), None);
    }

    #[test]
    fn an_order_id_past_2_64_is_kept_exactly() {
        let body = br#"{"id":123456789012345678901234567890,"status":"processing"}"#;
        let order = WooCommerce.parse_order(body).unwrap();
        assert_eq!(order.id, "123456789012345678901234567890");
        assert_eq!(order.number, order.id);
    }

    #[test]
    fn ping_is_recognised_only_in_its_exact_form() {
        assert!(is_ping(b"webhook_id=15"));
        assert!(!is_ping(b"webhook_id="));
        assert!(!is_ping(b"webhook_id=15&x=1"));
        assert!(!is_ping(br#"{"webhook_id":15}"#));
    }

    #[test]
    fn the_language_translation_plugins_keep_in_order_meta_is_read() {
        let locale = |meta: &str| {
            let body = format!(r#"{{"id":9,"meta_data":[{meta}]}}"#);
            WooCommerce.parse_order(body.as_bytes()).unwrap().locale
        };
        assert_eq!(
            locale(r#"{"key":"wpml_language","value":"ar"}"#).as_deref(),
            Some("ar")
        );
        assert_eq!(
            locale(r#"{"key":"_pll_language","value":"fr"}"#).as_deref(),
            Some("fr")
        );
        assert_eq!(
            locale(r#"{"key":"trp_language","value":"es_ES"}"#).as_deref(),
            Some("es_ES")
        );
        // WPML first, whatever order the meta come in; an empty value is no language.
        assert_eq!(
            locale(r#"{"key":"_pll_language","value":"fr"},{"key":"wpml_language","value":"de"}"#)
                .as_deref(),
            Some("de")
        );
        assert_eq!(
            locale(r#"{"key":"wpml_language","value":""},{"key":"_pll_language","value":"it"}"#)
                .as_deref(),
            Some("it")
        );
        assert_eq!(
            locale(r#"{"key":"_download_permissions_granted","value":"yes"}"#),
            None
        );
    }
}
