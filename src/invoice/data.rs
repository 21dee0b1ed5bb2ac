//! The JSON an invoice template reads (`/data.json`): the order made printable, with money
//! already formatted by decimal arithmetic; its words in the store's language come from `labels`.

use rust_decimal::Decimal;
use serde::Serialize;

pub use super::labels::{Labels, format_date, labels};
use crate::order::{Order, PaymentKind, format_money};

#[derive(Debug, Clone, Serialize)]
pub struct InvoiceData {
    pub lang: &'static str,
    pub rtl: bool,
    pub labels: Labels,
    pub seller: Seller,
    pub invoice: Identity,
    pub bill_to: BillTo,
    pub items: Vec<Item>,
    pub totals: Totals,
    pub currency: String,
    pub payment: PaymentInfo,
}

/// How the order is paid, as printed: empty strings when the platform said nothing.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentInfo {
    /// The method as the customer saw it (`Direct Bank Transfer`, `Cash on delivery`).
    pub method: String,
    /// Paid, due, or due on delivery, in the invoice's language.
    pub status: String,
    pub paid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Seller {
    pub name: String,
    pub address_lines: Vec<String>,
    pub tax_id: String,
    /// The logo's path inside the template's world (`/logo.png`), when the store has one.
    pub logo: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub number: String,
    pub date: String,
    pub order_number: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BillTo {
    pub name: String,
    pub lines: Vec<String>,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub name: String,
    pub sku: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// Subtotal, shipping, discount and each tax, in that order, formatted with the currency.
    pub lines: Vec<TotalLine>,
    pub total: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TotalLine {
    pub label: String,
    pub amount: String,
}

/// What the seller side of the invoice says, from the store profile.
#[derive(Debug, Clone, Default)]
pub struct SellerInfo {
    pub name: String,
    pub address: String,
    pub tax_id: String,
    pub language: String,
}

pub fn build(
    order: &Order,
    seller: &SellerInfo,
    invoice_number: &str,
    logo_path: Option<&str>,
) -> InvoiceData {
    let (lang, rtl, labels) = labels(&seller.language);
    let cur = order.currency.as_str();
    let money = |d: Decimal| format_money(d, cur);
    let mut lines = vec![TotalLine {
        label: labels.subtotal.to_owned(),
        amount: money(order.subtotal),
    }];
    if !order.shipping_total.is_zero() {
        lines.push(TotalLine {
            label: labels.shipping.to_owned(),
            amount: money(order.shipping_total),
        });
    }
    if !order.discount_total.is_zero() {
        lines.push(TotalLine {
            label: labels.discount.to_owned(),
            amount: money(-order.discount_total.abs()),
        });
    }
    for tax in &order.taxes {
        let label = match tax.rate {
            Some(rate) if !tax.label.contains('%') => {
                format!("{} {} %", tax.label, rate.normalize())
            }
            _ => tax.label.clone(),
        };
        lines.push(TotalLine {
            label,
            amount: money(tax.amount),
        });
    }
    if order.taxes.is_empty() && !order.tax_total.is_zero() {
        lines.push(TotalLine {
            label: labels.tax.to_owned(),
            amount: money(order.tax_total),
        });
    }
    let billing = order.billing.clone().unwrap_or_default();
    let name = if billing.name.is_empty() {
        order.customer.full_name()
    } else {
        billing.name.clone()
    };
    let mut address = Vec::new();
    if let Some(c) = billing.company.as_ref().filter(|c| !c.is_empty()) {
        address.push(c.clone());
    }
    address.extend(
        [Some(billing.line1.clone()), billing.line2.clone()]
            .into_iter()
            .flatten()
            .filter(|l| !l.is_empty()),
    );
    let city = [
        billing.postcode.clone().unwrap_or_default(),
        billing.city.clone(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .cloned()
    .collect::<Vec<_>>()
    .join(" ");
    if !city.is_empty() {
        address.push(city);
    }
    if let Some(country) = &billing.country {
        address.push(country.clone());
    }
    InvoiceData {
        lang,
        rtl,
        seller: Seller {
            name: seller.name.clone(),
            address_lines: seller
                .address
                .split([',', '\n'])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            tax_id: seller.tax_id.clone(),
            logo: logo_path.map(str::to_owned),
        },
        invoice: Identity {
            number: invoice_number.to_owned(),
            date: format_date(
                order.paid_at.as_deref().or(order.created_at.as_deref()),
                lang,
            ),
            order_number: order.display_name().to_owned(),
        },
        bill_to: BillTo {
            name,
            lines: address,
            phone: billing
                .phone
                .clone()
                .or_else(|| order.customer.phone.clone())
                .unwrap_or_default(),
            email: order.customer.email.clone().unwrap_or_default(),
        },
        items: order
            .lines
            .iter()
            .map(|l| Item {
                name: l.name.clone(),
                sku: l.sku.clone().unwrap_or_default(),
                quantity: l.quantity.normalize().to_string(),
                unit_price: amount(l.unit_price, cur),
                amount: amount(l.total, cur),
            })
            .collect(),
        totals: Totals {
            lines,
            total: money(order.total),
        },
        currency: order.currency.clone(),
        payment: payment_info(order, &labels),
        labels,
    }
}

fn payment_info(order: &Order, labels: &Labels) -> PaymentInfo {
    let p = &order.payment;
    let method = p
        .title
        .clone()
        .or_else(|| p.method.clone())
        .unwrap_or_default();
    let status = if p.paid {
        labels.paid
    } else if p.kind == PaymentKind::Cod {
        labels.due_on_delivery
    } else if method.is_empty() {
        // Nothing known of the payment: say nothing rather than "due".
        ""
    } else {
        labels.due
    };
    PaymentInfo {
        method,
        status: status.to_owned(),
        paid: p.paid,
    }
}

/// An amount without the currency code, for table cells: `1,234.500`.
fn amount(d: Decimal, currency: &str) -> String {
    let text = format_money(d, currency);
    text.split_once(' ')
        .map(|(_, n)| n.to_owned())
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_amounts_keep_the_currency_decimals_without_the_code() {
        assert_eq!(amount("23.3333".parse().unwrap(), "TND"), "23.333");
        assert_eq!(amount("3".parse().unwrap(), "EUR"), "3.00");
    }
}
