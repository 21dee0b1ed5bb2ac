//! The words of an invoice in its language (`invoice.language`): its labels, and its dates
//! through CLDR (`super::locale`). Adding a language is one arm in each function here and its
//! locale in `super::locale::locale_of`.

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
        "de" => (
            "de",
            false,
            Labels {
                invoice: "Rechnung",
                number: "Nummer",
                date: "Datum",
                order: "Bestellung",
                bill_to: "Rechnungsadresse",
                phone: "Tel.",
                description: "Bezeichnung",
                quantity: "Menge",
                unit_price: "Einzelpreis",
                amount: "Betrag",
                subtotal: "Zwischensumme",
                shipping: "Versand",
                discount: "Rabatt",
                tax: "Steuer",
                total: "Gesamtbetrag",
                tax_id: "USt-IdNr.",
                page: "Seite",
                thanks: "Vielen Dank für Ihre Bestellung!",
                payment: "Zahlung",
                paid: "Bezahlt",
                due: "Offen",
                due_on_delivery: "Zahlung bei Lieferung",
            },
        ),
        "es" => (
            "es",
            false,
            Labels {
                invoice: "Factura",
                number: "Número",
                date: "Fecha",
                order: "Pedido",
                bill_to: "Facturar a",
                phone: "Tel.",
                description: "Descripción",
                quantity: "Cant.",
                unit_price: "Precio unitario",
                amount: "Importe",
                subtotal: "Subtotal",
                shipping: "Envío",
                discount: "Descuento",
                tax: "Impuestos",
                total: "Total",
                tax_id: "NIF",
                page: "Página",
                thanks: "¡Gracias por su pedido!",
                payment: "Pago",
                paid: "Pagada",
                due: "Pendiente de pago",
                due_on_delivery: "Pago contra reembolso",
            },
        ),
        "it" => (
            "it",
            false,
            Labels {
                invoice: "Fattura",
                number: "Numero",
                date: "Data",
                order: "Ordine",
                bill_to: "Intestatario",
                phone: "Tel.",
                description: "Descrizione",
                quantity: "Q.tà",
                unit_price: "Prezzo unitario",
                amount: "Importo",
                subtotal: "Subtotale",
                shipping: "Spedizione",
                discount: "Sconto",
                tax: "Imposte",
                total: "Totale",
                tax_id: "Partita IVA",
                page: "Pagina",
                thanks: "Grazie per il Suo ordine!",
                payment: "Pagamento",
                paid: "Pagata",
                due: "Da pagare",
                due_on_delivery: "Pagamento alla consegna",
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
    /// The line of a refund of money without lines (a goodwill refund).
    pub refund: &'static str,
    /// The line making up the difference between the lines refunded and the money given back.
    pub adjustment: &'static str,
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
            refund: "Remboursement",
            adjustment: "Ajustement du remboursement",
        },
        "ar" => CreditNoteLabels {
            title: "إشعار دائن",
            original_invoice: "الفاتورة الأصلية",
            dated: "بتاريخ",
            not_issued: "لم تصدرها shopbip",
            for_order: "للطلب",
            total_refunded: "المبلغ المسترد",
            refunded_lines: "المنتجات المستردة",
            refund: "استرداد",
            adjustment: "تسوية المبلغ المسترد",
        },
        "de" => CreditNoteLabels {
            title: "Gutschrift",
            original_invoice: "Ursprüngliche Rechnung",
            dated: "vom",
            not_issued: "nicht von shopbip ausgestellt",
            for_order: "zur Bestellung",
            total_refunded: "Erstatteter Betrag",
            refunded_lines: "Erstattete Artikel",
            refund: "Erstattung",
            adjustment: "Ausgleich der Erstattung",
        },
        "es" => CreditNoteLabels {
            title: "Factura rectificativa",
            original_invoice: "Factura rectificada",
            dated: "del",
            not_issued: "no emitida por shopbip",
            for_order: "del pedido",
            total_refunded: "Total reembolsado",
            refunded_lines: "Artículos reembolsados",
            refund: "Reembolso",
            adjustment: "Ajuste del reembolso",
        },
        "it" => CreditNoteLabels {
            title: "Nota di credito",
            original_invoice: "Fattura di riferimento",
            dated: "del",
            not_issued: "non emessa da shopbip",
            for_order: "dell'ordine",
            total_refunded: "Totale rimborsato",
            refunded_lines: "Articoli rimborsati",
            refund: "Rimborso",
            adjustment: "Rettifica del rimborso",
        },
        _ => CreditNoteLabels {
            title: "Credit note",
            original_invoice: "Original invoice",
            dated: "of",
            not_issued: "not issued by shopbip",
            for_order: "for order",
            total_refunded: "Total refunded",
            refunded_lines: "Refunded items",
            refund: "Refund",
            adjustment: "Refund adjustment",
        },
    }
}

/// `2026-11-20T09:04:40Z` → the language's long date from CLDR: `20 November 2026` (en),
/// `20 novembre 2026` (fr), `20. November 2026` (de), `20 نوفمبر 2026` (ar).
pub fn format_date(iso: Option<&str>, lang: &str) -> String {
    super::locale::long_date(iso, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_language() {
        let at = Some("2026-11-20T09:04:40Z");
        assert_eq!(format_date(at, "en"), "20 November 2026");
        assert_eq!(format_date(at, "fr"), "20 novembre 2026");
        assert_eq!(format_date(at, "de"), "20. November 2026");
        assert_eq!(format_date(at, "ar"), "20 نوفمبر 2026");
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
        assert_eq!(credit_note_labels("de").title, "Gutschrift");
        assert_eq!(credit_note_labels("es").title, "Factura rectificativa");
        assert_eq!(credit_note_labels("it").title, "Nota di credito");
    }

    #[test]
    fn german_spanish_and_italian_invoices_are_labelled_in_their_language() {
        for (lang, title, total) in [
            ("de", "Rechnung", "Gesamtbetrag"),
            ("es", "Factura", "Total"),
            ("it", "Fattura", "Totale"),
        ] {
            let (code, rtl, l) = labels(lang);
            assert_eq!((code, rtl, l.invoice, l.total), (lang, false, title, total));
        }
    }
}
