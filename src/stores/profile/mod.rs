//! The store profile file (`plugin-config/<store_id>.toml`, PRODUCT.md §2) as written: its
//! sections and how their values deserialise. Reading it happens in two steps kept apart here:
//! `${ENV}` interpolation of the raw TOML (`env`), then deserialisation whose errors name the key
//! and line but never a secret's value (`toml_errors`).

mod env;
pub mod languages;
pub mod legal;
pub mod reconcile;
mod toml_errors;

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

use crate::order::{EventKind, Order, PaymentKind};
use crate::platforms::Platform;
pub use env::{expanded_paths, interpolate};
pub use toml_errors::{
    TomlProblem, deserialize_reporting_all, is_secret_key, line_of, parse_toml, type_problem,
};

pub const DEFAULT_BUZZBIP_URL: &str = "https://app.buzzbip.com";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    pub platform: Platform,
    pub base_uri: String,
    pub default_country: String,
    /// ISO 4217 code for orders whose payload names no currency.
    pub default_currency: Option<String>,
    #[serde(default)]
    pub environment: Environment,
    pub webhook: WebhookSection,
    pub buzzbip: BuzzbipSection,
    #[serde(default)]
    pub invoice: InvoiceSection,
    #[serde(default)]
    pub credit_note: CreditNoteSection,
    #[serde(default)]
    pub notify: Vec<NotifyRule>,
    #[serde(default)]
    pub test: TestSection,
    #[serde(default)]
    pub optout: OptOutSection,
    /// The REST API credentials a `bigcommerce` store's worker fetches orders with.
    pub bigcommerce: Option<crate::platforms::bigcommerce::profile::Section>,
    /// REST API keys a `woocommerce` store's outcomes are written back to its orders with.
    pub woocommerce: Option<crate::platforms::woocommerce::profile::Section>,
    /// The Admin API access a `shopify` store's outcomes are written back to its orders with.
    pub shopify: Option<crate::platforms::shopify::profile::Section>,
    /// The integration a `shopware` store's outcomes are written back to its orders with.
    pub shopware: Option<crate::platforms::shopware::profile::Section>,
    /// The API key a `stripe` store's sweep lists Stripe's events with.
    pub stripe: Option<crate::platforms::stripe::profile::Section>,
    /// The sweep of orders whose webhook never came (issue 20).
    pub reconcile: Option<reconcile::ReconcileSection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Production,
    /// Sends only to `[test].allow_phones`.
    Staging,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    pub secrets: Vec<SecretString>,
    /// Replay window for platforms that sign a timestamp (Stripe, Standard Webhooks,
    /// BigCommerce, Shopware); unset, the platform's default (`Platform::default_tolerance`).
    #[serde(default, deserialize_with = "opt_number_or_string")]
    pub tolerance_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuzzbipSection {
    #[serde(default = "default_buzzbip_url")]
    pub base_url: String,
    pub username: String,
    pub password: SecretString,
    pub api_key: SecretString,
    pub platform_type: Option<String>,
    /// The signing secret Buzzbip shows once when its webhook (Developer → Webhooks) is saved:
    /// `POST /buzzbip/events/{store}` verifies `X-BuzzBip-Signature` with it. Unset, that
    /// route refuses every event of the store.
    pub webhook_secret: Option<SecretString>,
}

fn default_buzzbip_url() -> String {
    DEFAULT_BUZZBIP_URL.to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceSource {
    /// Render the invoice from the order.
    #[default]
    Generate,
    /// Download the PDF the platform made.
    Fetch,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceSection {
    #[serde(default)]
    pub source: InvoiceSource,
    pub fetch_url: Option<String>,
    /// Lets the invoice fetch reach private and link-local addresses (a shop on shopbip's own
    /// network); off, only public addresses and loopback are fetched from.
    #[serde(default)]
    pub fetch_allow_private: bool,
    #[serde(default = "default_filename")]
    pub filename: String,
    /// The invoice's and message's language: a code (`fr`), or `auto` to choose per order
    /// among `languages` (`crate::invoice::language`).
    #[serde(default = "default_language")]
    pub language: String,
    /// The store's languages, its default first: what `language = "auto"` chooses among.
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub seller_name: String,
    #[serde(default)]
    pub seller_address: String,
    #[serde(default)]
    pub seller_tax_id: String,
    /// Rendered invoices and credit notes are PDF/A-3b with their Factur-X XML (EN 16931)
    /// attached (`crate::invoice::facturx`).
    #[serde(default)]
    pub facturx: bool,
    /// Relative to the profile's folder.
    pub logo: Option<PathBuf>,
    /// The merchant's own Typst template, relative to the profile's folder.
    pub template: Option<PathBuf>,
    /// WooCommerce order meta keys where another invoice plugin keeps the invoice number,
    /// tried before the well-known ones (`_wcpdf_invoice_number`, `wf_invoice_number`).
    #[serde(default)]
    pub number_meta_keys: Vec<String>,
    /// How the numbers shopbip allocates are printed (a platform's own number is printed as
    /// the platform gives it).
    #[serde(default = "NumberFormat::invoice_default")]
    pub number_format: NumberFormat,
    /// When the invoice series (and the credit-note series) start again at 1.
    #[serde(default)]
    pub reset: NumberReset,
    /// Whose invoice rules apply (`FR`, `TN`, `SA`, `MA`, `none`); unset: the store's
    /// `default_country`'s, where it has some.
    #[serde(default)]
    pub country_rules: Option<legal::CountryRules>,
    #[serde(default)]
    pub seller_ids: legal::SellerIds,
    /// Lines printed at the foot of every invoice, after the country's own mentions
    /// (late-payment terms, "TVA non applicable, art. 293 B du CGI", a bank account).
    #[serde(default)]
    pub mentions: Vec<String>,
    /// One closing line at the bottom, in place of the built-in thanks.
    #[serde(default)]
    pub footer: Option<String>,
    #[serde(default)]
    pub tn: legal::TnSection,
}

impl Default for InvoiceSection {
    fn default() -> Self {
        Self {
            source: InvoiceSource::default(),
            fetch_url: None,
            fetch_allow_private: false,
            filename: default_filename(),
            language: default_language(),
            languages: Vec::new(),
            seller_name: String::new(),
            seller_address: String::new(),
            seller_tax_id: String::new(),
            facturx: false,
            logo: None,
            template: None,
            number_meta_keys: Vec::new(),
            number_format: NumberFormat::invoice_default(),
            reset: NumberReset::default(),
            country_rules: None,
            seller_ids: legal::SellerIds::default(),
            mentions: Vec::new(),
            footer: None,
            tn: legal::TnSection::default(),
        }
    }
}

/// `[credit_note]`: the documents a refund produces.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteSection {
    /// As written; unset, [`CreditNoteSection::number_format`] picks the default.
    #[serde(rename = "number_format")]
    pub number_format_written: Option<NumberFormat>,
    /// The credit note's file name as the customer sees it; unset: its number (`AV-000001.pdf`),
    /// not `invoice.filename`, which names an invoice.
    pub filename: Option<String>,
}

impl CreditNoteSection {
    /// The credit notes' number format. `invoice.reset` restarts their series too, so the
    /// default carries the year when the series is yearly: `AV-000001` printed in two years
    /// would name two documents.
    pub fn number_format(&self, reset: NumberReset) -> NumberFormat {
        match (&self.number_format_written, reset) {
            (Some(written), _) => written.clone(),
            (None, NumberReset::Never) => NumberFormat::fixed("AV-", &[], 6),
            (None, NumberReset::Yearly) => {
                NumberFormat::fixed("AV-", &[Part::Year, Part::Text("-".into())], 6)
            }
        }
    }
}

/// `invoice.reset`: when a number series starts again at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberReset {
    #[default]
    Never,
    /// Each calendar year (UTC) of the day a number is allocated is a series of its own.
    Yearly,
}

impl NumberReset {
    /// The period of the series a number allocated at `at_ms` (Unix milliseconds) belongs to:
    /// its UTC year, or "" for a series that never restarts.
    pub fn period(self, at_ms: i64) -> String {
        match self {
            NumberReset::Never => String::new(),
            NumberReset::Yearly => utc_year_month(at_ms).0.to_string(),
        }
    }
}

/// The kinds of documents shopbip numbers: each counts in a series of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeriesKind {
    Invoice,
    CreditNote,
}

impl SeriesKind {
    /// As the database stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            SeriesKind::Invoice => "invoice",
            SeriesKind::CreditNote => "credit_note",
        }
    }
}

/// A number format (`invoice.number_format`, `credit_note.number_format`), e.g.
/// `"FA-{year}-{seq:05}"`: checked when the profile loads, so printing a number cannot fail
/// at send time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NumberFormat {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// The number in its series, zero-padded to this many digits (0: as it is).
    Seq(usize),
    Year,
    Yy,
    Month,
}

const PLACEHOLDERS: &str = "{seq}, {seq:0N} (zero-padded to N digits), {year}, {yy} or {month}";

impl NumberFormat {
    /// `INV-{seq:06}`: the numbers shopbip printed before formats existed.
    pub fn invoice_default() -> Self {
        Self::fixed("INV-", &[], 6)
    }

    /// `prefix`, then `middle`, then the number padded to `width`; for the defaults, which
    /// need no parsing.
    fn fixed(prefix: &str, middle: &[Part], width: usize) -> Self {
        let mut parts = vec![Part::Text(prefix.to_owned())];
        parts.extend_from_slice(middle);
        parts.push(Part::Seq(width));
        let mut format = Self {
            text: String::new(),
            parts,
        };
        format.text = format.source();
        format
    }

    /// Reads a format; the error says what is wrong and what to write instead.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("is empty: write a format such as \"INV-{seq:06}\"".into());
        }
        if text.chars().any(char::is_control) {
            return Err(format!("{text:?} holds a control character"));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(format!(
                    "{text:?}: the {{ of {:?} is not closed; placeholders are {PLACEHOLDERS}",
                    &rest[open..]
                ));
            };
            parts.push(Self::placeholder(&after[..close])?);
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        if !parts.iter().any(|p| matches!(p, Part::Seq(_))) {
            return Err(format!(
                "{text:?} has no {{seq}}: every document would get the same number; write \
                 e.g. \"INV-{{seq:06}}\""
            ));
        }
        Ok(Self {
            text: text.to_owned(),
            parts,
        })
    }

    fn placeholder(name: &str) -> Result<Part, String> {
        match name {
            "seq" => Ok(Part::Seq(0)),
            "year" => Ok(Part::Year),
            "yy" => Ok(Part::Yy),
            "month" => Ok(Part::Month),
            _ => match name.strip_prefix("seq:") {
                Some(width) => match width.parse::<usize>() {
                    Ok(n @ 1..=20) if width.len() >= 2 && width.starts_with('0') => {
                        Ok(Part::Seq(n))
                    }
                    _ => Err(format!(
                        "{{{name}}}: the width is a zero then 1 to 20 digits, as in {{seq:06}}"
                    )),
                },
                None => Err(format!(
                    "{{{name}}} is not a placeholder of number formats: use {PLACEHOLDERS}"
                )),
            },
        }
    }

    /// The format as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the year is printed (`{year}` or `{yy}`), as a yearly series needs.
    pub fn has_year(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Year | Part::Yy))
    }

    /// The `seq`th number of a series, allocated at `at_ms` (Unix milliseconds): `{year}`,
    /// `{yy}` and `{month}` are that day's, in UTC.
    pub fn render(&self, seq: u64, at_ms: i64) -> String {
        let (year, month) = utc_year_month(at_ms);
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Seq(width) => out.push_str(&format!("{seq:0width$}")),
                Part::Year => out.push_str(&format!("{year:04}")),
                Part::Yy => out.push_str(&format!("{:02}", year.rem_euclid(100))),
                Part::Month => out.push_str(&format!("{month:02}")),
            }
        }
        out
    }

    /// The text that parses back to `parts`.
    fn source(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Seq(0) => "{seq}".into(),
                Part::Seq(w) => format!("{{seq:{w:02}}}"),
                Part::Year => "{year}".into(),
                Part::Yy => "{yy}".into(),
                Part::Month => "{month}".into(),
            })
            .collect()
    }
}

impl TryFrom<String> for NumberFormat {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<NumberFormat> for String {
    fn from(format: NumberFormat) -> String {
        format.text
    }
}

impl std::fmt::Display for NumberFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The UTC year and month (1–12) of a time in Unix milliseconds (the civil-from-days
/// algorithm of H. Hinnant's "chrono-Compatible Low-Level Date Algorithms"; the crate has no
/// date library, and this is all the numbering needs).
fn utc_year_month(at_ms: i64) -> (i64, u32) {
    let days = at_ms.div_euclid(86_400_000) + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32)
}

fn default_filename() -> String {
    "Invoice-{order.number}.pdf".to_owned()
}

fn default_language() -> String {
    "en".to_owned()
}

/// One `[[notify]]` block: which event sends which template with which parameters. Jobs keep a
/// copy, so a job runs with the rule it was created under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyRule {
    pub on: EventKind,
    /// The template sent. With `template_ids`, the store's default language's (filled in when
    /// the profile loads): what a language without its own template falls back to. 0 (not
    /// written) only until then.
    #[serde(default, deserialize_with = "number_or_string")]
    pub template_id: u64,
    /// A template per language (`{ fr = 1289, ar = 1290 }`) instead of `template_id`: the
    /// message goes with the template of the invoice's language.
    #[serde(
        default,
        deserialize_with = "template_ids",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub template_ids: BTreeMap<String, u64>,
    #[serde(default)]
    pub body_params: Vec<String>,
    #[serde(default = "yes")]
    pub attach_invoice: bool,
    #[serde(default)]
    pub buttons: Vec<ButtonRule>,
    /// Only orders paid this way (`["cod"]`); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment: Vec<PaymentKind>,
}

impl NotifyRule {
    /// Whether the rule's conditions hold for `order`.
    pub fn matches(&self, order: &Order) -> bool {
        self.payment.is_empty() || self.payment.contains(&order.payment.kind)
    }

    /// The template of `language`: its own in `template_ids`, else `template_id` (the store's
    /// default language's, or the one template of a rule without `template_ids`).
    pub fn template_for(&self, language: &str) -> u64 {
        self.template_ids
            .get(language)
            .copied()
            .unwrap_or(self.template_id)
    }

    /// Every template the rule may send, without repeats.
    pub fn all_templates(&self) -> Vec<u64> {
        let mut all = vec![self.template_id];
        all.extend(self.template_ids.values().copied());
        all.retain(|t| *t != 0);
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The templates as a person reads them: `1289`, or `ar=1290 en=1291 fr=1289`.
    pub fn templates_label(&self) -> String {
        if self.template_ids.is_empty() {
            return self.template_id.to_string();
        }
        self.template_ids
            .iter()
            .map(|(lang, id)| format!("{lang}={id}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// What identifies the rule across edits of the file (reordering blocks changes nothing).
    pub fn key(&self) -> String {
        format!("{}:{}", self.on, self.template_id)
    }

    /// What makes the rule's job for `order` one of a kind within the order (the job store's
    /// `rule_key`: one job per store, order, event and this): the rule's [`key`](Self::key),
    /// and for a refund the platform named, that refund too — each partial refund is its own
    /// message and credit note, while the same refund delivered twice (its own webhook, the
    /// order's update, a sweep) is one. A refund without an id is the order's (a full refund).
    pub fn job_key(&self, order: &Order) -> String {
        match &order.refund {
            Some(refund) if self.on == EventKind::OrderRefunded => {
                format!("{}#refund:{}", self.key(), refund.id)
            }
            _ => self.key(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ButtonRule {
    #[serde(deserialize_with = "number_or_string")]
    pub index: u64,
    #[serde(default = "url_sub_type")]
    pub sub_type: String,
    pub value: String,
}

fn url_sub_type() -> String {
    "url".to_owned()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSection {
    #[serde(default)]
    pub allow_phones: Vec<String>,
}

/// `[optout]`: the words that, as a customer's whole WhatsApp answer (trimmed, case-folded),
/// stop the store's messages to them, or start them again.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptOutSection {
    #[serde(default = "default_optout_keywords")]
    pub keywords: Vec<String>,
    #[serde(default = "default_resume_keywords")]
    pub resume_keywords: Vec<String>,
}

impl Default for OptOutSection {
    fn default() -> Self {
        Self {
            keywords: default_optout_keywords(),
            resume_keywords: default_resume_keywords(),
        }
    }
}

fn default_optout_keywords() -> Vec<String> {
    [
        "STOP",
        "STOPP",
        "ARRET",
        "ARRÊT",
        "UNSUBSCRIBE",
        "توقف",
        "إلغاء",
    ]
    .map(String::from)
    .to_vec()
}

fn default_resume_keywords() -> Vec<String> {
    ["START", "UNSTOP", "REPRENDRE", "ابدأ"]
        .map(String::from)
        .to_vec()
}

/// `template_ids = { fr = 1289, ar = "${AR_TEMPLATE}" }`: each id a whole number as
/// `template_id` is.
fn template_ids<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, u64>, D::Error> {
    #[derive(Deserialize)]
    struct Id(#[serde(deserialize_with = "number_or_string")] u64);
    let ids = BTreeMap::<String, Id>::deserialize(d)?;
    Ok(ids.into_iter().map(|(lang, Id(id))| (lang, id)).collect())
}

/// Numbers may be written `${ENV}`, which interpolation turns into a string.
pub(super) fn opt_number_or_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    number_or_string(d).map(Some)
}

/// A whole number of 0 or more, written as a number or as a string (`${ENV}`); anything else
/// (`1289.0`, `-5`, `"12a"`) is refused with a sentence saying what to write instead.
fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(WholeNumber)
}

struct WholeNumber;

impl WholeNumber {
    fn from_float<E: serde::de::Error>(x: f64) -> Result<u64, E> {
        if x.is_finite() && x.fract() == 0.0 && (0.0..1e15).contains(&x) {
            Err(E::custom(format!(
                "{x:?} is not a whole number: write {} (no decimal point)",
                x as u64
            )))
        } else if x.is_finite() && x < 0.0 {
            Err(E::custom(format!(
                "{x} is negative: expected a whole number of 0 or more, such as 1289"
            )))
        } else {
            Err(E::custom(format!(
                "{x} is not a whole number: expected one such as 1289"
            )))
        }
    }
}

impl<'de> serde::de::Visitor<'de> for WholeNumber {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a whole number of 0 or more, such as 1289")
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<u64, E> {
        Ok(n)
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<u64, E> {
        u64::try_from(n).map_err(|_| {
            E::custom(format!(
                "{n} is negative: expected a whole number of 0 or more, such as 1289"
            ))
        })
    }

    fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<u64, E> {
        Self::from_float(x)
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<u64, E> {
        let t = s.trim();
        if let Ok(n) = t.parse::<u64>() {
            return Ok(n);
        }
        if let Ok(n) = t.parse::<i64>() {
            return self.visit_i64(n);
        }
        match t.parse::<f64>() {
            Ok(x) if t.chars().any(|c| c.is_ascii_digit()) => Self::from_float(x),
            _ => Err(E::custom(format!(
                "expected a whole number such as 1289, got {s:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod numbering_tests {
    use super::{CreditNoteSection, NumberFormat, NumberReset, utc_year_month};

    /// 2026-12-31T23:59:59.999Z and the millisecond after it.
    const LAST_MS_OF_2026: i64 = 1_798_761_599_999;

    #[test]
    fn formats_print_the_number_and_the_day_it_was_allocated() {
        let at = LAST_MS_OF_2026;
        let print = |f: &str, n| NumberFormat::parse(f).unwrap().render(n, at);
        assert_eq!(print("INV-{seq:06}", 1), "INV-000001");
        assert_eq!(print("FA-{year}-{seq:05}", 42), "FA-2026-00042");
        assert_eq!(print("{yy}{month}/{seq}", 7), "2612/7");
        assert_eq!(print("{seq:03}", 123_456), "123456", "never cut");
        assert_eq!(print("N° {seq:01} ✓", 9), "N° 9 ✓");
        assert_eq!(print("}{seq}", 5), "}5", "a lone }} is text");
        let next = NumberFormat::parse("{year}-{month}-{seq:02}").unwrap();
        assert_eq!(next.render(1, at + 1), "2027-01-01");
        assert_eq!(
            next.render(3, 1_772_323_200_000),
            "2026-03-03",
            "1 March 2026"
        );
        assert_eq!(
            NumberFormat::invoice_default().render(1, at),
            "INV-000001",
            "the default keeps the numbers printed before formats"
        );
        assert_eq!(NumberFormat::invoice_default().as_str(), "INV-{seq:06}");
        assert_eq!(
            NumberFormat::parse(NumberFormat::invoice_default().as_str()),
            Ok(NumberFormat::invoice_default())
        );
    }

    #[test]
    fn formats_without_a_number_or_with_unknown_placeholders_are_refused() {
        for (format, expected) in [
            ("", "is empty"),
            ("  ", "is empty"),
            ("FA-{year}", "has no {seq}"),
            ("FA-{date}-{seq}", "{date} is not a placeholder"),
            ("FA-{SEQ}", "{SEQ} is not a placeholder"),
            ("FA-{seq:5}", "{seq:5}: the width is a zero then"),
            ("FA-{seq:00}", "{seq:00}"),
            ("FA-{seq:021}", "{seq:021}"),
            ("FA-{seq:0x}", "{seq:0x}"),
            ("FA-{seq", "is not closed"),
            ("FA-\n{seq}", "control character"),
        ] {
            let err = NumberFormat::parse(format).unwrap_err();
            assert!(err.contains(expected), "{format:?}: {err}");
        }
        let err = NumberFormat::parse("{foo}{seq}").unwrap_err();
        assert!(err.contains("{seq:0N}") && err.contains("{month}"), "{err}");
        assert!(NumberFormat::parse("{seq:020}").is_ok());
    }

    #[test]
    fn a_yearly_series_is_the_utc_year_of_the_day_a_number_is_taken() {
        assert_eq!(NumberReset::Yearly.period(LAST_MS_OF_2026), "2026");
        assert_eq!(NumberReset::Yearly.period(LAST_MS_OF_2026 + 1), "2027");
        assert_eq!(NumberReset::Never.period(LAST_MS_OF_2026 + 1), "");
        assert_eq!(utc_year_month(0), (1970, 1));
        assert_eq!(utc_year_month(-1), (1969, 12));
        // 29 February 2028, leap day, and the day after.
        assert_eq!(utc_year_month(1_835_395_200_000), (2028, 2));
        assert_eq!(utc_year_month(1_835_481_600_000), (2028, 3));
        // Any time a caller passes is a date, however far off.
        assert!(utc_year_month(i64::MAX).0 > 292_000_000);
        assert!(utc_year_month(i64::MIN).0 < -292_000_000);
        assert!(NumberFormat::parse("{year}-{seq}").unwrap().has_year());
        assert!(NumberFormat::parse("{yy}{seq}").unwrap().has_year());
        assert!(!NumberFormat::parse("{month}{seq}").unwrap().has_year());
    }

    #[test]
    fn credit_notes_default_to_a_series_of_their_own_that_follows_the_reset() {
        let unset = CreditNoteSection::default();
        let at = LAST_MS_OF_2026;
        assert_eq!(
            unset.number_format(NumberReset::Never).render(1, at),
            "AV-000001"
        );
        assert_eq!(
            unset.number_format(NumberReset::Yearly).render(1, at),
            "AV-2026-000001"
        );
        let written = CreditNoteSection {
            number_format_written: Some(NumberFormat::parse("CN{seq}").unwrap()),
            filename: None,
        };
        assert_eq!(
            written.number_format(NumberReset::Yearly).render(4, at),
            "CN4"
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::stores::{ProfileError, load_file};

    pub(super) const PROFILE: &str = r#"platform = "woocommerce"
base_uri = "https://shop.test"
default_country = "TN"

[webhook]
secrets = ["whook-secret-1"]

[buzzbip]
username = "u"
password = "PASSWORD"
api_key = "k-123"

[[notify]]
on = "order.paid"
template_id = 1289
"#;

    pub(super) fn load(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<ProfileError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.toml");
        std::fs::write(&file, text).unwrap();
        load_file(&file, lookup).err().unwrap_or_default()
    }

    pub(super) fn all(errors: &[ProfileError]) -> String {
        errors.iter().map(|e| format!("{e}\n")).collect()
    }

    #[test]
    fn numbers_that_do_not_fit_get_a_sentence() {
        for (written, expected) in [
            (
                "1289.0",
                "1289.0 is not a whole number: write 1289 (no decimal point)",
            ),
            (
                "-5",
                "-5 is negative: expected a whole number of 0 or more, such as 1289",
            ),
            ("12.5", "12.5 is not a whole number"),
            ("\"-5\"", "-5 is negative"),
            ("\"1289.0\"", "write 1289"),
            ("true", "expected a whole number of 0 or more"),
        ] {
            let errors = load(&PROFILE.replace("1289", written), &|_| None);
            let text = all(&errors);
            assert!(!text.contains("untagged"), "{text}");
            assert_eq!(errors.len(), 1, "{text}");
            assert_eq!(errors[0].key, "notify[0].template_id", "{text}");
            assert!(errors[0].message.contains(expected), "{written}: {text}");
            assert!(errors[0].message.starts_with("line 15: "), "{text}");
        }
        assert!(load(&PROFILE.replace("1289", "\" 1289 \""), &|_| None).is_empty());
    }
}
