//! Which languages a store's profile names (`invoice.language`, `invoice.languages`): read by
//! the profile's checks here and by the invoice's choice of language
//! (`crate::invoice::language`), which re-exports them.

use super::InvoiceSection;

/// `invoice.language`'s value that chooses per order.
pub const AUTO: &str = "auto";

/// The languages invoices are labelled in.
pub const SUPPORTED: [&str; 6] = ["en", "fr", "ar", "de", "es", "it"];

pub fn is_supported(code: &str) -> bool {
    SUPPORTED.contains(&code)
}

/// The store's default language: a fixed `invoice.language`, or with `auto` the first of
/// `invoice.languages` (English if that list is empty, which `check` refuses).
pub fn default_language(invoice: &InvoiceSection) -> String {
    if invoice.language != AUTO {
        return invoice.language.clone();
    }
    invoice
        .languages
        .first()
        .cloned()
        .unwrap_or_else(|| "en".to_owned())
}

/// The languages a store sends in: a fixed `invoice.language` alone, or with `auto` its
/// `invoice.languages`. Each per-language template list must cover them all.
pub fn store_languages(invoice: &InvoiceSection) -> Vec<String> {
    if invoice.language == AUTO {
        invoice.languages.clone()
    } else {
        vec![invoice.language.clone()]
    }
}
