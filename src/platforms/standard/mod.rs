//! `standard`: Standard Webhooks signing (`webhook-id`/`webhook-timestamp`/`webhook-signature`,
//! secret `whsec_…`) around shopbip's own canonical order JSON, so a PrestaShop or Magento
//! module, or any custom shop, can post orders without a platform module of its own. The body
//! is `{"type": "<canonical event>", "data": <order>}`, documented in
//! `plugin-config/README.md` and `plugin-config/canonical-order.schema.json`.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

use super::fields::{
    LineFields, array, checked_sum, country, line_item, money, opt_money, out_of_range, text,
    text_or_empty,
};
use super::standard_webhooks::{self as sw, KeyForm, Signed};
use super::{
    CanonicalEvent, Capabilities, DEFAULT_TOLERANCE, DeliveryKeyRule, Headers, ParseError, Parsed,
    SecretForm, SignatureScheme, Verified, VerifyError, WebhookPlatform, kinds, not_an_event,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, Payment, TaxLine};

pub const CAPABILITIES: Capabilities = Capabilities {
    signature: SignatureScheme::StandardWebhooks,
    default_tolerance: DEFAULT_TOLERANCE,
    secret_form: SecretForm::Key {
        form: KeyForm::Whsec,
        problem: "is not a Standard Webhooks secret (whsec_ followed by base64)",
    },
    invoice_pdf_url: Some("the order's invoice_url"),
    fetch_invoice_by_default: false,
    fetches_order: false,
    order_meta: false,
    delivery_key: DeliveryKeyRule::WebhookIdHeader,
};

pub struct Standard;

pub(crate) fn signed(headers: &Headers) -> Signed<'_> {
    Signed {
        id: headers.get(&[sw::ID]),
        timestamp: headers.get(&[sw::TIMESTAMP]),
        signature: headers.get(&[sw::SIGNATURE]),
    }
}

impl WebhookPlatform for Standard {
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
        sw::verify(&signed(headers), body, secrets, KeyForm::Whsec, tolerance)
            .map(|()| Verified::Signed)
    }

    fn parse_order(&self, body: &[u8]) -> Result<Order, ParseError> {
        let json: Value = super::json(body)?;
        order(json.get("data").unwrap_or(&json))
    }

    fn parse(&self, headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError> {
        let json: Value = super::json(body)?;
        // Signed, so not bad input: a body of some other kind, acknowledged so the sender does
        // not retry it for days.
        let Some(topic) = text(&json, "type") else {
            return Ok(not_an_event("a body without a \"type\""));
        };
        let Ok(kind) = topic.parse::<EventKind>() else {
            return Ok(Parsed::Ignored {
                topic,
                reason: "not a canonical event name".into(),
            });
        };
        let data = json
            .get("data")
            .filter(|d| d.is_object())
            .ok_or_else(|| ParseError::Invalid("body without a \"data\" order object".into()))?;
        let delivery_key = headers
            .get(&[sw::ID])
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ParseError::Invalid(format!("missing {} header", sw::ID)))?
            .to_owned();
        let order = order(data)?;
        // As for the platforms: an order created already paid is also `order.paid`.
        let also_paid = kind == EventKind::OrderCreated && order.payment.paid;
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            delivery_key,
            topic,
            kinds: kinds(kind, &[(also_paid, EventKind::OrderPaid)]),
            order,
        })))
    }
}

/// The canonical order JSON: the `Order` fields by name, amounts as decimal strings or numbers
/// in major units (`"12.50"`), most of them optional.
pub fn order(j: &Value) -> Result<Order, ParseError> {
    let id = super::fields::id(j, "id", "order")?;
    let customer = j.get("customer").cloned().unwrap_or(Value::Null);
    let lines: Vec<LineItem> = array(j, "lines")
        .iter()
        .map(line)
        .collect::<Result<_, _>>()?;
    let subtotal = match opt_money(j, "subtotal") {
        Some(s) => s,
        None => checked_sum(lines.iter().map(|l| l.total))?,
    };
    let taxes: Vec<TaxLine> = array(j, "taxes")
        .iter()
        .map(|t| TaxLine {
            label: text(t, "label").unwrap_or_else(|| "Tax".into()),
            rate: opt_money(t, "rate"),
            amount: money(t, "amount"),
        })
        .collect();
    let tax_total = match opt_money(j, "tax_total") {
        Some(t) => t,
        None => checked_sum(taxes.iter().map(|t| t.amount))?,
    };
    let shipping_total = money(j, "shipping_total");
    let discount_total = money(j, "discount_total");
    let prices_include_tax = j
        .get("prices_include_tax")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let total_missing =
        opt_money(j, "total").is_none() && !lines.iter().any(|l| !l.total.is_zero());
    let added_tax = if prices_include_tax {
        rust_decimal::Decimal::ZERO
    } else {
        tax_total
    };
    let total = match opt_money(j, "total") {
        Some(t) => t,
        None => subtotal
            .checked_add(shipping_total)
            .and_then(|t| t.checked_add(added_tax))
            .and_then(|t| t.checked_sub(discount_total))
            .ok_or_else(out_of_range)?,
    };
    let number = text(j, "number").unwrap_or_else(|| id.clone());
    let payment = j.get("payment").unwrap_or(&Value::Null);
    Ok(Order {
        name: text(j, "name").unwrap_or_else(|| number.clone()),
        number,
        id,
        total_missing,
        payment: Payment {
            method: text(payment, "method"),
            title: text(payment, "title"),
            // An unknown kind is `other`: a rule filtering on kinds still sees a known one.
            kind: text(payment, "kind")
                .and_then(|k| k.parse().ok())
                .unwrap_or_default(),
            paid: payment
                .get("paid")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        prices_include_tax,
        key: text(j, "key"),
        status: text(j, "status"),
        currency: text_or_empty(j, "currency").to_ascii_uppercase(),
        subtotal,
        shipping_total,
        discount_total,
        tax_total,
        total,
        taxes,
        lines,
        customer: Customer {
            first_name: text_or_empty(&customer, "first_name"),
            last_name: text_or_empty(&customer, "last_name"),
            email: text(&customer, "email"),
            phone: text(&customer, "phone"),
        },
        billing: j.get("billing").filter(|a| a.is_object()).map(address),
        shipping: j.get("shipping").filter(|a| a.is_object()).map(address),
        created_at: text(j, "created_at"),
        paid_at: text(j, "paid_at"),
        invoice_number: text(j, "invoice_number"),
        invoice_url: text(j, "invoice_url"),
    })
}

fn line(l: &Value) -> Result<LineItem, ParseError> {
    let fields = LineFields {
        name: "name",
        quantity: "quantity",
        unit_price: "unit_price",
        total: "total",
    };
    line_item(l, &fields, text(l, "sku"))
}

fn address(a: &Value) -> Address {
    Address {
        name: text_or_empty(a, "name"),
        company: text(a, "company"),
        line1: text_or_empty(a, "line1"),
        line2: text(a, "line2"),
        city: text_or_empty(a, "city"),
        state: text(a, "state"),
        postcode: text(a, "postcode"),
        country: country(a, "country"),
        phone: text(a, "phone"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serialised_order_reads_back_as_itself() {
        // The canonical JSON is the `Order`'s own serde shape, so a module author can copy what
        // `shopbip jobs show` prints.
        let body = include_bytes!("../../../tests/fixtures/standard/order-paid-eur.json");
        let json: Value = serde_json::from_slice(body).unwrap();
        let order = order(&json["data"]).unwrap();
        let again = super::order(&serde_json::to_value(&order).unwrap()).unwrap();
        assert_eq!(order, again);
        assert_eq!(order.total.to_string(), "59.90");
        assert_eq!(order.lines.len(), 2);
    }

    #[test]
    fn amounts_may_be_numbers_and_totals_are_derived_when_left_out() {
        let j = serde_json::json!({
            "id": 7, "currency": "eur",
            "lines": [{"name": "Tea", "quantity": 2, "unit_price": 4.5}],
            "taxes": [{"label": "VAT", "rate": 20, "amount": "1.80"}],
            "customer": {"first_name": "Lea", "phone": "+33612345678"}
        });
        let o = order(&j).unwrap();
        assert_eq!((o.id.as_str(), o.number.as_str()), ("7", "7"));
        assert_eq!(o.currency, "EUR");
        assert_eq!(o.subtotal.to_string(), "9.0");
        assert_eq!(o.total.to_string(), "10.80");
        assert!(order(&serde_json::json!({"number": "1"})).is_err());
    }

    #[test]
    fn amounts_past_the_decimal_range_are_refused_not_a_panic() {
        let out_of_range = Err(ParseError::Invalid("amount out of range".into()));
        let big = "79000000000000000000000000000";
        let lines = |a: Value, b: Value| serde_json::json!({"id": 1, "lines": [a, b]});
        for j in [
            serde_json::json!({"id": 1, "lines": [{"quantity": big, "unit_price": "2"}]}),
            lines(
                serde_json::json!({"total": big}),
                serde_json::json!({"total": big}),
            ),
            serde_json::json!({"id": 1, "taxes": [{"amount": big}, {"amount": big}]}),
            serde_json::json!({"id": 1, "subtotal": big, "shipping_total": big}),
            serde_json::json!({"id": 1, "subtotal": big, "discount_total": format!("-{big}")}),
        ] {
            assert_eq!(order(&j).map(|o| o.total), out_of_range, "{j}");
        }
        // Totals written out are taken as given, so nothing needs computing.
        let given = serde_json::json!({
            "id": 1, "total": "1",
            "lines": [{"quantity": big, "unit_price": "2", "total": "1"}],
        });
        assert_eq!(order(&given).unwrap().total, rust_decimal::Decimal::ONE);
    }
}
