//! The store profile file (`plugin-config/<store_id>.toml`, PRODUCT.md §2) as written, with
//! `${ENV}` interpolation done before it is read.

use std::collections::{HashMap, HashSet};
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
    pub bigcommerce: Option<crate::platforms::bigcommerce::profile::Section>,
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
            // Not the name itself: in a password, "${" may be part of the secret.
            return Err(
                "\"${…}\" must hold an environment variable name (A-Z, a-z, 0-9 and _)".to_owned(),
            );
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

// --- Reading TOML without echoing secrets -------------------------------------------------
//
// toml's error Display quotes the source line, and serde's type errors quote the value
// (`invalid type: string "hunter2"`): errors are built here from the message and the line
// number only, and the message of a secret key, or of a value filled from `${…}`, never holds
// the value.

/// A key whose value an error never shows: `password`, `api_key`, `secrets`, `access_token`,
/// `token` and their kin, at any depth (`buzzbip.password`, `webhook.secrets[0]`).
pub fn is_secret_key(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last).trim_matches('"');
    let last = last.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
    ]
    .iter()
    .any(|s| last.contains(s))
}

/// The paths (`a.b[0]`, as [`interpolate`] names them) of the strings holding `${`, whose
/// values after interpolation may be secrets from the environment.
pub fn expanded_paths(value: &toml::Value, path: &str, out: &mut HashSet<String>) {
    match value {
        toml::Value::String(s) if s.contains("${") => {
            out.insert(path.to_owned());
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                expanded_paths(item, &format!("{path}[{i}]"), out);
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                expanded_paths(v, &child, out);
            }
        }
        _ => {}
    }
}

/// One problem in a TOML file: the key (empty when none can be named) and a message that
/// starts with the line when it is known and never holds a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlProblem {
    pub key: String,
    /// Already at the start of `message` when known.
    pub line: Option<usize>,
    pub message: String,
}

/// Parses `text`, or says where it is not TOML: `line 7: not valid TOML: invalid basic
/// string`, with the key that line sets, and neither the line itself nor its value.
pub fn parse_toml(text: &str) -> Result<toml::Value, TomlProblem> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_at(text, s.start));
        let key = line.map(|l| key_on_line(text, l)).unwrap_or_default();
        let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
        TomlProblem {
            key,
            line,
            message: format!("{at}not valid TOML: {}", e.message().trim()),
        }
    })
}

/// Turns a deserialisation error at `key` (a serde message) into one for people: with the
/// line the key is on in `text`, and without the value when the key is secret or its value
/// came from `${…}`.
pub fn type_problem(
    text: &str,
    key: &str,
    message: &str,
    expanded: &HashSet<String>,
) -> TomlProblem {
    let hidden = is_secret_key(key)
        || expanded.iter().any(|p| {
            p == key
                || p.starts_with(&format!("{key}."))
                || p.starts_with(&format!("{key}["))
                || key.starts_with(&format!("{p}."))
                || key.starts_with(&format!("{p}["))
        });
    let message =
        if hidden && !message.starts_with("missing field") && !message.starts_with("unknown field")
        {
            hide_value(message)
        } else {
            message.to_owned()
        };
    let line = line_of(text, key);
    let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
    TomlProblem {
        key: key.to_owned(),
        line,
        message: format!("{at}{message}"),
    }
}

/// `invalid type: string "hunter2", expected a sequence` → `expected a sequence (the value is
/// not shown)`. The part kept comes from the type, never from the value.
fn hide_value(message: &str) -> String {
    const NOT_SHOWN: &str = "the value is not shown";
    let typed = ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|p| message.starts_with(p));
    match message.rfind(", expected ") {
        Some(i) if typed => format!("{} ({NOT_SHOWN})", &message[i + 2..]),
        _ => format!("invalid value ({NOT_SHOWN})"),
    }
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line a key path (`notify[1].template_id`) is written on, or the line of the deepest
/// part of it that is; `None` when the text does not parse.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut value: Option<&toml::Spanned<toml::de::DeValue<'_>>> = None;
    let mut found: Option<usize> = None;
    for segment in split_path(path) {
        match segment {
            Segment::Key(k) => {
                let current = match value.map(|v| v.get_ref()) {
                    None => Some(table),
                    Some(toml::de::DeValue::Table(t)) => Some(t),
                    _ => None,
                };
                let Some(t) = current else { break };
                let Some((key, v)) = t.iter().find(|(key, _)| key.get_ref().as_ref() == k) else {
                    break;
                };
                found = Some(key.span().start);
                table = t;
                value = Some(v);
            }
            Segment::Index(i) => {
                let Some(toml::de::DeValue::Array(items)) = value.map(|v| v.get_ref()) else {
                    break;
                };
                let Some(item) = items.get(i) else { break };
                found = Some(item.span().start);
                value = Some(item);
            }
        }
    }
    found.map(|offset| line_at(text, offset))
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_path(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        let name_end = rest.find('[').unwrap_or(rest.len());
        if name_end > 0 {
            out.push(Segment::Key(&rest[..name_end]));
        }
        rest = &rest[name_end..];
        while let Some(close) = rest.find(']') {
            if let Ok(i) = rest[1..close].parse() {
                out.push(Segment::Index(i));
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

/// The key a line sets (`[buzzbip]` then `password = "…"` gives `buzzbip.password`), read from
/// the text before `=` only; empty when the line sets none.
fn key_on_line(text: &str, line: usize) -> String {
    let mut table = String::new();
    let mut arrays: HashMap<String, usize> = HashMap::new();
    for (n, l) in text.lines().enumerate() {
        let l = l.trim();
        if n + 1 == line {
            let Some((key, _)) = l.split_once('=') else {
                return String::new();
            };
            let key = key.trim();
            let plain = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '"'));
            if !plain || l.starts_with('[') {
                return String::new();
            }
            let key = key.replace([' ', '"'], "");
            return if table.is_empty() {
                key
            } else {
                format!("{table}.{key}")
            };
        }
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split_once("]]")) {
            let name = name.0.trim().replace([' ', '"'], "");
            let index = arrays
                .entry(name.clone())
                .and_modify(|i| *i += 1)
                .or_insert(0);
            table = format!("{name}[{index}]");
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split_once(']')) {
            table = name.0.trim().replace([' ', '"'], "");
        }
    }
    String::new()
}

/// Deserialises `doc` (read from `text`), reporting every unknown key at once, then the first
/// other problem; `expanded` holds the paths filled from `${…}` (see [`expanded_paths`]).
pub fn deserialize_reporting_all<T: serde::de::DeserializeOwned>(
    mut doc: toml::Value,
    text: &str,
    expanded: &HashSet<String>,
) -> Result<T, Vec<TomlProblem>> {
    let mut problems = Vec::new();
    // Each pass drops the unknown key it met, so the next pass reaches the next one; bounded by
    // the number of keys in the document.
    loop {
        match serde_path_to_error::deserialize::<_, T>(doc.clone()) {
            Ok(value) if problems.is_empty() => return Ok(value),
            Ok(_) => return Err(problems),
            Err(e) => {
                let path = e.path().to_string();
                let key = if path == "." { String::new() } else { path };
                // The message alone: the error's Display adds "in `key`" on a line of its own.
                let message = e.into_inner().message().trim().to_owned();
                if let Some(field) = unknown_field(&message)
                    && remove_key(&mut doc, &key, field)
                {
                    let full = if key.is_empty() || key.ends_with(field) {
                        key.clone()
                    } else {
                        format!("{key}.{field}")
                    };
                    problems.push(type_problem(text, &full, &message, expanded));
                    // Found in the order serde visits them: told in the file's order.
                    problems.sort_by_key(|p| p.line);
                    continue;
                }
                problems.push(type_problem(text, &key, &message, expanded));
                return Err(problems);
            }
        }
    }
}

/// The field of serde's "unknown field `x`, expected …".
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(&rest[..rest.find('`')?])
}

/// Removes `field` from the table at `path` (or at `path` minus its last part, when serde's
/// path already names the field); false when it is not there.
fn remove_key(doc: &mut toml::Value, path: &str, field: &str) -> bool {
    fn table_at<'a>(doc: &'a mut toml::Value, path: &str) -> Option<&'a mut toml::Table> {
        let mut v = doc;
        for segment in split_path(path) {
            v = match segment {
                Segment::Key(k) => v.as_table_mut()?.get_mut(k)?,
                Segment::Index(i) => v.as_array_mut()?.get_mut(i)?,
            };
        }
        v.as_table_mut()
    }
    if let Some(t) = table_at(doc, path)
        && t.remove(field).is_some()
    {
        return true;
    }
    let parent = match path.rfind('.') {
        Some(i) if path[i + 1..] == *field => &path[..i],
        None if path == field => "",
        _ => return false,
    };
    table_at(doc, parent).is_some_and(|t| t.remove(field).is_some())
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

    const PROFILE: &str = r#"platform = "woocommerce"
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

    fn load(
        text: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<super::super::ProfileError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.toml");
        std::fs::write(&file, text).unwrap();
        super::super::load_file(&file, lookup)
            .err()
            .unwrap_or_default()
    }

    fn all(errors: &[super::super::ProfileError]) -> String {
        errors.iter().map(|e| format!("{e}\n")).collect()
    }

    #[test]
    fn a_syntax_error_on_a_secret_line_names_key_and_line_not_the_secret() {
        for (broken, key, line) in [
            ("password = \"hunter2-secret", "buzzbip.password", 10),
            ("password = hunter2-secret", "buzzbip.password", 10),
            ("password = \"hunter2-secret\" junk", "buzzbip.password", 10),
        ] {
            let errors = load(&PROFILE.replace("password = \"PASSWORD\"", broken), &|_| {
                None
            });
            let text = all(&errors);
            assert_eq!(errors.len(), 1, "{text}");
            assert!(!text.contains("hunter2"), "{text}");
            assert_eq!(errors[0].key, key, "{text}");
            assert!(
                errors[0]
                    .message
                    .starts_with(&format!("line {line}: not valid TOML")),
                "{text}"
            );
        }
        let errors = load(
            &PROFILE.replace(
                "secrets = [\"whook-secret-1\"]",
                "secrets = [\"whook-secret-1\" \"x\"]",
            ),
            &|_| None,
        );
        let text = all(&errors);
        assert!(!text.contains("whook-secret"), "{text}");
        assert!(text.contains("webhook.secrets: line 6:"), "{text}");
    }

    #[test]
    fn type_errors_on_secret_or_interpolated_keys_do_not_show_the_value() {
        let errors = load(
            &PROFILE.replace(
                "secrets = [\"whook-secret-1\"]",
                "secrets = \"whook-secret-1\"",
            ),
            &|_| None,
        );
        let text = all(&errors);
        assert!(!text.contains("whook-secret"), "{text}");
        assert!(
            text.contains("webhook.secrets: line 6: expected a sequence (the value is not shown)"),
            "{text}"
        );
        // A value from the environment, in a key that is not secret in itself.
        let errors = load(
            &PROFILE.replace("template_id = 1289", "template_id = \"${TEMPLATE}\""),
            &|n| (n == "TEMPLATE").then(|| "sk_live_from_env".to_owned()),
        );
        let text = all(&errors);
        assert!(!text.contains("sk_live"), "{text}");
        assert!(text.contains("notify[0].template_id: line 15:"), "{text}");
        // Other keys keep their value in the message: it helps and is not secret.
        let errors = load(
            &PROFILE.replace("template_id = 1289", "template_id = \"12a\""),
            &|_| None,
        );
        assert!(all(&errors).contains("\"12a\""), "{}", all(&errors));
    }

    #[test]
    fn every_unknown_key_is_reported_at_once() {
        let text = PROFILE
            .replace(
                "default_country = \"TN\"",
                "default_country = \"TN\"\ncolour = \"red\"",
            )
            .replace(
                "username = \"u\"",
                "username = \"u\"\nuser = \"x\"\npasword = \"hunter2\"",
            )
            + "tempalte = 3\n";
        let errors = load(&text, &|_| None);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "colour",
                "buzzbip.user",
                "buzzbip.pasword",
                "notify[0].tempalte"
            ],
            "{}",
            all(&errors)
        );
        assert!(
            errors.iter().all(|e| e.message.contains("unknown field")),
            "{}",
            all(&errors)
        );
        assert!(
            errors[0].message.starts_with("line 4: "),
            "{}",
            all(&errors)
        );
        assert!(!all(&errors).contains("hunter2"));
        // Unknown keys and then the first other problem.
        let errors = load(
            &text.replace("template_id = 1289", "template_id = -5"),
            &|_| None,
        );
        assert_eq!(errors.len(), 5, "{}", all(&errors));
        assert_eq!(errors[4].key, "notify[0].template_id");
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

    #[test]
    fn lines_of_keys() {
        let text = "a = 1\n[b]\nc = 2\n[[n]]\nx = 1\n[[n]]\nx = 2\ny.z = 3\n";
        assert_eq!(line_of(text, "a"), Some(1));
        assert_eq!(line_of(text, "b.c"), Some(3));
        assert_eq!(line_of(text, "n[1].x"), Some(7));
        assert_eq!(line_of(text, "n[1].y.z"), Some(8));
        assert_eq!(line_of(text, "b.missing"), Some(2));
        assert_eq!(key_on_line(text, 7), "n[1].x");
        assert_eq!(key_on_line(text, 8), "n[1].y.z");
        assert_eq!(key_on_line(text, 2), "");
    }
}
