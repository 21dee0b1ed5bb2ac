//! The language a customer gets their invoice and message in. With `invoice.language = "auto"`:
//! the order's own locale when it is one of the store's `invoice.languages`, else the first of
//! the billing country's languages among them, else the store's default (the first of
//! `invoice.languages`). A fixed `invoice.language` is used as it is.

use crate::order::Order;
use crate::stores::Store;
use crate::stores::profile::InvoiceSection;

pub use crate::stores::profile::languages::{
    AUTO, SUPPORTED, default_language, is_supported, store_languages,
};

/// The language `store`'s invoice and message for `order` are in.
pub fn invoice_language(store: &Store, order: &Order) -> String {
    choose(
        &store.invoice,
        order.locale.as_deref(),
        order_country(order).as_deref(),
    )
}

/// The billing country, else the shipping country: the country the customer is billed in
/// says more about the language they read than where a parcel goes.
fn order_country(order: &Order) -> Option<String> {
    [order.billing.as_ref(), order.shipping.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|a| a.country.clone())
        .filter(|c| !c.trim().is_empty())
}

/// The choice itself, from the store's invoice section, the order's locale and its country.
pub fn choose(invoice: &InvoiceSection, locale: Option<&str>, country: Option<&str>) -> String {
    if invoice.language != AUTO {
        return invoice.language.clone();
    }
    let languages = &invoice.languages;
    let among = |code: &str| languages.iter().any(|l| l == code);
    if let Some(lang) = locale.and_then(language_subtag)
        && among(&lang)
    {
        return lang;
    }
    if let Some(country) = country {
        let country = country.trim().to_ascii_uppercase();
        if let Some(lang) = country_languages(&country).iter().find(|l| among(l)) {
            return (*lang).to_owned();
        }
    }
    default_language(invoice)
}

/// The language subtag of a locale as platforms write it (`pt-BR`, `fr_FR`, `AR`, ` en `):
/// lower case, `None` for anything that is not 2–3 ASCII letters.
pub fn language_subtag(locale: &str) -> Option<String> {
    let first = locale.trim().split(['-', '_']).next()?;
    ((2..=3).contains(&first.len()) && first.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| first.to_ascii_lowercase())
}

/// The languages commonly read in a country (ISO 3166-1 alpha-2, upper case), the most
/// common first, limited to what invoices may be written in plus the languages that decide
/// between them (Belgium's Dutch, Switzerland's German): a country not listed gives none,
/// and the store's default is used.
pub fn country_languages(country: &str) -> &'static [&'static str] {
    match country {
        "FR" | "MC" | "LU" | "SN" | "CI" | "ML" | "BF" | "NE" | "TG" | "BJ" | "GA" | "CG"
        | "CD" | "CM" | "MG" | "RE" | "GP" | "MQ" | "GF" | "YT" | "NC" | "PF" | "PM" => &["fr"],
        "BE" => &["fr", "nl", "de"],
        "CH" => &["de", "fr", "it"],
        "TN" | "MA" | "DZ" | "MR" | "LB" => &["ar", "fr"],
        "SA" | "EG" | "LY" | "IQ" | "JO" | "KW" | "QA" | "BH" | "OM" | "YE" | "SY" | "PS"
        | "SD" => &["ar"],
        "AE" => &["ar", "en"],
        "DE" | "AT" | "LI" => &["de"],
        "ES" | "MX" | "AR" | "CO" | "CL" | "PE" | "VE" | "EC" | "GT" | "CU" | "BO" | "DO"
        | "HN" | "PY" | "SV" | "NI" | "CR" | "PA" | "UY" => &["es"],
        "IT" | "SM" | "VA" => &["it"],
        "GB" | "US" | "IE" | "AU" | "NZ" | "ZA" | "NG" | "GH" | "KE" | "IN" | "SG" => &["en"],
        "CA" => &["en", "fr"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto(languages: &[&str]) -> InvoiceSection {
        InvoiceSection {
            language: AUTO.into(),
            languages: languages.iter().map(|l| (*l).to_owned()).collect(),
            ..InvoiceSection::default()
        }
    }

    #[test]
    fn the_orders_own_locale_wins_when_the_store_has_it() {
        let store = auto(&["fr", "ar", "en"]);
        assert_eq!(choose(&store, Some("ar"), Some("FR")), "ar");
        assert_eq!(choose(&store, Some("en-GB"), Some("TN")), "en");
        assert_eq!(choose(&store, Some("fr_FR"), Some("US")), "fr");
        assert_eq!(choose(&store, Some(" AR "), None), "ar");
    }

    #[test]
    fn a_locale_the_store_does_not_have_falls_to_the_country() {
        let store = auto(&["fr", "ar", "en"]);
        // Brazilian Portuguese reduces to `pt`, which the store does not write in.
        assert_eq!(choose(&store, Some("pt-BR"), Some("TN")), "ar");
        assert_eq!(choose(&store, Some("pt-BR"), Some("BE")), "fr");
        assert_eq!(choose(&store, Some("???"), Some("gb")), "en");
        assert_eq!(choose(&store, Some(""), Some("CA")), "en");
    }

    #[test]
    fn the_country_gives_its_first_language_the_store_has() {
        assert_eq!(choose(&auto(&["en", "fr", "ar"]), None, Some("TN")), "ar");
        assert_eq!(choose(&auto(&["en", "fr"]), None, Some("TN")), "fr");
        assert_eq!(choose(&auto(&["en", "fr", "it"]), None, Some("CH")), "fr");
        assert_eq!(choose(&auto(&["en", "de", "fr"]), None, Some("CH")), "de");
        assert_eq!(choose(&auto(&["fr", "en"]), None, Some("AE")), "en");
    }

    #[test]
    fn otherwise_the_stores_default_the_first_of_its_languages() {
        let store = auto(&["fr", "ar", "en"]);
        assert_eq!(choose(&store, None, None), "fr");
        assert_eq!(choose(&store, Some("pt-BR"), Some("BR")), "fr");
        assert_eq!(choose(&store, None, Some("JP")), "fr");
        assert_eq!(choose(&auto(&["ar", "fr"]), None, Some("US")), "ar");
        assert_eq!(default_language(&store), "fr");
    }

    #[test]
    fn a_fixed_language_is_used_whatever_the_order_says() {
        let fixed = InvoiceSection {
            language: "fr".into(),
            languages: vec!["ar".into()],
            ..InvoiceSection::default()
        };
        assert_eq!(choose(&fixed, Some("ar"), Some("SA")), "fr");
        assert_eq!(store_languages(&fixed), ["fr"]);
        assert_eq!(
            store_languages(&auto(&["fr", "ar"])),
            ["fr".to_owned(), "ar".to_owned()]
        );
    }

    #[test]
    fn locales_reduce_to_their_language_subtag() {
        assert_eq!(language_subtag("pt-BR").as_deref(), Some("pt"));
        assert_eq!(language_subtag("fr_FR").as_deref(), Some("fr"));
        assert_eq!(language_subtag("EN").as_deref(), Some("en"));
        assert_eq!(language_subtag("zh-Hant-TW").as_deref(), Some("zh"));
        assert_eq!(language_subtag("fil").as_deref(), Some("fil"));
        for junk in ["", " ", "-", "f", "français", "12", "e1-US"] {
            assert_eq!(language_subtag(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn every_listed_country_language_is_lower_case_and_two_letters() {
        for c in [
            "FR", "BE", "CH", "TN", "MA", "DZ", "SA", "AE", "EG", "DE", "AT", "ES",
        ] {
            assert!(!country_languages(c).is_empty(), "{c}");
        }
        for c in ["IT", "GB", "US", "IE", "CA"] {
            for l in country_languages(c) {
                assert_eq!(l.len(), 2);
                assert_eq!(*l, l.to_ascii_lowercase());
            }
        }
        assert!(country_languages("fr").is_empty(), "upper case only");
    }
}
