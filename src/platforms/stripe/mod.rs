//! Stripe invoice events: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, hex HMAC-SHA256 of
//! `{t}.{raw body}` keyed with the endpoint secret (`whsec_…`, used as written), any `v1`
//! matching (one per active secret while a secret is rolled), `t` within the replay window.
//! The invoice is the order; its PDF is Stripe's own (`invoice_pdf`).

mod payload;
#[cfg(not(fuzzing))]
pub mod profile;
#[cfg(not(fuzzing))]
pub mod reconcile;

use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::SecretString;

use super::fields::unix_rfc3339;
use super::lenient::{Obj, Text};
use super::signature::{
    MAX_SIGNATURE_ENTRIES, MAX_SIGNATURE_HEADER, any_matches, unix_now, within,
};
use super::{
    CanonicalEvent, Capabilities, DEFAULT_TOLERANCE, DeliveryKeyRule, Headers, ParseError, Parsed,
    SecretForm, SignatureScheme, Verified, VerifyError, WebhookPlatform, not_an_event,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, Payment, PaymentKind, TaxLine};
use payload::{Event, Invoice, Line, StripeAddress};

pub const SIGNATURE: &str = "Stripe-Signature";

pub const CAPABILITIES: Capabilities = Capabilities {
    signature: SignatureScheme::Stripe,
    default_tolerance: DEFAULT_TOLERANCE,
    secret_form: SecretForm::AsWritten,
    invoice_pdf_url: Some("Stripe's invoice_pdf"),
    // Stripe makes the invoice: its PDF is the one to send.
    fetch_invoice_by_default: true,
    fetches_order: false,
    order_meta: false,
    delivery_key: DeliveryKeyRule::EventId,
};

pub struct Stripe;

impl WebhookPlatform for Stripe {
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
        let json: Obj<Event> = super::json(body)?;
        // A saved event or a bare invoice object both preview.
        match &json.value.data.value.object {
            Some(invoice) => order(&invoice.value),
            None => order(&super::json::<Obj<Invoice>>(body)?.value),
        }
    }

    fn parse(&self, _headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError> {
        let json: Obj<Event> = super::json(body)?;
        let json = json.value;
        // Signed, so not bad input: a body of some other kind, acknowledged so Stripe does not
        // retry it for days.
        let Some(topic) = json.topic.json_text() else {
            return Ok(not_an_event("an event without a type"));
        };
        let kind = match topic.as_str() {
            "invoice.finalized" => EventKind::InvoiceCreated,
            "invoice.paid" => EventKind::InvoicePaid,
            _ => {
                return Ok(Parsed::Ignored {
                    topic,
                    reason: "event type not used by shopbip".into(),
                });
            }
        };
        let event_id = json
            .id
            .json_text()
            .ok_or_else(|| ParseError::Invalid("event without an id".into()))?;
        let invoice = json.data.value.object.as_ref().ok_or_else(|| {
            // Thin "event destinations" carry ids only; they need a snapshot endpoint instead.
            ParseError::Invalid("event without data.object (a thin event?)".into())
        })?;
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            // The event id is the same on every retry of the event.
            delivery_key: event_id,
            topic,
            kinds: vec![kind],
            order: order(&invoice.value)?,
        })))
    }
}

/// Checks a `Stripe-Signature` header at time `now`.
pub fn verify_at(
    header: Option<&str>,
    body: &[u8],
    secrets: &[SecretString],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let header = header.ok_or(VerifyError::Missing(SIGNATURE))?;
    if header.len() > MAX_SIGNATURE_HEADER {
        return Err(VerifyError::Malformed(SIGNATURE));
    }
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", t)) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                timestamp = Some(t);
            }
            Some(("v1", sig)) => {
                if let Ok(sig) = hex::decode(sig) {
                    candidates.push(sig);
                }
            }
            // `v0` (test mode) and schemes added later are not ours to check.
            _ => {}
        }
    }
    let t = timestamp.ok_or(VerifyError::Malformed(SIGNATURE))?;
    let t_value: i64 = t.parse().map_err(|_| VerifyError::Malformed(SIGNATURE))?;
    candidates.retain(|c| c.len() == 32);
    candidates.truncate(MAX_SIGNATURE_ENTRIES);
    if candidates.is_empty() {
        return Err(VerifyError::Malformed(SIGNATURE));
    }
    let parts: [&[u8]; 3] = [t.as_bytes(), b".", body];
    if !any_matches(secrets, &parts, &candidates) {
        return Err(VerifyError::Mismatch);
    }
    if !within(t_value, now, tolerance) {
        return Err(VerifyError::Stale(tolerance.as_secs()));
    }
    Ok(())
}

/// `t=…,v1=…` for one secret: what Stripe sends, for tests and load generators.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let mac = super::signature::hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", body]);
    format!("t={t},v1={}", hex::encode(mac))
}

/// Decimal places of Stripe's integer amounts. Stripe's own list, which is not ISO 4217's:
/// it keeps two decimals for ISK, HUF, TWD, IQD and LYD among others.
pub fn minor_units(currency: &str) -> u32 {
    match currency.to_ascii_uppercase().as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "JPY" | "KMF" | "KRW" | "MGA" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "JOD" | "KWD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// A JSON integer, as `Value::as_i64` reads one (a string of digits is not one).
fn int(t: &Text) -> Option<i64> {
    if t.json_str().is_some() {
        None
    } else {
        t.json_i64()
    }
}

/// An integer amount in minor units (`1999` cents, a number or a string of one) as a decimal
/// of `places` digits.
fn minor_money(t: &Text, places: u32) -> Option<Decimal> {
    let units = int(t).or_else(|| t.json_str()?.trim().parse().ok())?;
    Some(Decimal::new(units, places))
}

fn order(inv: &Invoice) -> Result<Order, ParseError> {
    let id = inv.id.json_id("invoice")?;
    let currency = inv.currency.json_text_or_empty().to_ascii_uppercase();
    let places = minor_units(&currency);
    let amount = |t: &Text| minor_money(t, places).unwrap_or_default();
    let (first_name, last_name) = split_name(&inv.customer_name.json_text_or_empty());
    let phone = inv.customer_phone.json_text();
    let billing = inv.customer_address.present.then(|| {
        address(
            &inv.customer_address.value,
            inv.customer_name.json_text_or_empty(),
            phone.clone(),
        )
    });
    let shipping = inv.customer_shipping.present.then(|| {
        let s = &inv.customer_shipping.value;
        address(
            &s.address.value,
            s.name.json_text_or_empty(),
            s.phone.json_text(),
        )
    });
    // Newer API versions list taxes in `total_taxes`, older ones in `total_tax_amounts`.
    let tax_items = match &inv.total_taxes {
        Some(taxes) => &taxes.0,
        None => &inv.total_tax_amounts.0,
    };
    let taxes: Vec<TaxLine> = tax_items
        .iter()
        .map(|t| {
            let rate = t.tax_rate.present.then_some(&t.tax_rate.value);
            TaxLine {
                label: rate
                    .and_then(|r| r.display_name.json_text())
                    .unwrap_or_else(|| "Tax".into()),
                rate: rate.and_then(|r| r.percentage.json_money()),
                amount: amount(&t.amount),
            }
        })
        .collect();
    let tax_total = match minor_money(&inv.tax, places) {
        Some(t) => t,
        None => taxes.iter().map(|t| t.amount).sum(),
    };
    let discount_total = inv
        .total_discount_amounts
        .0
        .iter()
        .map(|d| amount(&d.amount))
        .sum();
    let shipping_total = if inv.shipping_cost.present {
        amount(&inv.shipping_cost.value.amount_subtotal)
    } else {
        Decimal::ZERO
    };
    let lines = inv
        .lines
        .value
        .data
        .0
        .iter()
        .map(|l| line(l, places))
        .collect();
    let number = inv.number.json_text();
    let status = inv.status.json_text();
    // `send_invoice` invoices are paid by the customer later, often by bank transfer; the
    // others are charged to a saved card or wallet.
    let collection = inv.collection_method.json_text();
    let kind = match collection.as_deref() {
        Some("send_invoice") => PaymentKind::Other,
        _ => PaymentKind::Online,
    };
    Ok(Order {
        number: number.clone().unwrap_or_else(|| id.clone()),
        name: number.clone().unwrap_or_else(|| id.clone()),
        payment: Payment {
            title: None,
            method: collection,
            kind,
            paid: status.as_deref() == Some("paid") || inv.paid.bool() == Some(true),
        },
        // Inclusive taxes are already in the line amounts and the subtotal.
        prices_include_tax: tax_items.iter().any(|t| {
            t.inclusive.bool() == Some(true)
                || t.tax_behavior.json_text().as_deref() == Some("inclusive")
        }),
        total_missing: minor_money(&inv.total, places).is_none(),
        // The invoice names no language (its customer's `preferred_locales` would need a fetch).
        locale: None,
        id,
        key: None,
        status,
        subtotal: amount(&inv.subtotal),
        shipping_total,
        discount_total,
        tax_total,
        total: amount(&inv.total),
        taxes,
        lines,
        customer: Customer {
            first_name,
            last_name,
            email: inv.customer_email.json_text(),
            phone,
        },
        billing,
        shipping,
        created_at: int(&inv.created).map(unix_rfc3339),
        paid_at: int(&inv.status_transitions.value.paid_at).map(unix_rfc3339),
        invoice_number: number,
        invoice_url: inv.invoice_pdf.json_text(),
        currency,
        refund: None,
    })
}

fn line(l: &Line, places: u32) -> LineItem {
    let quantity = int(&l.quantity).map(Decimal::from).unwrap_or(Decimal::ONE);
    let total = minor_money(&l.amount, places).unwrap_or_default();
    let unit_price = minor_money(&l.price.value.unit_amount, places)
        .or_else(|| {
            // `unit_amount_decimal` is a decimal count of minor units ("1999.5").
            l.pricing
                .value
                .unit_amount_decimal
                .json_str()
                .and_then(|s| s.parse::<Decimal>().ok())
                .map(|d| d / Decimal::from(10_i64.pow(places)))
        })
        .unwrap_or_else(|| {
            if quantity.is_zero() {
                total
            } else {
                total / quantity
            }
        });
    LineItem {
        name: l.description.json_text().unwrap_or_default(),
        sku: None,
        quantity,
        unit_price,
        total,
    }
}

fn address(a: &StripeAddress, name: String, phone: Option<String>) -> Address {
    Address {
        name,
        company: None,
        line1: a.line1.json_text_or_empty(),
        line2: a.line2.json_text(),
        city: a.city.json_text_or_empty(),
        state: a.state.json_text(),
        postcode: a.postal_code.json_text(),
        country: a.country.json_country(),
        phone,
    }
}

/// Stripe keeps one `customer_name`; the first word is what a greeting needs.
fn split_name(full: &str) -> (String, String) {
    match full.trim().split_once(char::is_whitespace) {
        Some((first, rest)) => (first.to_owned(), rest.trim().to_owned()),
        None => (full.trim().to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_stripe_endpoint";
    const OLD: &str = "whsec_old_stripe_endpoint";
    const T: i64 = 1_764_064_800;
    const FIVE_MIN: Duration = Duration::from_secs(300);

    fn secrets() -> [SecretString; 1] {
        [SecretString::from(SECRET)]
    }

    #[test]
    fn a_signature_over_t_and_body_verifies_within_the_window() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(SECRET, T, body);
        assert_eq!(
            verify_at(Some(&header), body, &secrets(), T + 299, FIVE_MIN),
            Ok(())
        );
        // Hand-computed: hex HMAC-SHA256("whsec_test_stripe_endpoint", "1764064800.{body}").
        let expected = hex::encode(super::super::signature::hmac_sha256(
            SECRET.as_bytes(),
            &[b"1764064800.{\"id\":\"evt_1\"}"],
        ));
        assert_eq!(header, format!("t=1764064800,v1={expected}"));
    }

    #[test]
    fn during_a_roll_either_v1_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let old = sign(OLD, T, body);
        let new = sign(SECRET, T, body);
        let both = format!("{},{},v0=abc", old, new.split_once(',').unwrap().1);
        assert_eq!(
            verify_at(Some(&both), body, &secrets(), T, FIVE_MIN),
            Ok(())
        );
        let only_old = [SecretString::from(OLD)];
        assert_eq!(verify_at(Some(&both), body, &only_old, T, FIVE_MIN), Ok(()));
    }

    #[test]
    fn tampered_stale_and_malformed_signatures_fail() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(SECRET, T, body);
        let check =
            |h: Option<&str>, b: &[u8], now: i64| verify_at(h, b, &secrets(), now, FIVE_MIN);
        assert_eq!(
            check(Some(&header), br#"{"id":"evt_2"}"#, T),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            check(
                Some(&header.replace("t=1764064800", "t=1764064801")),
                body,
                T
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            check(Some(&header), body, T + 301),
            Err(VerifyError::Stale(300))
        );
        assert_eq!(
            verify_at(
                Some(&header),
                body,
                &secrets(),
                T + 301,
                Duration::from_secs(600)
            ),
            Ok(())
        );
        assert_eq!(check(None, body, T), Err(VerifyError::Missing(SIGNATURE)));
        assert_eq!(
            check(Some("v1=abcd"), body, T),
            Err(VerifyError::Malformed(SIGNATURE))
        );
        assert_eq!(
            check(Some("t=1764064800,v0=00"), body, T),
            Err(VerifyError::Malformed(SIGNATURE))
        );
    }

    #[test]
    fn long_or_crowded_signature_headers_are_not_worked_through() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign(SECRET, T, body);
        let v1 = good.split_once(',').unwrap().1;
        let decoy = format!("v1={}", "00".repeat(32));
        let after = |n: usize| format!("t={T},{},{v1}", vec![decoy.as_str(); n].join(","));
        let check = |h: &str| verify_at(Some(h), body, &secrets(), T, FIVE_MIN);
        assert_eq!(check(&after(MAX_SIGNATURE_ENTRIES - 1)), Ok(()));
        assert_eq!(
            check(&after(MAX_SIGNATURE_ENTRIES)),
            Err(VerifyError::Mismatch)
        );
        let long = format!("{good},{}", vec!["v0=00"; 1000].join(","));
        assert!(long.len() > MAX_SIGNATURE_HEADER);
        assert_eq!(check(&long), Err(VerifyError::Malformed(SIGNATURE)));
    }

    #[test]
    fn the_store_window_reaches_the_adapter() {
        let body = br#"{"id":"evt_1"}"#;
        let headers = Headers::new([(
            "stripe-signature".to_owned(),
            sign(SECRET, unix_now() - 400, body),
        )]);
        let adapter = crate::platforms::Platform::Stripe.adapter();
        assert_eq!(
            adapter.verify(
                &headers,
                body,
                &secrets(),
                crate::platforms::DEFAULT_TOLERANCE
            ),
            Err(VerifyError::Stale(300))
        );
        assert_eq!(
            adapter.verify(&headers, body, &secrets(), Duration::from_secs(600)),
            Ok(Verified::Signed)
        );
    }

    #[test]
    fn invoice_amounts_are_read_in_the_currency_s_minor_units() {
        let event = include_str!("../../../tests/fixtures/stripe/invoice-paid-eur.json");
        let order_in = |currency: &str| {
            let body = event.replace(
                "\"currency\": \"eur\"",
                &format!("\"currency\": \"{currency}\""),
            );
            Stripe.parse_order(body.as_bytes()).unwrap()
        };
        assert_eq!(order_in("eur").total.to_string(), "142.80");
        assert_eq!(order_in("jpy").total.to_string(), "14280");
        assert_eq!(order_in("tnd").total.to_string(), "14.280");
        let jpy = order_in("jpy");
        assert_eq!(jpy.currency, "JPY");
        assert_eq!(jpy.lines[1].unit_price.to_string(), "2900");
        assert_eq!(jpy.lines[0].unit_price, Decimal::from(3000));
    }

    #[test]
    fn stripe_minor_units_are_stripe_s_not_iso() {
        assert_eq!(minor_units("jpy"), 0);
        assert_eq!(minor_units("tnd"), 3);
        assert_eq!(minor_units("isk"), 2);
        assert_eq!(minor_units("eur"), 2);
    }
}
