//! The words of an invoice in the store's language (`invoice.language`): its labels and its
//! dates. Adding a language is one arm in each function here.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Labels {
    pub invoice: &'static str,
    pub number: &'static str,
    pub date: &'static str,
    pub order: &'static str,
    pub bill_to: &'static str,
    pub phone: &'static str,
    pub description: &'static str,
    pub quantity: &'static str,
    pub unit_price: &'static str,
    pub amount: &'static str,
    pub subtotal: &'static str,
    pub shipping: &'static str,
    pub discount: &'static str,
    pub tax: &'static str,
    pub total: &'static str,
    pub tax_id: &'static str,
    pub page: &'static str,
    pub thanks: &'static str,
    pub payment: &'static str,
    pub paid: &'static str,
    pub due: &'static str,
    pub due_on_delivery: &'static str,
}

/// The languages invoices are labelled in; anything else falls back to English.
pub fn labels(lang: &str) -> (&'static str, bool, Labels) {
    match lang {
        "fr" => (
            "fr",
            false,
            Labels {
                invoice: "Facture",
                number: "Numéro",
                date: "Date",
                order: "Commande",
                bill_to: "Facturé à",
                phone: "Tél.",
                description: "Désignation",
                quantity: "Qté",
                unit_price: "Prix unitaire",
                amount: "Montant",
                subtotal: "Sous-total",
                shipping: "Livraison",
                discount: "Remise",
                tax: "Taxe",
                total: "Total TTC",
                tax_id: "Matricule fiscal",
                page: "Page",
                thanks: "Merci pour votre commande !",
                payment: "Paiement",
                paid: "Payée",
                due: "À payer",
                due_on_delivery: "À payer à la livraison",
            },
        ),
        "ar" => (
            "ar",
            true,
            Labels {
                invoice: "فاتورة",
                number: "رقم الفاتورة",
                date: "التاريخ",
                order: "الطلب",
                bill_to: "فاتورة إلى",
                phone: "الهاتف",
                description: "الوصف",
                quantity: "الكمية",
                unit_price: "سعر الوحدة",
                amount: "المبلغ",
                subtotal: "المجموع الفرعي",
                shipping: "الشحن",
                discount: "الخصم",
                tax: "الضريبة",
                total: "المجموع الكلي",
                tax_id: "المعرف الضريبي",
                page: "صفحة",
                thanks: "شكرا لطلبكم!",
                payment: "الدفع",
                paid: "مدفوعة",
                due: "مستحقة الدفع",
                due_on_delivery: "الدفع عند الاستلام",
            },
        ),
        _ => (
            "en",
            false,
            Labels {
                invoice: "Invoice",
                number: "Number",
                date: "Date",
                order: "Order",
                bill_to: "Bill to",
                phone: "Phone",
                description: "Description",
                quantity: "Qty",
                unit_price: "Unit price",
                amount: "Amount",
                subtotal: "Subtotal",
                shipping: "Shipping",
                discount: "Discount",
                tax: "Tax",
                total: "Total",
                tax_id: "Tax ID",
                page: "Page",
                thanks: "Thank you for your order!",
                payment: "Payment",
                paid: "Paid",
                due: "Due",
                due_on_delivery: "Due on delivery",
            },
        ),
    }
}

/// The words a credit note adds to (or puts in place of) an invoice's, in the same languages.
#[derive(Debug, Clone, Serialize)]
pub struct CreditNoteLabels {
    /// The document's title, in place of "Invoice".
    pub title: &'static str,
    /// Before the original invoice's number and date.
    pub original_invoice: &'static str,
    /// Between the original invoice's number and its date.
    pub dated: &'static str,
    /// In place of the original invoice's number when shopbip issued none and the platform
    /// gave none.
    pub not_issued: &'static str,
    /// Between "Original invoice" and the order's number, when the invoice is known only as
    /// the order's.
    pub for_order: &'static str,
    /// The last total: what is given back.
    pub total_refunded: &'static str,
    /// Above the lines: what they are.
    pub refunded_lines: &'static str,
}

/// The credit note's words for `lang` (see [`labels`] for the languages; others: English).
pub fn credit_note_labels(lang: &str) -> CreditNoteLabels {
    match lang {
        "fr" => CreditNoteLabels {
            title: "Avoir",
            original_invoice: "Facture d'origine",
            dated: "du",
            not_issued: "non émise par shopbip",
            for_order: "de la commande",
            total_refunded: "Total remboursé",
            refunded_lines: "Articles remboursés",
        },
        "ar" => CreditNoteLabels {
            title: "إشعار دائن",
            original_invoice: "الفاتورة الأصلية",
            dated: "بتاريخ",
            not_issued: "لم تصدرها shopbip",
            for_order: "للطلب",
            total_refunded: "المبلغ المسترد",
            refunded_lines: "المنتجات المستردة",
        },
        _ => CreditNoteLabels {
            title: "Credit note",
            original_invoice: "Original invoice",
            dated: "of",
            not_issued: "not issued by shopbip",
            for_order: "for order",
            total_refunded: "Total refunded",
            refunded_lines: "Refunded items",
        },
    }
}

/// `2026-11-20T09:04:40Z` → `20 November 2026` (en), `20 novembre 2026` (fr), `20/11/2026` (ar).
pub fn format_date(iso: Option<&str>, lang: &str) -> String {
    let Some(iso) = iso else {
        return String::new();
    };
    let date = iso.get(..10).unwrap_or(iso);
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return date.to_owned();
    };
    let (Ok(month), Ok(day)) = (m.parse::<usize>(), d.parse::<u32>()) else {
        return date.to_owned();
    };
    if !(1..=12).contains(&month) {
        return date.to_owned();
    }
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    match lang {
        "fr" => format!("{day} {} {y}", FR[month - 1]),
        "ar" => format!("{day:02}/{month:02}/{y}"),
        _ => format!("{day} {} {y}", EN[month - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_language() {
        let at = Some("2026-11-20T09:04:40Z");
        assert_eq!(format_date(at, "en"), "20 November 2026");
        assert_eq!(format_date(at, "fr"), "20 novembre 2026");
        assert_eq!(format_date(at, "ar"), "20/11/2026");
        assert_eq!(format_date(None, "en"), "");
    }

    #[test]
    fn credit_notes_are_titled_in_each_language() {
        assert_eq!(credit_note_labels("en").title, "Credit note");
        assert_eq!(credit_note_labels("fr").title, "Avoir");
        assert_eq!(credit_note_labels("ar").title, "إشعار دائن");
        // Any other language falls back to English, as the invoice's labels do.
        assert_eq!(credit_note_labels("xx").title, "Credit note");
        assert_eq!(credit_note_labels("en").not_issued, "not issued by shopbip");
        assert_eq!(credit_note_labels("fr").total_refunded, "Total remboursé");
        assert_eq!(credit_note_labels("ar").original_invoice, "الفاتورة الأصلية");
    }
}
