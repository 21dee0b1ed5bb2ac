//! Shopify webhooks: `X-Shopify-Hmac-Sha256` (or `Shopify-Hmac-Sha256` in the newer delivery
//! format) = base64 HMAC-SHA256 of the raw body; the topic is in `X-Shopify-Topic`.

#[cfg(not(fuzzing))]
pub mod api;
mod payload;
#[cfg(not(fuzzing))]
pub mod profile;
#[cfg(not(fuzzing))]
pub mod reconcile;
mod refund;

use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::SecretString;

use super::fields::{checked_mul, checked_sum, full_name};
use super::lenient::Text;
use super::signature::verify_base64_body;
use super::{
    CanonicalEvent, Capabilities, DEFAULT_TOLERANCE, DeliveryKeyRule, Headers, ParseError, Parsed,
    SecretForm, SignatureScheme, Verified, VerifyError, WebhookPlatform, body_hash_key, kinds,
    topic_delivery_key,
};
use crate::order::{Address, Customer, EventKind, LineItem, Order, Payment, PaymentKind, TaxLine};
use payload::{ShopifyAddress, ShopifyLine, ShopifyOrder, ShopifyRefund};

pub const SIGNATURE: [&str; 2] = ["X-Shopify-Hmac-Sha256", "Shopify-Hmac-Sha256"];
pub const TOPIC: [&str; 2] = ["X-Shopify-Topic", "Shopify-Topic"];
pub const WEBHOOK_ID: [&str; 2] = ["X-Shopify-Webhook-Id", "Shopify-Webhook-Id"];

pub const CAPABILITIES: Capabilities = Capabilities {
    signature: SignatureScheme::Base64BodyHmac,
    default_tolerance: DEFAULT_TOLERANCE,
    secret_form: SecretForm::AsWritten,
    invoice_pdf_url: None,
    fetch_invoice_by_default: false,
    fetches_order: false,
    order_meta: false,
    delivery_key: DeliveryKeyRule::OrderTopicBody,
};

pub struct Shopify;

impl WebhookPlatform for Shopify {
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
        verify_base64_body(SIGNATURE[0], headers.get(&SIGNATURE), body, secrets)
            .map(|()| Verified::Signed)
    }

    fn parse_order(&self, body: &[u8]) -> Result<Order, ParseError> {
        order(parse_json(body)?)
    }

    fn parse(&self, headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError> {
        let topic = headers
            .get(&TOPIC)
            .ok_or_else(|| ParseError::Invalid(format!("missing {} header", TOPIC[0])))?
            .to_owned();
        if !matches!(
            topic.as_str(),
            "orders/create"
                | "orders/updated"
                | "orders/paid"
                | "orders/fulfilled"
                | "orders/cancelled"
                | "refunds/create"
        ) {
            return Ok(Parsed::Ignored {
                topic,
                reason: "topic not used by shopbip".into(),
            });
        }
        let (order, state) = if topic == "refunds/create" {
            (refund_order(&super::json(body)?)?, State::default())
        } else {
            let json = parse_json(body)?;
            let mut state = State::of(&json);
            let order = order(json)?;
            state.refund = order.refund.is_some();
            (order, state)
        };
        let Some(kinds) = event_kinds(&topic, &state) else {
            return Ok(Parsed::Ignored {
                topic,
                reason: "the order's new state means no canonical event".into(),
            });
        };
        let delivery_key = topic_delivery_key(
            &order.id,
            &topic,
            &headers
                .get(&WEBHOOK_ID)
                .map(str::to_owned)
                .unwrap_or_else(|| body_hash_key(body)),
        );
        Ok(Parsed::Event(Box::new(CanonicalEvent {
            delivery_key,
            topic,
            kinds,
            order,
        })))
    }
}

/// What an order's state says, for [`event_kinds`].
#[derive(Debug, Default, Clone, Copy)]
pub struct State {
    pub paid: bool,
    pub fulfilled: bool,
    pub cancelled: bool,
    pub refunded: bool,
    pub partially_refunded: bool,
    /// The order lists a refund (the event is about its newest).
    pub refund: bool,
}

impl State {
    fn of(j: &ShopifyOrder) -> Self {
        Self {
            // Partly refunded was paid first (a created or fulfilled order in that state is
            // also `order.paid`).
            paid: j.financial_status.is("paid") || j.financial_status.is("partially_refunded"),
            fulfilled: j.fulfillment_status.is("fulfilled"),
            cancelled: j.cancelled_at.get().is_some(),
            refunded: j.financial_status.is("refunded"),
            partially_refunded: j.financial_status.is("partially_refunded"),
            refund: false,
        }
    }
}

/// What a topic means given the order's state: the topic's own event, and `order.paid` too
/// when a created or fulfilled order is already paid. `orders/updated` means whatever the
/// state is (`None`: nothing a rule can use); a cancelled or refunded order is only that; a
/// partially refunded one is its newest refund (and fulfilled, when it is).
pub fn event_kinds(topic: &str, state: &State) -> Option<Vec<EventKind>> {
    let paid = (state.paid, EventKind::OrderPaid);
    let fulfilled = (state.fulfilled, EventKind::OrderFulfilled);
    Some(match topic {
        "orders/create" => kinds(EventKind::OrderCreated, &[paid]),
        "orders/paid" => vec![EventKind::OrderPaid],
        "orders/fulfilled" => kinds(EventKind::OrderFulfilled, &[paid]),
        "orders/cancelled" => vec![EventKind::OrderCancelled],
        "refunds/create" => vec![EventKind::OrderRefunded],
        "orders/updated" if state.cancelled => vec![EventKind::OrderCancelled],
        "orders/updated" if state.refunded => vec![EventKind::OrderRefunded],
        "orders/updated" if state.partially_refunded && state.refund => {
            kinds(EventKind::OrderRefunded, &[fulfilled])
        }
        "orders/updated" if state.fulfilled => kinds(EventKind::OrderFulfilled, &[paid]),
        "orders/updated" if state.paid => vec![EventKind::OrderPaid],
        _ => return None,
    })
}

/// Shopify's gateway names (`payment_gateway_names`, the older `gateway`): its manual payment
/// methods by the names the admin gives them, in the languages merchants rename them to; any
/// other gateway takes the money online.
fn payment_kind(gateway: &str) -> PaymentKind {
    const COD: [&str; 11] = [
        "cash on delivery",
        "cash_on_delivery",
        "(cod)",
        "livraison",
        "عند الاستلام",
        "عند التسليم",
        "contra reembolso",
        "contrareembolso",
        "contrassegno",
        "nachnahme",
        "na entrega",
    ];
    let g = gateway.trim().to_lowercase();
    if g == "cod" || COD.iter().any(|c| g.contains(c)) {
        PaymentKind::Cod
    } else if g.contains("bank") || g.contains("money order") || g.contains("virement") {
        PaymentKind::BankTransfer
    } else if g.is_empty() || g == "manual" {
        PaymentKind::Other
    } else {
        PaymentKind::Online
    }
}

fn parse_json(body: &[u8]) -> Result<ShopifyOrder, ParseError> {
    super::json(body)
}

fn order(j: ShopifyOrder) -> Result<Order, ParseError> {
    let id =
        j.id.get()
            .ok_or_else(|| ParseError::Invalid("order without an id".into()))?;
    let customer = &j.customer.value;
    let billing = j
        .billing_address
        .present
        .then(|| address(&j.billing_address.value));
    let shipping = j
        .shipping_address
        .present
        .then(|| address(&j.shipping_address.value));
    let first = customer
        .first_name
        .get()
        .or_else(|| j.billing_address.value.first_name.get())
        .unwrap_or_default();
    let last = customer
        .last_name
        .get()
        .or_else(|| j.billing_address.value.last_name.get())
        .unwrap_or_default();
    let name = j.name.get();
    let number = j
        .order_number
        .get()
        .or_else(|| name.as_ref().map(|n| n.trim_start_matches('#').to_owned()))
        .unwrap_or_else(|| id.clone());
    let shipping_total = j
        .total_shipping_price_set
        .value
        .shop_money
        .value
        .amount
        .opt_money()
        .map(Ok)
        .unwrap_or_else(|| checked_sum(j.shipping_lines.0.iter().map(|s| s.price.money())))?;
    let taxes = j
        .tax_lines
        .0
        .iter()
        .map(|t| TaxLine {
            label: t.title.get().unwrap_or_else(|| "Tax".into()),
            rate: t
                .rate
                .opt_money()
                .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
                .map(|r| r.normalize()),
            amount: t.price.money(),
        })
        .collect();
    let lines: Vec<LineItem> = j.line_items.0.iter().map(line).collect::<Result<_, _>>()?;
    // The lines before discounts: `subtotal_price` is after them, and the invoice takes the
    // discount off once, on its own line.
    let subtotal = match j.total_line_items_price.opt_money() {
        Some(s) => s,
        None => checked_sum(lines.iter().map(|l| l.total))?,
    };
    let discount_total = j.total_discounts.money();
    let tax_total = j.total_tax.money();
    let prices_include_tax = j.taxes_included.flag();
    let currency = j
        .currency
        .get()
        .or_else(|| j.presentment_currency.get())
        .or_else(|| {
            j.total_shipping_price_set
                .value
                .shop_money
                .value
                .currency_code
                .get()
        })
        .unwrap_or_default()
        .to_ascii_uppercase();
    let gateways: Vec<String> = j
        .payment_gateway_names
        .0
        .iter()
        .filter_map(Text::get)
        .chain(j.gateway.get())
        .collect();
    let kind = gateways
        .iter()
        .map(|g| payment_kind(g))
        .find(|k| *k == PaymentKind::Cod)
        .or_else(|| gateways.first().map(|g| payment_kind(g)))
        .unwrap_or_default();
    let paid = j.financial_status.is("paid");
    let mut order = Order {
        id,
        name: name.unwrap_or_else(|| number.clone()),
        number,
        key: j.token.get(),
        status: j.financial_status.get(),
        currency,
        subtotal,
        shipping_total,
        discount_total,
        tax_total,
        total: j.total_price.money(),
        total_missing: j.total_price.opt_money().is_none(),
        taxes,
        lines,
        customer: Customer {
            first_name: first,
            last_name: last,
            email: customer.email.get().or_else(|| j.email.get()),
            phone: j.phone.get().or_else(|| customer.phone.get()),
        },
        billing,
        shipping,
        created_at: j.created_at.get(),
        paid_at: if paid { j.processed_at.get() } else { None },
        invoice_number: None,
        invoice_url: None,
        payment: Payment {
            method: gateways.first().cloned(),
            title: gateways.first().cloned(),
            kind,
            paid: paid || j.financial_status.is("partially_refunded"),
        },
        prices_include_tax,
        locale: j.customer_locale.get(),
        refund: None,
    };
    if let Some(r) = refund::newest(&j.refunds.0) {
        order.refund = Some(refund::refund(r, &order.currency)?);
    }
    // A trimmed payload without totals: what its lines add up to.
    order.derive_missing_total();
    Ok(order)
}

/// `refunds/create` carries the refund, not the order: the order is known by id only (the
/// worker completes it, `Order::is_refund_only`), with the refund's lines and amounts. Its
/// currency is not said: the refund's money sets name it.
fn refund_order(r: &ShopifyRefund) -> Result<Order, ParseError> {
    let id = r
        .order_id
        .get()
        .ok_or_else(|| ParseError::Invalid("refund without an order_id".into()))?;
    // From the shop-money sets only: a transaction's currency is the customer's (presentment)
    // one on a multi-currency shop, not the order's.
    let shop = |set: &super::lenient::Obj<payload::MoneySet>| {
        set.value.shop_money.value.currency_code.get()
    };
    let currency = r
        .refund_line_items
        .0
        .iter()
        .find_map(|l| shop(&l.subtotal_set))
        .or_else(|| {
            r.refund_shipping_lines
                .0
                .iter()
                .find_map(|s| shop(&s.subtotal_amount_set))
        })
        .or_else(|| {
            r.order_adjustments
                .0
                .iter()
                .find_map(|a| shop(&a.amount_set))
        })
        .unwrap_or_default()
        .to_ascii_uppercase();
    // The refund's own amounts are not the order's: nothing here says what the order cost.
    Ok(Order {
        number: id.clone(),
        name: id.clone(),
        id,
        total_missing: true,
        refund: Some(refund::refund(r, &currency)?),
        currency,
        ..Order::default()
    })
}

fn address(a: &ShopifyAddress) -> Address {
    let name = a
        .name
        .get()
        .unwrap_or_else(|| full_name(&a.first_name.or_empty(), &a.last_name.or_empty()));
    Address {
        name,
        company: a.company.get(),
        line1: a.address1.or_empty(),
        line2: a.address2.get(),
        city: a.city.or_empty(),
        state: a.province_code.get().or_else(|| a.province.get()),
        postcode: a.zip.get(),
        country: a.country_code.country(),
        phone: a.phone.get(),
    }
}

fn line(l: &ShopifyLine) -> Result<LineItem, ParseError> {
    let quantity = l.quantity.opt_money().unwrap_or(Decimal::ONE);
    let unit_price = l.price.money();
    Ok(LineItem {
        name: l.name.get().or_else(|| l.title.get()).unwrap_or_default(),
        sku: l.sku.get(),
        quantity,
        unit_price,
        total: checked_mul(unit_price, quantity)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_an_order_means_comes_from_its_state() {
        use EventKind::*;
        let state = |paid, fulfilled, cancelled, refunded| State {
            paid,
            fulfilled,
            cancelled,
            refunded,
            ..State::default()
        };
        let none = state(false, false, false, false);
        let paid = state(true, false, false, false);
        let shipped = state(true, true, false, false);
        let kinds = |topic, s: &State| event_kinds(topic, s);
        assert_eq!(kinds("orders/create", &none), Some(vec![OrderCreated]));
        assert_eq!(
            kinds("orders/create", &paid),
            Some(vec![OrderCreated, OrderPaid])
        );
        assert_eq!(kinds("orders/paid", &paid), Some(vec![OrderPaid]));
        assert_eq!(
            kinds("orders/fulfilled", &shipped),
            Some(vec![OrderFulfilled, OrderPaid])
        );
        // Fulfilled, to be paid on delivery.
        assert_eq!(
            kinds("orders/fulfilled", &state(false, true, false, false)),
            Some(vec![OrderFulfilled])
        );
        assert_eq!(kinds("orders/updated", &none), None);
        assert_eq!(kinds("orders/updated", &paid), Some(vec![OrderPaid]));
        assert_eq!(
            kinds("orders/updated", &shipped),
            Some(vec![OrderFulfilled, OrderPaid])
        );
        assert_eq!(
            kinds("orders/updated", &state(true, true, true, false)),
            Some(vec![OrderCancelled])
        );
        assert_eq!(
            kinds("orders/updated", &state(false, false, false, true)),
            Some(vec![OrderRefunded])
        );
        assert_eq!(kinds("orders/cancelled", &paid), Some(vec![OrderCancelled]));
    }

    #[test]
    fn gateways_map_to_payment_kinds() {
        let order = |gateways: &str, status: &str| {
            let body = format!(
                r#"{{"id":1,"payment_gateway_names":{gateways},"financial_status":"{status}"}}"#
            );
            Shopify.parse_order(body.as_bytes()).unwrap().payment
        };
        let cod = order(r#"["Cash on Delivery (COD)"]"#, "pending");
        assert_eq!((cod.kind, cod.paid), (PaymentKind::Cod, false));
        assert_eq!(
            cod.method.as_deref(),
            Some("Cash on Delivery (COD)"),
            "as the platform gives it"
        );
        let card = order(r#"["shopify_payments"]"#, "paid");
        assert_eq!((card.kind, card.paid), (PaymentKind::Online, true));
        assert_eq!(
            order(r#"["Bank Deposit"]"#, "pending").kind,
            PaymentKind::BankTransfer
        );
        assert_eq!(order(r#"["manual"]"#, "pending").kind, PaymentKind::Other);
        // Renamed by the merchant, in their customers' language.
        for renamed in [
            "Paiement à la livraison",
            "الدفع عند الاستلام",
            "Pago contra reembolso",
        ] {
            let json = format!(r#"["{renamed}"]"#);
            assert_eq!(order(&json, "pending").kind, PaymentKind::Cod, "{renamed}");
        }
        assert_eq!(order("[]", "pending").kind, PaymentKind::Other);
        // A gift card paying part, cash on delivery the rest: to be paid on delivery.
        assert_eq!(
            order(
                r#"["gift_card","Cash on Delivery (COD)"]"#,
                "partially_paid"
            )
            .kind,
            PaymentKind::Cod
        );
    }

    #[test]
    fn a_discounted_order_reconciles_and_keeps_its_name() {
        let body = include_bytes!(
            "../../../tests/fixtures/real/shopify/test_notification_orders_create_2019_discount.body"
        );
        let order = Shopify.parse_order(body).unwrap();
        // Lines before the discount, the discount once.
        assert_eq!(order.subtotal.to_string(), "398.00");
        assert_eq!(order.discount_total.to_string(), "5.00");
        assert_eq!(order.total.to_string(), "403.00");
        assert_eq!(order.reconcile(), Ok(()));
        assert_eq!(
            (order.number.as_str(), order.name.as_str()),
            ("1234", "#9999")
        );
        let paid =
            include_bytes!("../../../tests/fixtures/real/shopify/bag_server_1030_paid_aud.body");
        let order = Shopify.parse_order(paid).unwrap();
        assert_eq!(order.display_name(), "#1030");
        assert_eq!(order.reconcile(), Ok(()));
    }

    #[test]
    fn a_payload_without_totals_or_currency_is_completed_or_marked() {
        // Totals left out: the lines' prices make the total; the money sets give the currency.
        let trimmed = br#"{"id":1,"total_tax":"0.00",
            "line_items":[{"price":"49.00","quantity":2}],
            "total_shipping_price_set":{"shop_money":{"amount":"5.00","currency_code":"usd"}}}"#;
        let order = Shopify.parse_order(trimmed).unwrap();
        assert_eq!(order.currency, "USD");
        assert_eq!(order.total.to_string(), "103.00");
        assert!(!order.total_missing);
        // Nothing priced at all: not a zero total, a missing one.
        let bare = br#"{"id":1,"line_items":[{"name":"Gift"}]}"#;
        let order = Shopify.parse_order(bare).unwrap();
        assert!(order.total_missing);
        assert_eq!(order.currency, "");
    }

    #[test]
    fn amounts_past_the_decimal_range_are_refused_not_a_panic() {
        let big = "70000000000000000000000000000";
        for body in [
            format!(r#"{{"id":1,"line_items":[{{"price":"{big}","quantity":10}}]}}"#),
            format!(r#"{{"id":1,"shipping_lines":[{{"price":"{big}"}},{{"price":"{big}"}}]}}"#),
        ] {
            let err = Shopify.parse_order(body.as_bytes()).unwrap_err();
            assert_eq!(
                err,
                ParseError::Invalid("amount out of range".into()),
                "{body}"
            );
        }
    }

    #[test]
    fn the_customers_locale_is_the_orders() {
        let order = |body: &[u8]| Shopify.parse_order(body).unwrap().locale;
        assert_eq!(
            order(br#"{"id":1,"customer_locale":"fr-CA"}"#).as_deref(),
            Some("fr-CA")
        );
        assert_eq!(order(br#"{"id":1,"customer_locale":" "}"#), None);
        assert_eq!(order(br#"{"id":1,"customer_locale":null}"#), None);
        assert_eq!(order(br#"{"id":1}"#), None);
        let real =
            include_bytes!("../../../tests/fixtures/real/shopify/bag_server_1030_paid_aud.body");
        assert_eq!(order(real).as_deref(), Some("en"));
    }
}
