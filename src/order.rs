//! The canonical order and event every platform is parsed into, and the money formatting the
//! messages and invoices use.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What happened to an order or invoice, whatever the platform called it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "order.created")]
    OrderCreated,
    #[serde(rename = "order.paid")]
    OrderPaid,
    #[serde(rename = "order.fulfilled")]
    OrderFulfilled,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[serde(rename = "order.refunded")]
    OrderRefunded,
    #[serde(rename = "invoice.created")]
    InvoiceCreated,
    #[serde(rename = "invoice.paid")]
    InvoicePaid,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::OrderCreated,
        EventKind::OrderPaid,
        EventKind::OrderFulfilled,
        EventKind::OrderCancelled,
        EventKind::OrderRefunded,
        EventKind::InvoiceCreated,
        EventKind::InvoicePaid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderCreated => "order.created",
            EventKind::OrderPaid => "order.paid",
            EventKind::OrderFulfilled => "order.fulfilled",
            EventKind::OrderCancelled => "order.cancelled",
            EventKind::OrderRefunded => "order.refunded",
            EventKind::InvoiceCreated => "invoice.created",
            EventKind::InvoicePaid => "invoice.paid",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown event {s:?}"))
    }
}

/// An order (or invoice) as every later step sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Order {
    /// The platform's id for the order (or invoice): the dedupe key for "one message per order".
    pub id: String,
    /// The number the customer sees (`1001`); the id when the platform has no separate number.
    pub number: String,
    /// The platform's secret order key (WooCommerce `order_key`, Shopify `token`).
    pub key: Option<String>,
    pub status: Option<String>,
    /// ISO 4217, upper case.
    pub currency: String,
    pub subtotal: Decimal,
    pub shipping_total: Decimal,
    pub discount_total: Decimal,
    pub tax_total: Decimal,
    pub total: Decimal,
    pub taxes: Vec<TaxLine>,
    pub lines: Vec<LineItem>,
    pub customer: Customer,
    pub billing: Option<Address>,
    pub shipping: Option<Address>,
    /// RFC 3339 where the platform gave a time.
    pub created_at: Option<String>,
    pub paid_at: Option<String>,
    pub invoice_number: Option<String>,
    pub invoice_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LineItem {
    pub name: String,
    pub sku: Option<String>,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaxLine {
    pub label: String,
    /// Percent, when the platform says.
    pub rate: Option<Decimal>,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Customer {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Customer {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name.trim(), self.last_name.trim())
            .trim()
            .to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Address {
    pub name: String,
    pub company: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub postcode: Option<String>,
    /// ISO 3166-1 alpha-2, upper case, when the platform gave one.
    pub country: Option<String>,
    pub phone: Option<String>,
}

/// Decimal places of a currency's minor unit (ISO 4217); 2 for any code not listed.
pub fn minor_units(currency: &str) -> u32 {
    match currency.to_ascii_uppercase().as_str() {
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        _ => 2,
    }
}

/// `TND 1,234.500`, `EUR 3.00`, `JPY 1,200`: the currency's own number of decimals, always.
pub fn format_money(amount: Decimal, currency: &str) -> String {
    let places = minor_units(currency);
    let rounded =
        amount.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let text = format!("{:.*}", places as usize, rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if negative { "-" } else { "" };
    let code = currency.to_ascii_uppercase();
    if frac.is_empty() {
        format!("{code} {sign}{grouped}")
    } else {
        format!("{code} {sign}{grouped}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn money_uses_the_currency_minor_units() {
        assert_eq!(format_money(d("1234.5"), "TND"), "TND 1,234.500");
        assert_eq!(format_money(d("3"), "EUR"), "EUR 3.00");
        assert_eq!(format_money(d("1200"), "jpy"), "JPY 1,200");
        assert_eq!(format_money(d("1234567.891"), "USD"), "USD 1,234,567.89");
        assert_eq!(format_money(d("-0.005"), "EUR"), "EUR -0.01");
        assert_eq!(format_money(d("999.999"), "EUR"), "EUR 1,000.00");
    }

    #[test]
    fn event_kinds_round_trip_through_their_names() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert!("order.shipped".parse::<EventKind>().is_err());
    }
}
