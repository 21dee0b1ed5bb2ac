//! The store profile file (`plugin-config/<store_id>.toml`, PRODUCT.md §2) as written, with
//! `${ENV}` interpolation done before it is read.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

use crate::order::{EventKind, Order, PaymentKind};
use crate::platforms::Platform;

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
    /// The REST API credentials a `bigcommerce` store's worker fetches orders with.
    pub bigcommerce: Option<BigcommerceSection>,
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

pub const DEFAULT_BIGCOMMERCE_API: &str = "https://api.bigcommerce.com";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BigcommerceSection {
    /// The `{store_hash}` of `https://api.bigcommerce.com/stores/{store_hash}/…`.
    pub store_hash: String,
    /// The API account's access token, sent as `X-Auth-Token` (scope: Orders read-only).
    pub access_token: SecretString,
    /// Overridable so tests (and proxies) can stand in for BigCommerce.
    #[serde(default = "default_bigcommerce_api")]
    pub api_base_url: String,
}

fn default_bigcommerce_api() -> String {
    DEFAULT_BIGCOMMERCE_API.to_owned()
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

/// Numbers may be written `${ENV}`, which interpolation turns into a string.
fn opt_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    number_or_string(d).map(Some)
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Num(u64),
        Text(String),
    }
    match N::deserialize(d)? {
        N::Num(n) => Ok(n),
        N::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected a number, got {s:?}"))),
    }
}

/// Replaces `${NAME}` in every string of the document; `lookup` reads the environment. Errors
/// name the key path of the value that could not be filled.
pub fn interpolate(
    value: &mut toml::Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<(String, String)>,
) {
    match value {
        toml::Value::String(s) => match interpolate_str(s, lookup) {
            Ok(filled) => *s = filled,
            Err(msg) => errors.push((path.to_owned(), msg)),
        },
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, &format!("{path}[{i}]"), lookup, errors);
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                interpolate(v, &child, lookup, errors);
            }
        }
        _ => {}
    }
}

fn interpolate_str(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unclosed \"${\"".to_owned())?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("invalid environment variable name {name:?}"));
        }
        match lookup(name) {
            Some(v) if !v.is_empty() => out.push_str(&v),
            _ => return Err(format!("environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_fills_and_names_missing_variables() {
        let mut v: toml::Value =
            toml::from_str("a = \"${X}-${Y}\"\n[b]\nlist = [\"ok\", \"${MISSING}\"]\n").unwrap();
        let lookup = |n: &str| match n {
            "X" => Some("1".to_owned()),
            "Y" => Some("two".to_owned()),
            _ => None,
        };
        let mut errors = Vec::new();
        interpolate(&mut v, "", &lookup, &mut errors);
        assert_eq!(v["a"].as_str(), Some("1-two"));
        assert_eq!(
            errors,
            [(
                "b.list[1]".to_owned(),
                "environment variable MISSING is not set".to_owned()
            )]
        );
    }
}
