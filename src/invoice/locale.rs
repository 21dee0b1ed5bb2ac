//! Money, numbers, dates, country names and postal addresses as the invoice's language writes
//! them. Everything but the address layouts comes from CLDR, compiled into the binary by ICU4X
//! (`icu_decimal`, `icu_datetime`, and `icu_experimental` for currencies and country names):
//! nothing to load at run time, and a language is added by naming its locale in [`locale_of`].
//!
//! Amounts keep the currency's own decimals ([`crate::order::minor_units`], ISO 4217) and are
//! rounded half away from zero as everywhere else in shopbip; CLDR only says how they are
//! written. [`crate::order::format_money`] stays the locale-less form (`EUR 1,234.50`) for logs,
//! the console and WhatsApp parameters.

use icu_calendar::{Date, Gregorian};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets::YMD;
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal as Fixed;
use icu_experimental::dimension::currency::CurrencyType;
use icu_experimental::dimension::currency::formatter::CurrencyFormatter;
use icu_experimental::displaynames::DisplayNamesOptions;
use icu_experimental::displaynames::multi::RegionDisplayNames;
use icu_locale_core::Locale;
use icu_locale_core::subtags::Region;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::order::{Address, format_money, minor_units};

/// The CLDR locale an invoice language is written in (`lang` as [`super::labels::labels`]
/// resolves it; anything else is English).
///
/// - English is `en-001`, CLDR's international English: `20 November 2026` and `€1,234.50`,
///   as the merchants shopbip serves (outside the US) write it. US dollars print `US$`.
/// - Arabic keeps Latin digits (`-u-nu-latn`): Tunisian, Moroccan and Algerian invoices, and
///   the amounts Saudi tax invoices and their QR code carry, are written in 0-9; Arabic-Indic
///   digits would also make the amounts differ from the customer's bank and shop pages.
pub fn locale_of(lang: &str) -> &'static str {
    match lang {
        "fr" => "fr",
        "de" => "de",
        "es" => "es",
        "it" => "it",
        "ar" => "ar-u-nu-latn",
        _ => "en-001",
    }
}

/// The formatters of one invoice: its language and currency, made once per document.
pub struct InvoiceLocale {
    currency: String,
    places: u32,
    decimal: Option<DecimalFormatter>,
    money: Option<CurrencyFormatter<DecimalFormatter>>,
    date: Option<FixedCalendarDateTimeFormatter<Gregorian, YMD>>,
    regions: Option<RegionDisplayNames>,
}

impl InvoiceLocale {
    /// Formatters for `lang` and the ISO 4217 `currency`. A formatter CLDR has no data for
    /// (none of the languages above lacks any) falls back to shopbip's locale-less forms
    /// rather than failing the invoice.
    pub fn new(lang: &str, currency: &str) -> Self {
        let locale = parse_locale(lang);
        let currency = currency.trim().to_ascii_uppercase();
        let money = CurrencyType::try_from_str(&currency).ok().and_then(|code| {
            CurrencyFormatter::try_new_symbol((&locale).into(), code, Default::default()).ok()
        });
        Self {
            places: minor_units(&currency),
            decimal: DecimalFormatter::try_new((&locale).into(), Default::default()).ok(),
            money,
            date: date_formatter(&locale),
            regions: RegionDisplayNames::try_new((&locale).into(), DisplayNamesOptions::default())
                .ok(),
            currency,
        }
    }

    /// `amount` with its currency as the language writes it: `1 234,50 €` (fr, a narrow
    /// no-break space between thousands), `€1,234.50` (en), `1.234,50 €` (de), `-TND 5.000`.
    pub fn money(&self, amount: Decimal) -> String {
        let fallback = || format_money(amount, &self.currency);
        let (Some(value), Some(decimal), Some(money)) =
            (self.fixed(amount), &self.decimal, &self.money)
        else {
            return fallback();
        };
        let Some(abs) = self.fixed(amount.abs()) else {
            return fallback();
        };
        let number = decimal.format(&abs).to_string();
        let text = money.format_fixed_decimal(&value).to_string();
        // CLDR rounds to its own digits for a currency, which for a few (IQD, LBP, RSD…) are
        // not ISO 4217's: then the number CLDR wrote is not ours, and ours is shown with the
        // code after it rather than an amount with other decimals than the order's.
        match text.split_once(number.as_str()) {
            Some((before, after))
                if !before
                    .chars()
                    .chain(after.chars())
                    .any(|c| c.is_ascii_digit()) =>
            {
                text
            }
            _ => {
                let signed = decimal.format(&value).to_string();
                format!("{signed}\u{a0}{}", self.currency)
            }
        }
    }

    /// `amount` without the currency, with its decimals, for table cells: `1 234,500`.
    pub fn amount(&self, amount: Decimal) -> String {
        self.number(amount, self.places)
    }

    /// `value` with exactly `places` decimals as the language writes numbers.
    pub fn number(&self, value: Decimal, places: u32) -> String {
        match (to_fixed(value, places), &self.decimal) {
            (Some(v), Some(f)) => f.format(&v).to_string(),
            _ => plain(value, places),
        }
    }

    fn fixed(&self, amount: Decimal) -> Option<Fixed> {
        to_fixed(amount, self.places)
    }

    /// The day of an ISO 8601 date or timestamp in the language's long form (see
    /// [`long_date`]).
    pub fn date(&self, iso: Option<&str>) -> String {
        format_day(iso, self.date.as_ref())
    }

    /// The country of an ISO 3166-1 alpha-2 code, named in the language (`FR` → `France`,
    /// `Frankreich`, `فرنسا`); an unknown code is printed as given.
    pub fn country(&self, code: &str) -> String {
        let code = code.trim();
        let upper = code.to_ascii_uppercase();
        Region::try_from_str(&upper)
            .ok()
            .filter(|r| r.is_alphabetic())
            .and_then(|r| self.regions.as_ref()?.of(r).map(str::to_owned))
            .unwrap_or_else(|| code.to_owned())
    }

    /// The lines of a postal address after the addressee's name, as its country writes them
    /// (see [`address_lines`]), the country named in the invoice's language.
    pub fn address(&self, address: &Address) -> Vec<String> {
        address_lines(address, |code| self.country(code))
    }
}

type DateFormatter = FixedCalendarDateTimeFormatter<Gregorian, YMD>;

/// Invoices are dated in the Gregorian calendar whatever the language's default (tax
/// authorities, the Saudi one included, date them so).
fn date_formatter(locale: &Locale) -> Option<DateFormatter> {
    FixedCalendarDateTimeFormatter::try_new(locale.into(), YMD::long()).ok()
}

/// The day of an ISO 8601 date or timestamp in `lang`'s long form: `20 novembre 2026`,
/// `20. November 2026`, `20 de noviembre de 2026`, `20 نوفمبر 2026`. The day is the one
/// written (the shop's own day), never moved to another time zone. Empty for `None`; anything
/// that is not a date is printed as given.
pub fn long_date(iso: Option<&str>, lang: &str) -> String {
    let locale = parse_locale(lang);
    format_day(iso, date_formatter(&locale).as_ref())
}

fn format_day(iso: Option<&str>, formatter: Option<&DateFormatter>) -> String {
    let Some(iso) = iso else {
        return String::new();
    };
    let day = iso.get(..10).unwrap_or(iso);
    let parsed = parse_day(day).and_then(|(y, m, d)| Date::try_new_gregorian(y, m, d).ok());
    match (parsed, formatter) {
        (Some(date), Some(f)) => f.format(&date).to_string(),
        _ => day.to_owned(),
    }
}

fn parse_locale(lang: &str) -> Locale {
    locale_of(lang).parse().unwrap_or(Locale::UNKNOWN)
}

/// `value` rounded half away from zero to `places` decimals, trailing zeros kept, as ICU4X's
/// decimal; a rounded zero has no sign (`-0.004` is `0.00`).
fn to_fixed(value: Decimal, places: u32) -> Option<Fixed> {
    let rounded = value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    let rounded = if rounded.is_zero() {
        Decimal::ZERO
    } else {
        rounded
    };
    let mut fixed = Fixed::try_from_str(&rounded.to_string()).ok()?;
    // `places` is at most 3 (ISO 4217) here, or a table's few decimals: within i16.
    fixed.absolute.pad_end(-i16::try_from(places).ok()?);
    Some(fixed)
}

/// The number without a locale (`-1234.50`), should ICU4X's formatter be missing.
fn plain(value: Decimal, places: u32) -> String {
    let rounded = value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    let mut text = if rounded.is_zero() {
        Decimal::ZERO
    } else {
        rounded
    }
    .to_string();
    let frac = text.split_once('.').map_or(0, |(_, f)| f.len());
    if places > 0 && frac == 0 {
        text.push('.');
    }
    text.extend(std::iter::repeat_n(
        '0',
        (places as usize).saturating_sub(frac),
    ));
    text
}

fn parse_day(day: &str) -> Option<(i32, u8, u8)> {
    let mut parts = day.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    Some((y.parse().ok()?, m.parse().ok()?, d.parse().ok()?))
}

/// Where a country puts the city (`%C`), postcode (`%Z`) and region or state (`%S`) after the
/// street lines; `\n` starts a new line. From the postal conventions of each country (those
/// Google's libaddressinput also records), for the countries shopbip's merchants sell to; any
/// other country gets postcode then city, as most of Europe and the Maghreb write it.
fn layout(country: &str) -> &'static str {
    match country {
        // Postcode, city; a region only when the platform gives one, on its own line.
        "FR" | "DE" | "TN" | "MA" | "DZ" | "BE" | "NL" | "LU" | "CH" | "AT" | "LI" | "MC"
        | "PT" | "DK" | "NO" | "SE" | "FI" | "IS" | "PL" | "CZ" | "SK" | "SI" | "HR" | "GR"
        | "RE" | "GP" | "MQ" | "GF" | "YT" => "%Z %C",
        // The province after the city: `20121 Milano MI`, `28013 Madrid`.
        "IT" | "ES" => "%Z %C %S",
        "MX" => "%Z %C, %S",
        // City, state abbreviation and ZIP on one line: `Springfield, IL 62704`.
        "US" | "PR" => "%C, %S %Z",
        "CA" | "AU" => "%C %S %Z",
        // The post town, then the county where given, then the postcode on its own line.
        "GB" | "IE" => "%C\n%S\n%Z",
        // Saudi national address: city then postcode.
        "SA" => "%C %Z",
        // No postcodes in use: the city, then the emirate or governorate.
        "AE" | "QA" => "%C\n%S",
        "EG" => "%C\n%S\n%Z",
        "BR" => "%C-%S\n%Z",
        _ => "%Z %C",
    }
}

/// An address's lines after the addressee's name: company, street lines, the city line(s) in
/// the country's [`layout`] with its region or state kept, then the country named by
/// `country_name` (from its ISO code). Empty fields leave no gap or stray comma.
pub fn address_lines(a: &Address, country_name: impl Fn(&str) -> String) -> Vec<String> {
    let country = a
        .country
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_ascii_uppercase);
    let clean = |s: &str| s.trim().to_owned();
    let city = clean(&a.city);
    let postcode = clean(a.postcode.as_deref().unwrap_or_default());
    let region = region(a.state.as_deref(), country.as_deref(), &city);
    let mut lines: Vec<String> = [a.company.as_deref(), Some(&a.line1), a.line2.as_deref()]
        .into_iter()
        .flatten()
        .map(clean)
        .filter(|l| !l.is_empty())
        .collect();
    let pattern = layout(country.as_deref().unwrap_or_default());
    for line in pattern.split('\n') {
        let filled = line
            .replace("%C", &city)
            .replace("%Z", &postcode)
            .replace("%S", &region);
        let tidy = tidy(&filled);
        if !tidy.is_empty() {
            lines.push(tidy);
        }
    }
    if !pattern.contains("%S") && !region.is_empty() {
        lines.push(region);
    }
    if let Some(code) = &country {
        lines.push(country_name(code));
    }
    lines
}

/// The region as printed: an ISO 3166-2 code of the address's own country loses its country
/// prefix (`US-IL` → `IL`, as the country writes it); a numbered subdivision (`TN-11`) names
/// nothing a reader or a postman uses and is left out; the same name as the city (`Madrid`,
/// `Tunis`) is not repeated.
fn region(state: Option<&str>, country: Option<&str>, city: &str) -> String {
    let state = state.map(str::trim).unwrap_or_default();
    let part = country
        .and_then(|c| {
            let (prefix, rest) = state.split_once('-')?;
            prefix.eq_ignore_ascii_case(c).then_some(rest)
        })
        .unwrap_or(state);
    if part.chars().all(|c| c.is_ascii_digit()) || part.eq_ignore_ascii_case(city) {
        return String::new();
    }
    part.to_owned()
}

/// A filled layout line without the separators its empty fields left: doubled spaces, a comma
/// or dash at either end.
fn tidy(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let joined = words.join(" ").replace(" ,", ",");
    joined
        .trim_matches(|c: char| c == ',' || c == '-' || c.is_whitespace())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// CLDR's French grouping separator (narrow no-break space) and the no-break space before
    /// the currency sign, spelled out so the expectations say which space is which.
    const NNBSP: char = '\u{202f}';
    const NBSP: char = '\u{a0}';

    #[test]
    fn money_is_written_as_each_language_writes_it() {
        let eur = d("1234.5");
        assert_eq!(InvoiceLocale::new("en", "EUR").money(eur), "€1,234.50");
        assert_eq!(
            InvoiceLocale::new("fr", "EUR").money(eur),
            format!("1{NNBSP}234,50{NBSP}€")
        );
        assert_eq!(
            InvoiceLocale::new("de", "EUR").money(eur),
            format!("1.234,50{NBSP}€")
        );
        // Italian and Spanish group thousands only from five digits on (CLDR's minimum
        // grouping of 2).
        assert_eq!(
            InvoiceLocale::new("it", "EUR").money(eur),
            format!("1234,50{NBSP}€")
        );
        assert_eq!(
            InvoiceLocale::new("it", "EUR").money(d("12345.5")),
            format!("12.345,50{NBSP}€")
        );
        assert_eq!(
            InvoiceLocale::new("es", "EUR").money(eur),
            format!("1234,50{NBSP}€")
        );
        assert_eq!(
            InvoiceLocale::new("es", "EUR").money(d("12345.5")),
            format!("12.345,50{NBSP}€")
        );
        let ar = InvoiceLocale::new("ar", "EUR").money(eur);
        // Arabic marks the amount right-to-left (U+200F) around Latin digits; dinars and riyals
        // take their Arabic symbols.
        assert_eq!(ar, "\u{200f}1,234.50\u{a0}€");
        assert_eq!(
            InvoiceLocale::new("ar", "SAR").money(eur),
            "\u{200f}1,234.50\u{a0}ر.س.\u{200f}"
        );
        assert!(
            !ar.chars().any(|c| ('\u{660}'..='\u{669}').contains(&c)),
            "Latin digits in Arabic: {ar:?}"
        );
    }

    #[test]
    fn currencies_keep_their_own_decimals() {
        // Tunisian dinars in millimes, whatever the language.
        let fr = InvoiceLocale::new("fr", "TND");
        assert_eq!(fr.money(d("248.57")), format!("248,570{NBSP}TND"));
        assert_eq!(fr.amount(d("1234.5")), format!("1{NNBSP}234,500"));
        let en = InvoiceLocale::new("en", "TND");
        assert_eq!(en.money(d("0.0004")), format!("TND{NBSP}0.000"));
        let ar = InvoiceLocale::new("ar", "TND").money(d("248.57"));
        assert!(ar.contains("248.570"), "{ar:?}");
        // Yen without decimals.
        assert_eq!(
            InvoiceLocale::new("en", "JPY").money(d("1200.4")),
            "JP¥1,200"
        );
        assert_eq!(
            InvoiceLocale::new("de", "jpy").money(d("1200")),
            format!("1.200{NBSP}¥")
        );
        assert_eq!(InvoiceLocale::new("en", "JPY").amount(d("3")), "3");
        assert_eq!(InvoiceLocale::new("en", "EUR").amount(d("3")), "3.00");
    }

    #[test]
    fn negative_amounts_carry_the_languages_minus() {
        assert_eq!(InvoiceLocale::new("en", "EUR").money(d("-5")), "-€5.00");
        let fr = InvoiceLocale::new("fr", "TND").money(d("-5"));
        assert!(
            fr.starts_with('-') && fr.ends_with("5,000\u{a0}TND"),
            "{fr:?}"
        );
        let de = InvoiceLocale::new("de", "EUR").money(d("-1234.5"));
        assert_eq!(de, format!("-1.234,50{NBSP}€"));
        // A rounded zero has no sign.
        assert_eq!(InvoiceLocale::new("en", "EUR").money(d("-0.004")), "€0.00");
        assert_eq!(
            InvoiceLocale::new("ar", "TND").money(d("-5")),
            "\u{200f}\u{200e}-5.000\u{a0}د.ت.\u{200f}"
        );
    }

    #[test]
    fn money_formats_whatever_the_amount() {
        let huge = InvoiceLocale::new("fr", "TND").money(Decimal::MAX);
        assert!(huge.starts_with("79"), "{huge:?}");
        assert!(huge.ends_with(&format!("335,000{NBSP}TND")), "{huge:?}");
        let min = InvoiceLocale::new("en", "KWD").money(Decimal::MIN);
        assert!(min.contains("79,228,"), "{min:?}");
        // A code CLDR does not know is written after the number.
        let odd = InvoiceLocale::new("fr", "XYZ").money(d("3"));
        assert!(odd.contains("3,00") && odd.contains("XYZ"), "{odd:?}");
    }

    #[test]
    fn where_cldr_rounds_otherwise_the_orders_decimals_are_kept() {
        // CLDR writes Iraqi dinars without decimals; ISO 4217 (and the order) has three.
        let iqd = InvoiceLocale::new("en", "IQD").money(d("1234.5"));
        assert_eq!(iqd, format!("1,234.500{NBSP}IQD"));
    }

    #[test]
    fn dates_are_the_languages_long_date() {
        let at = Some("2026-11-20T09:04:40Z");
        let date = |lang: &str| InvoiceLocale::new(lang, "EUR").date(at);
        assert_eq!(date("en"), "20 November 2026");
        assert_eq!(date("fr"), "20 novembre 2026");
        assert_eq!(date("de"), "20. November 2026");
        assert_eq!(date("es"), "20 de noviembre de 2026");
        assert_eq!(date("it"), "20 novembre 2026");
        assert_eq!(date("ar"), "20 نوفمبر 2026");
        // The shop's day as written, not moved to UTC.
        assert_eq!(
            InvoiceLocale::new("fr", "EUR").date(Some("2026-01-01T23:30:00-05:00")),
            "1 janvier 2026"
        );
        assert_eq!(InvoiceLocale::new("en", "EUR").date(None), "");
        assert_eq!(
            InvoiceLocale::new("en", "EUR").date(Some("not a date")),
            "not a date"
        );
        assert_eq!(
            InvoiceLocale::new("en", "EUR").date(Some("2026-02-30")),
            "2026-02-30"
        );
    }

    #[test]
    fn countries_are_named_in_the_invoice_language() {
        assert_eq!(InvoiceLocale::new("ar", "EUR").country("FR"), "فرنسا");
        assert_eq!(InvoiceLocale::new("de", "EUR").country("FR"), "Frankreich");
        assert_eq!(InvoiceLocale::new("fr", "EUR").country("TN"), "Tunisie");
        assert_eq!(InvoiceLocale::new("es", "EUR").country("de"), "Alemania");
        assert_eq!(InvoiceLocale::new("it", "EUR").country("GB"), "Regno Unito");
        assert_eq!(
            InvoiceLocale::new("en", "EUR").country("SA"),
            "Saudi Arabia"
        );
        // Not a country: printed as given.
        assert_eq!(InvoiceLocale::new("en", "EUR").country("ZZZ"), "ZZZ");
        assert_eq!(InvoiceLocale::new("en", "EUR").country("1"), "1");
    }

    fn addr(line1: &str, city: &str, state: Option<&str>, zip: &str, country: &str) -> Address {
        Address {
            name: "N".into(),
            line1: line1.into(),
            city: city.into(),
            state: state.map(str::to_owned),
            postcode: Some(zip.into()),
            country: Some(country.into()),
            ..Address::default()
        }
    }

    fn lines(lang: &str, a: &Address) -> Vec<String> {
        InvoiceLocale::new(lang, "EUR").address(a)
    }

    #[test]
    fn french_addresses_put_the_postcode_before_the_city() {
        let a = Address {
            company: Some("Les Délices".into()),
            line2: Some("Bâtiment B".into()),
            ..addr("8 rue de l'Église", "Paris", None, "75001", "FR")
        };
        assert_eq!(
            lines("fr", &a),
            [
                "Les Délices",
                "8 rue de l'Église",
                "Bâtiment B",
                "75001 Paris",
                "France"
            ]
        );
        // The region, when the platform gives one, is kept on its own line.
        let a = addr(
            "8 rue de l'Église",
            "Besançon",
            Some("Doubs"),
            "25000",
            "FR",
        );
        assert_eq!(
            lines("ar", &a),
            ["8 rue de l'Église", "25000 Besançon", "Doubs", "فرنسا"]
        );
    }

    #[test]
    fn us_addresses_keep_the_state_before_the_zip() {
        let a = addr(
            "742 Evergreen Terrace",
            "Springfield",
            Some("IL"),
            "62704",
            "US",
        );
        assert_eq!(
            lines("en", &a),
            [
                "742 Evergreen Terrace",
                "Springfield, IL 62704",
                "United States"
            ]
        );
        // Shopware gives ISO 3166-2 codes: the state is written as Americans write it.
        let a = addr("1 Main St", "Springfield", Some("US-IL"), "62704", "us");
        assert_eq!(lines("fr", &a)[1], "Springfield, IL 62704");
        assert_eq!(lines("fr", &a)[2], "États-Unis");
        // No state: no stray comma.
        let a = addr("1 Main St", "Springfield", None, "62704", "US");
        assert_eq!(lines("en", &a)[1], "Springfield, 62704");
    }

    #[test]
    fn british_addresses_put_the_postcode_on_its_own_line() {
        let a = addr("10 Downing Street", "London", None, "SW1A 2AA", "GB");
        assert_eq!(
            lines("en", &a),
            ["10 Downing Street", "London", "SW1A 2AA", "United Kingdom"]
        );
        let a = addr("1 High St", "Ely", Some("Cambridgeshire"), "CB7 4AA", "GB");
        assert_eq!(
            lines("de", &a),
            [
                "1 High St",
                "Ely",
                "Cambridgeshire",
                "CB7 4AA",
                "Vereinigtes Königreich"
            ]
        );
    }

    #[test]
    fn german_tunisian_and_saudi_addresses() {
        let de = addr("Unter den Linden 1", "Berlin", Some("BE"), "10117", "DE");
        assert_eq!(
            lines("de", &de),
            ["Unter den Linden 1", "10117 Berlin", "BE", "Deutschland"]
        );
        let tn = addr("12 rue de Marseille", "Tunis", Some("TN-11"), "1001", "TN");
        assert_eq!(
            lines("fr", &tn),
            ["12 rue de Marseille", "1001 Tunis", "Tunisie"]
        );
        let tn = addr(
            "Avenue Habib Bourguiba",
            "Sousse",
            Some("Sousse"),
            "4000",
            "TN",
        );
        assert_eq!(
            lines("ar", &tn),
            ["Avenue Habib Bourguiba", "4000 Sousse", "تونس"]
        );
        let sa = addr(
            "King Fahd Rd",
            "Riyadh",
            Some("Riyadh Province"),
            "12271",
            "SA",
        );
        assert_eq!(
            lines("ar", &sa),
            [
                "King Fahd Rd",
                "Riyadh 12271",
                "Riyadh Province",
                "المملكة العربية السعودية"
            ]
        );
    }

    #[test]
    fn italian_and_unlisted_addresses() {
        let it = addr("Via Roma 1", "Milano", Some("MI"), "20121", "IT");
        assert_eq!(lines("it", &it)[1], "20121 Milano MI");
        let es = addr("Calle Mayor 1", "Madrid", Some("Madrid"), "28013", "ES");
        assert_eq!(lines("es", &es)[1..], ["28013 Madrid", "España"]);
        let other = addr("1 Rue", "Somewhere", Some("North"), "123", "KZ");
        assert_eq!(
            lines("en", &other)[1..],
            ["123 Somewhere", "North", "Kazakhstan"]
        );
        // No country given: no country line.
        let none = Address {
            country: None,
            ..addr("1 Rue", "Tunis", None, "1001", "")
        };
        assert_eq!(lines("fr", &none), ["1 Rue", "1001 Tunis"]);
    }
}
