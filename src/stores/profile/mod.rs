//! The store profile file (`plugin-config/<store_id>.toml`, PRODUCT.md §2) as written: its
//! sections and how their values deserialise. Reading it happens in two steps kept apart here:
//! `${ENV}` interpolation of the raw TOML (`env`), then deserialisation whose errors name the key
//! and line but never a secret's value (`toml_errors`).

mod env;
mod toml_errors;

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
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default)]
    pub seller_name: String,
    #[serde(default)]
    pub seller_address: String,
    #[serde(default)]
    pub seller_tax_id: String,
    /// Relative to the profile's folder.
    pub logo: Option<PathBuf>,
    /// The merchant's own Typst template, relative to the profile's folder.
    pub template: Option<PathBuf>,
    /// WooCommerce order meta keys where another invoice plugin keeps the invoice number,
    /// tried before the well-known ones (`_wcpdf_invoice_number`, `wf_invoice_number`).
    #[serde(default)]
    pub number_meta_keys: Vec<String>,
}

impl Default for InvoiceSection {
    fn default() -> Self {
        Self {
            source: InvoiceSource::default(),
            fetch_url: None,
            fetch_allow_private: false,
            filename: default_filename(),
            language: default_language(),
            seller_name: String::new(),
            seller_address: String::new(),
            seller_tax_id: String::new(),
            logo: None,
            template: None,
            number_meta_keys: Vec::new(),
        }
    }
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
    #[serde(deserialize_with = "number_or_string")]
    pub template_id: u64,
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

    /// What identifies the rule across edits of the file (reordering blocks changes nothing).
    pub fn key(&self) -> String {
        format!("{}:{}", self.on, self.template_id)
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

/// Numbers may be written `${ENV}`, which interpolation turns into a string.
fn opt_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
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
