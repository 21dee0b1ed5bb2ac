//! `standard`: Standard Webhooks signing (`webhook-id`/`webhook-timestamp`/`webhook-signature`,
//! secret `whsec_…`) around shopbip's own canonical order JSON, so a PrestaShop or Magento
//! module, or any custom shop, can post orders without a platform module of its own. The body
//! is `{"type": "<canonical event>", "data": <order>}`, documented in
//! `plugin-config/README.md` and `plugin-config/canonical-order.schema.json`.

mod payload;
#[cfg(not(fuzzing))]
pub mod reconcile;

use std::time::Duration;

use secrecy::SecretString;

use super::fields::{checked_sum, line_item, out_of_range};
use super::lenient::Obj;
use super::standard_webhooks::{self as sw, KeyForm, Signed};
use super::{
    CanonicalEvent, Capabilities, DEFAULT_TOLERANCE, DeliveryKeyRule, Headers, ParseError, Parsed,
    SecretForm, SignatureScheme, Verified, VerifyError, WebhookPlatform, kinds, not_an_event,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, Payment, Refund, TaxLine};
use payload::{DataOnly, Envelope, StdAddress, StdLine, StdOrder, StdRefund, StdTax};

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
        let saved: Obj<DataOnly> = super::json(body)?;
        match saved.value.data {
            Some(data) => order(&data.value),
            None => order(&super::json::<Obj<StdOrder>>(body)?.value),
        }
    }

    fn parse(&self, headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError> {
        let json: Obj<Envelope> = super::json(body)?;
        let json = json.value;
        // Signed, so not bad input: a body of some other kind, acknowledged so the sender does
        // not retry it for days.
        let Some(topic) = json.topic.json_text() else {
            return Ok(not_an_event("a body without a \"type\""));
        };
        let Ok(kind) = topic.parse::<EventKind>() else {
            return Ok(Parsed::Ignored {
                topic,
                reason: "not a canonical event name".into(),
            });
        };
        if !json.data.present {
            return Err(ParseError::Invalid(
                "body without a \"data\" order object".into(),
            ));
        }
        let delivery_key = headers
            .get(&[sw::ID])
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ParseError::Invalid(format!("missing {} header", sw::ID)))?
            .to_owned();
        let order = order(&json.data.value)?;
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
fn order(j: &StdOrder) -> Result<Order, ParseError> {
    let id = j.id.json_id("order")?;
    let lines: Vec<LineItem> = j.lines.0.iter().map(line).collect::<Result<_, _>>()?;
    let subtotal = match j.subtotal.json_money() {
        Some(s) => s,
        None => checked_sum(lines.iter().map(|l| l.total))?,
    };
    let taxes = tax_lines(&j.taxes.0);
    let tax_total = match j.tax_total.json_money() {
        Some(t) => t,
        None => checked_sum(taxes.iter().map(|t| t.amount))?,
    };
    let shipping_total = j.shipping_total.json_money().unwrap_or_default();
    let discount_total = j.discount_total.json_money().unwrap_or_default();
    let prices_include_tax = j.prices_include_tax.bool().unwrap_or(false);
    let total_missing = j.total.json_money().is_none() && !lines.iter().any(|l| !l.total.is_zero());
    let added_tax = if prices_include_tax {
        rust_decimal::Decimal::ZERO
    } else {
        tax_total
    };
    let total = match j.total.json_money() {
        Some(t) => t,
        None => subtotal
            .checked_add(shipping_total)
            .and_then(|t| t.checked_add(added_tax))
            .and_then(|t| t.checked_sub(discount_total))
            .ok_or_else(out_of_range)?,
    };
    let number = j.number.json_text().unwrap_or_else(|| id.clone());
    let payment = &j.payment.value;
    let customer = &j.customer.value;
    Ok(Order {
        name: j.name.json_text().unwrap_or_else(|| number.clone()),
        number,
        id,
        total_missing,
        payment: Payment {
            method: payment.method.json_text(),
            title: payment.title.json_text(),
            // An unknown kind is `other`: a rule filtering on kinds still sees a known one.
            kind: payment
                .kind
                .json_text()
                .and_then(|k| k.parse().ok())
                .unwrap_or_default(),
            paid: payment.paid.bool().unwrap_or(false),
        },
        prices_include_tax,
        locale: j.locale.json_text(),
        key: j.key.json_text(),
        status: j.status.json_text(),
        currency: j.currency.json_text_or_empty().to_ascii_uppercase(),
        subtotal,
        shipping_total,
        discount_total,
        tax_total,
        total,
        taxes,
        lines,
        customer: Customer {
            first_name: customer.first_name.json_text_or_empty(),
            last_name: customer.last_name.json_text_or_empty(),
            email: customer.email.json_text(),
            phone: customer.phone.json_text(),
        },
        billing: j.billing.present.then(|| address(&j.billing.value)),
        shipping: j.shipping.present.then(|| address(&j.shipping.value)),
        created_at: j.created_at.json_text(),
        paid_at: j.paid_at.json_text(),
        invoice_number: j.invoice_number.json_text(),
        invoice_url: j.invoice_url.json_text(),
        refund: j
            .refund
            .present
            .then(|| refund(&j.refund.value))
            .transpose()?,
    })
}

fn tax_lines(taxes: &[StdTax]) -> Vec<TaxLine> {
    taxes
        .iter()
        .map(|t| TaxLine {
            label: t.label.json_text().unwrap_or_else(|| "Tax".into()),
            rate: t.rate.json_money(),
            amount: t.amount.json_money().unwrap_or_default(),
        })
        .collect()
}

/// The order's `refund`: its lines as the order's are read; its tax, where not given, what
/// its `taxes` add up to; `amount` (the money given back) as given, or none.
fn refund(r: &StdRefund) -> Result<Refund, ParseError> {
    let taxes = tax_lines(&r.taxes.0);
    Ok(Refund {
        id: r.id.json_id("refund")?,
        created_at: r.created_at.json_text(),
        lines: r.lines.0.iter().map(line).collect::<Result<_, _>>()?,
        shipping: r.shipping.json_money().unwrap_or_default(),
        tax: match r.tax.json_money() {
            Some(t) => t,
            None => checked_sum(taxes.iter().map(|t| t.amount))?,
        },
        taxes,
        amount: r.amount.json_money(),
    })
}

fn line(l: &StdLine) -> Result<LineItem, ParseError> {
    line_item(
        l.name.json_text_or_empty(),
        l.sku.json_text(),
        l.quantity.json_money(),
        l.unit_price.json_money(),
        l.total.json_money(),
    )
}

fn address(a: &StdAddress) -> Address {
    Address {
        name: a.name.json_text_or_empty(),
        company: a.company.json_text(),
        line1: a.line1.json_text_or_empty(),
        line2: a.line2.json_text(),
        city: a.city.json_text_or_empty(),
        state: a.state.json_text(),
        postcode: a.postcode.json_text(),
        country: a.country.json_country(),
        phone: a.phone.json_text(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// The order of a JSON value, read as a webhook body is.
    fn order(j: &Value) -> Result<Order, ParseError> {
        let body = serde_json::to_vec(j).unwrap();
        super::order(&super::super::json::<Obj<StdOrder>>(&body)?.value)
    }

    #[test]
    fn the_serialised_order_reads_back_as_itself() {
        // The canonical JSON is the `Order`'s own serde shape, so a module author can copy what
        // `shopbip jobs show` prints.
        let body = include_bytes!("../../../tests/fixtures/standard/order-paid-eur.json");
        let json: Value = serde_json::from_slice(body).unwrap();
        let order = order(&json["data"]).unwrap();
        let again = self::order(&serde_json::to_value(&order).unwrap()).unwrap();
        assert_eq!(order, again);
        assert_eq!(order.total.to_string(), "59.90");
        assert_eq!(order.lines.len(), 2);
    }

    #[test]
    fn a_refund_is_read_by_its_canonical_names_and_reads_back_as_itself() {
        let j = serde_json::json!({
            "id": "5120", "currency": "EUR", "total": "59.90",
            "lines": [{"name": "Tea", "quantity": 2, "unit_price": "20.00"}],
            "refund": {
                "id": "rf-9", "lines": [{"name": "Tea", "quantity": 1, "unit_price": "20.00"}],
                "taxes": [{"label": "TVA", "rate": 20, "amount": "4.00"}], "amount": "24.00"
            }
        });
        let o = order(&j).unwrap();
        let r = o.refund.as_ref().unwrap();
        assert_eq!((r.id.as_str(), r.lines.len()), ("rf-9", 1));
        assert_eq!(r.tax.to_string(), "4.00", "what its taxes add up to");
        assert_eq!(r.amount.map(|a| a.to_string()).as_deref(), Some("24.00"));
        assert_eq!(self::order(&serde_json::to_value(&o).unwrap()).unwrap(), o);
        // A refund must say which: its id keys its credit note.
        let mut no_id = j.clone();
        no_id["refund"]["id"] = Value::Null;
        assert!(order(&no_id).is_err());
        assert_eq!(order(&serde_json::json!({"id": 1})).unwrap().refund, None);
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

    #[test]
    fn the_orders_locale_is_read_and_round_trips() {
        let j = serde_json::json!({"id": "PS-1", "locale": "fr-FR"});
        let o = order(&j).unwrap();
        assert_eq!(o.locale.as_deref(), Some("fr-FR"));
        let again = order(&serde_json::to_value(&o).unwrap()).unwrap();
        assert_eq!(again.locale.as_deref(), Some("fr-FR"));
        assert_eq!(
            order(&serde_json::json!({"id": "PS-1"})).unwrap().locale,
            None
        );
        // Absent, it is left out of the stored order as orders stored before it were.
        assert!(
            serde_json::to_value(Order::default())
                .unwrap()
                .get("locale")
                .is_none()
        );
    }
}
