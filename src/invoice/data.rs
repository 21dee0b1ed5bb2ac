//! The JSON an invoice template reads (`/data.json`): the order made printable, with money
//! already formatted by decimal arithmetic; its words in the store's language come from `labels`.

use rust_decimal::Decimal;
use serde::Serialize;

pub use super::labels::{CreditNoteLabels, Labels, credit_note_labels, format_date, labels};
use super::locale::InvoiceLocale;
use crate::order::{Order, PaymentKind, RefundWords, minor_units};
use crate::stores::profile::legal::{CountryRules, SellerIds, TnSection};

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
    /// Set when the document is a credit note (a refund's): `invoice.number` is then the credit
    /// note's own number and the lines and totals are what is refunded. Absent from an
    /// invoice's data, which stays as it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_note: Option<CreditNote>,
    /// Set when the store's invoices follow Saudi Arabia's rules: the ZATCA QR code's image
    /// path and the simplified tax invoice's titles (see `super::zatca`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zatca: Option<super::zatca::ZatcaPrint>,
    /// The tax side: VAT per rate, totals before and after tax, Tunisia's stamp.
    pub tax: TaxSide,
    /// Lines for the foot of the invoice: the country's mentions, then the profile's.
    pub mentions: Vec<String>,
    /// The closing line (`invoice.footer`, else the built-in thanks).
    pub footer: String,
    /// A second language's labels, printed beside the first's (`[invoice.tn] bilingual`: a
    /// French invoice gets Arabic beside it, an Arabic one French).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels_alt: Option<Labels>,
}

/// What the invoice prints of its taxes, formatted.
#[derive(Debug, Clone, Serialize)]
pub struct TaxSide {
    pub words: super::totals::TaxWords,
    /// `totals.lines` split: subtotal, shipping and discount; then each tax.
    pub before_tax: Vec<TotalLine>,
    pub taxes: Vec<TotalLine>,
    /// The VAT table's rows, lowest rate first; empty when the order has no tax.
    pub vat: Vec<VatLine>,
    pub total_excl_tax: String,
    /// The total with taxes, before Tunisia's stamp (which is not taxed).
    pub total_incl_tax: String,
    /// Tunisia's stamp duty and what is due with it, under Tunisian rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_due: Option<String>,
    /// Which country's rules the invoice follows (`FR`, `TN`, `SA`, `MA`, `none`).
    pub rules: &'static str,
    /// The second language's words of the tax side, with `labels_alt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words_alt: Option<super::totals::TaxWords>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VatLine {
    /// `20 %` (as the language writes a percentage); empty when unknown.
    pub rate: String,
    /// Empty when it cannot be known (see `totals::vat_rows`).
    pub base: String,
    pub tax: String,
}

/// What a credit note prints beside an invoice's fields.
#[derive(Debug, Clone, Serialize)]
pub struct CreditNote {
    pub labels: CreditNoteLabels,
    /// The invoice it corrects: its number and date as the invoice printed them (`""` when
    /// its number is not known).
    pub original_number: String,
    pub original_date: String,
    /// The line under the title, ready to print: `Facture d'origine FA-2026-0042 du 20 novembre
    /// 2026`; `Facture d'origine de la commande 5120` when its number is not known; `Facture
    /// d'origine non émise par shopbip` when none was issued.
    pub reference: String,
}

/// The invoice a credit note refers to, as known when the credit note is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginalInvoice {
    /// `None`: no invoice was issued by shopbip for the order and the platform names none.
    pub number: Option<String>,
    /// When it was issued, ISO 8601 (only the date is printed).
    pub issued_at: Option<String>,
    /// Without a number: `true` when it is known that no invoice was issued for the order;
    /// `false` when its number is not known (the credit note then names the order's invoice).
    pub none_issued: bool,
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
    /// Registration numbers as the seller's country prints them (`SIRET …`, `RCS …`).
    pub ids: Vec<super::totals::IdLine>,
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
    pub rules: Option<CountryRules>,
    pub ids: SellerIds,
    pub mentions: Vec<String>,
    pub footer: Option<String>,
    pub tn: TnSection,
}

pub fn build(
    order: &Order,
    seller: &SellerInfo,
    invoice_number: &str,
    logo_path: Option<&str>,
) -> InvoiceData {
    let (lang, rtl, labels) = labels(&seller.language);
    let rules = seller.rules.unwrap_or(CountryRules::None);
    let stamp = (rules == CountryRules::Tn)
        .then(|| super::totals::tn_stamp(order, &seller.tn))
        .flatten();
    let stamp_free = without_stamp_line(order, stamp.as_ref());
    let order = stamp_free.as_ref().unwrap_or(order);
    // Money, dates, country names and the address as the invoice's language writes them.
    let loc = InvoiceLocale::new(lang, &order.currency);
    let money = |d: Decimal| loc.money(d);
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
    let address = loc.address(&billing);
    let mut tax = tax_side(order, &lines, stamp.as_ref(), rules, lang, &money);
    let alt_lang = (rules == CountryRules::Tn && seller.tn.bilingual).then_some(if lang == "ar" {
        "fr"
    } else {
        "ar"
    });
    let labels_alt = alt_lang.map(|l| super::labels::labels(l).2);
    tax.words_alt = alt_lang.map(super::totals::tax_words);
    if let Some(alt) = &labels_alt {
        let pairs = [
            (labels.subtotal, alt.subtotal),
            (labels.shipping, alt.shipping),
            (labels.discount, alt.discount),
        ];
        for line in &mut tax.before_tax {
            if let Some((_, second)) = pairs.iter().find(|(first, _)| *first == line.label) {
                line.label = format!("{} / {second}", line.label);
            }
        }
    }
    let footer = match seller.footer.as_deref().map(str::trim) {
        Some(f) if !f.is_empty() => f.to_owned(),
        _ => match &labels_alt {
            Some(alt) => format!("{} / {}", labels.thanks, alt.thanks),
            None => labels.thanks.to_owned(),
        },
    };
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
            ids: super::totals::seller_id_lines(&seller.ids, &seller.tax_id, rules, lang),
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
                // With the decimals that make quantity × price the line's amount.
                unit_price: {
                    let places = minor_units(&order.currency);
                    let shown = super::totals::unit_price_shown(l, places);
                    loc.number(shown, shown.scale().max(places))
                },
                amount: amount(&loc, l.total),
            })
            .collect(),
        totals: Totals {
            lines,
            total: money(order.total),
        },
        currency: order.currency.clone(),
        payment: payment_info(order, &labels),
        labels,
        credit_note: None,
        zatca: None,
        tax,
        mentions: super::totals::country_mentions(rules, lang)
            .into_iter()
            .chain(seller.mentions.iter().map(|m| m.trim().to_owned()))
            .filter(|m| !m.is_empty())
            .collect(),
        footer,
        labels_alt,
    }
}

/// The order as a Tunisian invoice prints it: a stamp duty the shop charged as one of its
/// lines is taken out of the lines, subtotal and total (the stamp is not a sale and bears no
/// VAT), and printed after the total with tax instead.
fn without_stamp_line(order: &Order, stamp: Option<&super::totals::Stamp>) -> Option<Order> {
    let i = stamp?.charged_line?;
    let mut order = order.clone();
    let line = order.lines.remove(i);
    order.subtotal -= line.total;
    order.total -= line.total;
    Some(order)
}

fn tax_side(
    order: &Order,
    lines: &[TotalLine],
    stamp: Option<&super::totals::Stamp>,
    rules: CountryRules,
    lang: &str,
    money: &dyn Fn(Decimal) -> String,
) -> TaxSide {
    use super::totals::{net_total, percent, tax_words, vat_rows};
    let vat = vat_rows(order)
        .into_iter()
        .map(|r| VatLine {
            rate: r.rate.map(|x| percent(x, lang)).unwrap_or_default(),
            base: r.base.map(money).unwrap_or_default(),
            tax: money(r.tax),
        })
        .collect();
    if rules == CountryRules::Tn {
        let odd = super::totals::non_tn_rates(&vat_rows(order));
        if !odd.is_empty() {
            // Printed as the shop charged them: the invoice must match what was paid.
            tracing::warn!(
                order = %order.display_name(),
                rates = %odd.join(", "),
                "a Tunisian invoice carries VAT rates Tunisia does not have (0, 7, 13, 19 %)"
            );
        }
    }
    // `lines` are the subtotal, then shipping and discount where there are, then the taxes.
    let head = (1
        + usize::from(!order.shipping_total.is_zero())
        + usize::from(!order.discount_total.is_zero()))
    .min(lines.len());
    let (before_tax, taxes) = lines.split_at(head);
    TaxSide {
        words: tax_words(lang),
        before_tax: before_tax.to_vec(),
        taxes: taxes.to_vec(),
        vat,
        total_excl_tax: money(net_total(order)),
        total_incl_tax: money(order.total),
        stamp: stamp.map(|s| money(s.amount)),
        amount_due: stamp.map(|s| money(order.total + s.amount)),
        rules: rules.as_str(),
        words_alt: None,
    }
}

/// A credit note's data: the refunded order's lines and amounts (the refund's where the order
/// carries one, `Order::refunded_part`; else the whole order, a full refund) under the credit note's own `number`, issued at `issued_at` (ISO 8601: the day its
/// number was taken, the same on every replay), referring to `original`. The amounts stay as
/// the order gives them; the template words them as refunded.
pub fn build_credit_note(
    order: &Order,
    seller: &SellerInfo,
    number: &str,
    issued_at: Option<&str>,
    original: &OriginalInvoice,
    logo_path: Option<&str>,
) -> InvoiceData {
    let (lang, _, _) = labels(&seller.language);
    let words = credit_note_labels(lang);
    // A refund the platform itemised is what the credit note states; else the whole order.
    let part = order.refunded_part(RefundWords {
        refund: words.refund,
        adjustment: words.adjustment,
    });
    let mut data = build(&part, seller, number, logo_path);
    let original_number = original.number.clone().unwrap_or_default();
    let original_date = if original.number.is_some() {
        format_date(original.issued_at.as_deref(), data.lang)
    } else {
        String::new()
    };
    let reference = match (original_number.as_str(), original_date.as_str()) {
        ("", _) if original.none_issued => {
            format!("{} {}", words.original_invoice, words.not_issued)
        }
        ("", _) => format!(
            "{} {} {}",
            words.original_invoice,
            words.for_order,
            order.display_name()
        ),
        (n, "") => format!("{} {n}", words.original_invoice),
        (n, d) => format!("{} {n} {} {d}", words.original_invoice, words.dated),
    };
    // Stamp duty is due on an invoice, not given back by a credit note.
    data.tax.stamp = None;
    data.tax.amount_due = None;
    // The credit note is dated the day it was issued, not the day the order was paid.
    if issued_at.is_some() {
        data.invoice.date = format_date(issued_at, data.lang);
    }
    data.credit_note = Some(CreditNote {
        labels: words,
        original_number,
        original_date,
        reference,
    });
    data
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

/// An amount without the currency, for table cells, with the currency's decimals as the
/// language writes numbers: `1,234.500` (en), `1 234,500` (fr).
fn amount(loc: &InvoiceLocale, d: Decimal) -> String {
    loc.amount(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_amounts_keep_the_currency_decimals_without_the_code() {
        let en = InvoiceLocale::new("en", "TND");
        assert_eq!(amount(&en, "23.3333".parse().unwrap()), "23.333");
        let fr = InvoiceLocale::new("fr", "EUR");
        assert_eq!(amount(&fr, "3".parse().unwrap()), "3,00");
    }

    fn seller(language: &str) -> SellerInfo {
        SellerInfo {
            name: "Acme".into(),
            language: language.into(),
            ..SellerInfo::default()
        }
    }

    #[test]
    fn an_invoice_has_no_credit_note_in_its_data() {
        let data = build(
            &crate::invoice::sample_order(),
            &seller("fr"),
            "INV-1",
            None,
        );
        let json = serde_json::to_value(&data).unwrap();
        assert!(json.get("credit_note").is_none(), "{json}");
    }

    #[test]
    fn a_credit_note_refers_to_the_original_invoice_in_its_language() {
        let order = crate::invoice::sample_order();
        let original = OriginalInvoice {
            number: Some("FA-2026-0042".into()),
            issued_at: Some("2026-11-20T09:00:00Z".into()),
            none_issued: false,
        };
        let issued = Some("2026-12-03T10:00:00Z");
        let data = build_credit_note(&order, &seller("fr"), "AV-000001", issued, &original, None);
        let cn = data.credit_note.as_ref().unwrap();
        assert_eq!(cn.labels.title, "Avoir");
        assert_eq!(cn.original_number, "FA-2026-0042");
        assert_eq!(cn.original_date, "20 novembre 2026");
        assert_eq!(
            cn.reference,
            "Facture d'origine FA-2026-0042 du 20 novembre 2026"
        );
        // Its own number and date; the whole order's lines and total (a full refund).
        assert_eq!(data.invoice.number, "AV-000001");
        assert_eq!(data.invoice.date, "3 décembre 2026");
        assert_eq!(data.items.len(), order.lines.len());
        assert_eq!(
            data.totals.total,
            InvoiceLocale::new("fr", "EUR").money(order.total)
        );

        let none = OriginalInvoice {
            none_issued: true,
            ..OriginalInvoice::default()
        };
        let en = build_credit_note(&order, &seller("en"), "AV-2", issued, &none, None);
        assert_eq!(
            en.credit_note.unwrap().reference,
            "Original invoice not issued by shopbip"
        );
        let unknown = OriginalInvoice::default();
        let fr = build_credit_note(&order, &seller("fr"), "AV-4", issued, &unknown, None);
        assert_eq!(
            fr.credit_note.unwrap().reference,
            format!("Facture d'origine de la commande {}", order.display_name())
        );
        let ar = build_credit_note(&order, &seller("ar"), "AV-3", issued, &original, None);
        let ar = ar.credit_note.unwrap();
        assert_eq!(ar.labels.title, "إشعار دائن");
        assert_eq!(
            ar.reference,
            "الفاتورة الأصلية FA-2026-0042 بتاريخ 20 نوفمبر 2026"
        );
    }
}
