//! Invoices rendered through the store's render path in French, Arabic and English, read back
//! from the PDF: money, dates, country names and the billing address as each language and the
//! address's country write them (CLDR through ICU4X, `src/invoice/locale.rs`).

use shopbip::invoice::render_for_store;
use shopbip::order::{Address, Order};

/// The paid EUR order billed to an American address with its state, for a total with thousands
/// and a discount (a negative amount).
fn order() -> Order {
    let mut order = super::woo_order("woocommerce/order-updated-paid-eur.json");
    order.total = "1234.5".parse().unwrap();
    order.discount_total = "5".parse().unwrap();
    order.billing = Some(Address {
        name: "Homer Simpson".into(),
        line1: "742 Evergreen Terrace".into(),
        city: "Springfield".into(),
        state: Some("IL".into()),
        postcode: Some("62704".into()),
        country: Some("US".into()),
        ..Address::default()
    });
    order
}

/// The PDF's text with every kind of space (CLDR's no-break and narrow no-break spaces come
/// back as they were written) made one plain space.
fn rendered(lang: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = super::store_in(dir.path(), lang, "");
    let pdf = render_for_store(&store, &order(), "INV-000042").unwrap();
    super::text(&pdf)
        .split(char::is_whitespace)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_has(lang: &str, text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            text.contains(needle),
            "{lang}: {needle:?} missing from:\n{text}"
        );
    }
}

#[test]
fn a_french_invoice_writes_euros_dates_and_the_address_as_france_does() {
    let t = rendered("fr");
    assert_has(
        "fr",
        &t,
        &[
            // Thousands grouped by a (narrow no-break) space, decimal comma, the sign after.
            "1 234,50 €",
            "-5,00 €",
            "20 novembre 2026",
            // The state is kept, placed as the address's country writes it; the country is
            // named in French.
            "Springfield, IL 62704",
            "États-Unis",
        ],
    );
    assert!(!t.contains("EUR 1,234.50"), "{t}");
}

#[test]
fn an_english_invoice_puts_the_sign_before_the_amount() {
    let t = rendered("en");
    assert_has(
        "en",
        &t,
        &[
            "€1,234.50",
            "-€5.00",
            "20 November 2026",
            "Springfield, IL 62704",
            "United States",
        ],
    );
}

#[test]
fn an_arabic_invoice_keeps_latin_digits_and_names_months_and_countries_in_arabic() {
    let t = rendered("ar");
    assert_has(
        "ar",
        &t,
        &[
            "1,234.50 €",
            // The month in Arabic beside Latin digits (the extractor gives right-to-left words
            // one by one, so the date is checked word by word).
            "نوفمبر",
            "2026",
            "Springfield, IL 62704",
            // "United States": the second word (the first's lam-alef ligature does not
            // extract as its letters).
            "المتحدة",
        ],
    );
    // The discount's minus is kept apart from the amount by Arabic's direction marks.
    let squashed: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(squashed.contains("-5.00€"), "{t}");
    assert!(
        !t.chars().any(|c| ('\u{660}'..='\u{669}').contains(&c)),
        "Arabic-Indic digits in:\n{t}"
    );
}

#[test]
fn german_spanish_and_italian_invoices_are_titled_dated_and_priced_in_their_language() {
    for (lang, needles) in [
        (
            "de",
            [
                "RECHNUNG",
                "20. November 2026",
                "1.234,50 €",
                "Vereinigte Staaten",
            ],
        ),
        (
            "es",
            [
                "FACTURA",
                "20 de noviembre de 2026",
                "1234,50 €",
                "Estados Unidos",
            ],
        ),
        (
            "it",
            ["FATTURA", "20 novembre 2026", "1234,50 €", "Stati Uniti"],
        ),
    ] {
        let t = rendered(lang);
        assert_has(lang, &t, &needles);
        assert_has(lang, &t, &["Springfield, IL 62704"]);
    }
}
