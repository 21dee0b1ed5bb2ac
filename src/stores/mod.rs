//! Store profiles: one `plugin-config/<store_id>.toml` per store, validated as a whole.

pub mod placeholders;
mod platform_keys;
pub mod profile;
pub mod reload;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::buzzbip::{self, Credentials};
use crate::order::{EventKind, Order};
use crate::platforms::Platform;
pub use profile::{Environment, InvoiceSection, InvoiceSource, NotifyRule, ProfileFile};

/// `[a-z0-9][a-z0-9-]{0,62}`: the file stem of a profile and the `{store_id}` of its webhook URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreId(String);

impl StoreId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut chars = s.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if first_ok && rest_ok && s.len() <= 63 {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "store id {s:?} must be 1-63 characters of a-z, 0-9 and '-', not starting with '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated store profile.
#[derive(Debug, Clone)]
pub struct Store {
    pub id: StoreId,
    pub file: PathBuf,
    pub platform: Platform,
    pub base_uri: String,
    pub default_country: String,
    /// For orders whose payload names no currency (ISO 4217, upper case).
    pub default_currency: Option<String>,
    pub environment: Environment,
    pub webhook_secrets: Vec<SecretString>,
    /// Replay window of platforms that sign a timestamp (`webhook.tolerance_secs`).
    pub webhook_tolerance: Duration,
    pub buzzbip: Credentials,
    pub invoice: InvoiceSection,
    pub rules: Vec<NotifyRule>,
    pub allow_phones: Vec<String>,
    /// Set for `bigcommerce` stores: where the worker fetches orders.
    pub bigcommerce: Option<BigcommerceApi>,
}

/// A BigCommerce store's REST API access.
#[derive(Debug, Clone)]
pub struct BigcommerceApi {
    pub store_hash: String,
    pub access_token: SecretString,
    /// Without a trailing slash.
    pub api_base_url: String,
}

impl Store {
    pub fn rules_for(&self, kind: EventKind) -> impl Iterator<Item = &NotifyRule> {
        self.rules.iter().filter(move |r| r.on == kind)
    }

    /// Fills what the platform left out from the store's settings: the currency.
    pub fn complete_order(&self, order: &mut Order) {
        if order.currency.trim().is_empty()
            && let Some(c) = &self.default_currency
        {
            order.currency = c.clone();
        }
    }

    /// The rules a delivery meaning `kinds` makes jobs for, given what its order says. An
    /// order fetched later (BigCommerce) is not known yet: its rules' conditions are checked
    /// by the worker once it is.
    pub fn rules_matching(&self, kinds: &[EventKind], order: &Order) -> Vec<NotifyRule> {
        let known = !self.platform.fetches_order();
        self.rules
            .iter()
            .filter(|r| kinds.contains(&r.on) && (!known || r.matches(order)))
            .cloned()
            .collect()
    }
}

/// One problem in one profile, naming the file and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

/// Every loaded store, by id.
#[derive(Debug, Default)]
pub struct StoreRegistry {
    stores: HashMap<StoreId, Arc<Store>>,
}

impl StoreRegistry {
    pub fn get(&self, id: &str) -> Option<&Arc<Store>> {
        StoreId::parse(id).ok().and_then(|id| self.stores.get(&id))
    }

    pub fn len(&self) -> usize {
        self.stores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }

    /// Stores sorted by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Store>> {
        let mut all: Vec<_> = self.stores.values().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all.into_iter()
    }

    pub fn from_stores(stores: impl IntoIterator<Item = Store>) -> Self {
        Self {
            stores: stores
                .into_iter()
                .map(|s| (s.id.clone(), Arc::new(s)))
                .collect(),
        }
    }

    /// Loads every `*.toml` in `dir`, reading `${ENV}` from the process environment. A folder
    /// that does not exist holds no stores; any invalid profile fails the whole load.
    pub fn load_dir(dir: &Path) -> Result<Self, Vec<ProfileError>> {
        Self::load_dir_with(dir, &|name| std::env::var(name).ok())
    }

    pub fn load_dir_with(
        dir: &Path,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<ProfileError>> {
        let mut errors = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(vec![ProfileError {
                    file: dir.to_path_buf(),
                    key: String::new(),
                    message: format!("cannot read the folder: {e}"),
                }]);
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("toml"))
            })
            .collect();
        files.sort();
        let mut stores: HashMap<StoreId, Store> = HashMap::new();
        for file in files {
            match load_file(&file, lookup) {
                Ok(store) => {
                    if let Some(existing) = stores.get(&store.id) {
                        errors.push(ProfileError {
                            file: file.clone(),
                            key: String::new(),
                            message: format!(
                                "duplicate store id {:?} (also {})",
                                store.id.as_str(),
                                existing.file.display()
                            ),
                        });
                    } else {
                        stores.insert(store.id.clone(), store);
                    }
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(Self::from_stores(stores.into_values()))
        } else {
            Err(errors)
        }
    }
}

/// Reads, interpolates, deserialises and validates one profile.
pub fn load_file(
    file: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Store, Vec<ProfileError>> {
    let err = |key: &str, message: String| ProfileError {
        file: file.to_path_buf(),
        key: key.to_owned(),
        message,
    };
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let id = StoreId::parse(stem).map_err(|m| vec![err("", m)])?;
    let text =
        std::fs::read_to_string(file).map_err(|e| vec![err("", format!("cannot read: {e}"))])?;
    // Errors name the key and line, never a secret's value (see `profile::parse_toml`).
    let mut doc = profile::parse_toml(&text).map_err(|p| vec![err(&p.key, p.message)])?;
    let mut expanded = std::collections::HashSet::new();
    profile::expanded_paths(&doc, "", &mut expanded);
    let mut env_errors = Vec::new();
    profile::interpolate(&mut doc, "", lookup, &mut env_errors);
    platform_keys::default_invoice_source(&mut doc);
    if !env_errors.is_empty() {
        return Err(env_errors.into_iter().map(|(k, m)| err(&k, m)).collect());
    }
    let raw: ProfileFile =
        profile::deserialize_reporting_all(doc, &text, &expanded).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| err(&p.key, p.message))
                .collect::<Vec<_>>()
        })?;
    validate(id, file, raw)
}

fn validate(id: StoreId, file: &Path, raw: ProfileFile) -> Result<Store, Vec<ProfileError>> {
    let mut errors = Vec::new();
    let mut err = |key: &str, message: String| {
        errors.push(ProfileError {
            file: file.to_path_buf(),
            key: key.to_owned(),
            message,
        })
    };
    match url::Url::parse(&raw.base_uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => err(
            "base_uri",
            format!("{:?} is not an http(s) URL", raw.base_uri),
        ),
    }
    let country = raw.default_country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        err(
            "default_country",
            format!(
                "{:?} is not an ISO 3166-1 alpha-2 code such as \"TN\"",
                raw.default_country
            ),
        );
    }
    let currency = raw
        .default_currency
        .as_deref()
        .map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &currency
        && (c.len() != 3 || !c.chars().all(|c| c.is_ascii_uppercase()))
    {
        err(
            "default_currency",
            format!("{c:?} is not an ISO 4217 code such as \"TND\""),
        );
    }
    if raw.webhook.secrets.is_empty() {
        err("webhook.secrets", "at least one secret is required".into());
    }
    for (i, s) in raw.webhook.secrets.iter().enumerate() {
        if s.expose_secret().trim().is_empty() {
            err(&format!("webhook.secrets[{i}]"), "is empty".into());
        }
    }
    platform_keys::webhook(&raw, &mut err);
    let bigcommerce = platform_keys::bigcommerce(&raw, &mut err);
    if let Err(e) = buzzbip::parse_base_url(&raw.buzzbip.base_url) {
        err("buzzbip.base_url", e.to_string());
    }
    if raw.buzzbip.username.trim().is_empty() {
        err("buzzbip.username", "is empty".into());
    }
    if raw.buzzbip.password.expose_secret().is_empty() {
        err("buzzbip.password", "is empty".into());
    }
    if raw.buzzbip.api_key.expose_secret().is_empty() {
        err("buzzbip.api_key", "is empty".into());
    }
    let inv = &raw.invoice;
    if let Err(m) = placeholders::validate(&inv.filename) {
        err("invoice.filename", m);
    }
    if !inv.filename.to_ascii_lowercase().ends_with(".pdf") {
        err(
            "invoice.filename",
            format!("{:?} must end in .pdf", inv.filename),
        );
    }
    match (&inv.fetch_url, inv.source) {
        (Some(u), _) => {
            if let Err(m) = placeholders::validate(u) {
                err("invoice.fetch_url", m);
            }
        }
        (None, InvoiceSource::Fetch) if !raw.platform.gives_invoice_url() => err(
            "invoice.fetch_url",
            format!(
                "source = \"fetch\" needs a fetch_url: {} gives no invoice PDF URL",
                raw.platform
            ),
        ),
        _ => {}
    }
    if !matches!(inv.language.as_str(), "en" | "fr" | "ar") {
        err(
            "invoice.language",
            format!("{:?} is not one of en, fr, ar", inv.language),
        );
    }
    if !inv.number_meta_keys.is_empty() && raw.platform != Platform::Woocommerce {
        err(
            "invoice.number_meta_keys",
            format!(
                "{} orders carry no meta: only woocommerce stores use it",
                raw.platform
            ),
        );
    }
    for (i, k) in inv.number_meta_keys.iter().enumerate() {
        if k.trim().is_empty() {
            err(&format!("invoice.number_meta_keys[{i}]"), "is empty".into());
        }
    }
    let base = file.parent().unwrap_or(Path::new("."));
    for (key, rel) in [
        ("invoice.logo", &inv.logo),
        ("invoice.template", &inv.template),
    ] {
        if let Some(rel) = rel
            && !base.join(rel).is_file()
        {
            err(key, format!("{} does not exist", base.join(rel).display()));
        }
    }
    let mut seen = HashMap::new();
    for (i, rule) in raw.notify.iter().enumerate() {
        if let Some(first) = seen.insert(rule.key(), i) {
            err(
                &format!("notify[{i}]"),
                format!("same event and template as notify[{first}]: one of them would never send"),
            );
        }
        for (j, p) in rule.body_params.iter().enumerate() {
            if let Err(m) = placeholders::validate(p) {
                err(&format!("notify[{i}].body_params[{j}]"), m);
            }
        }
        for (j, b) in rule.buttons.iter().enumerate() {
            if let Err(m) = placeholders::validate(&b.value) {
                err(&format!("notify[{i}].buttons[{j}].value"), m);
            }
        }
    }
    if raw.notify.is_empty() {
        err(
            "notify",
            "no [[notify]] rule: this store would never send anything".into(),
        );
    }
    let mut allow = Vec::new();
    for (i, p) in raw.test.allow_phones.iter().enumerate() {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        if !p.trim().starts_with('+') || !(8..=15).contains(&digits.len()) {
            err(
                &format!("test.allow_phones[{i}]"),
                "must be an international number such as \"+21696816277\"".into(),
            );
        }
        allow.push(digits);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let platform_type = raw
        .buzzbip
        .platform_type
        .clone()
        .unwrap_or_else(|| raw.platform.to_string());
    Ok(Store {
        id,
        file: file.to_path_buf(),
        platform: raw.platform,
        buzzbip: Credentials {
            base_url: raw.buzzbip.base_url,
            username: raw.buzzbip.username,
            password: raw.buzzbip.password,
            api_key: raw.buzzbip.api_key,
            platform_type,
            base_uri: raw.base_uri.clone(),
        },
        base_uri: raw.base_uri,
        default_country: country,
        default_currency: currency,
        environment: raw.environment,
        webhook_secrets: raw.webhook.secrets,
        webhook_tolerance: raw
            .webhook
            .tolerance_secs
            .map(Duration::from_secs)
            .unwrap_or_else(|| raw.platform.default_tolerance()),
        invoice: raw.invoice,
        rules: raw.notify,
        allow_phones: allow,
        bigcommerce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Payment, PaymentKind};

    fn profile(platform: &str, extra: &str) -> Result<Store, Vec<ProfileError>> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.toml");
        std::fs::write(
            &file,
            format!(
                r#"platform = "{platform}"
base_uri = "https://shop.test"
default_country = "TN"
{extra}
[webhook]
secrets = ["s"]
[buzzbip]
username = "u"
password = "p"
api_key = "k"
[[notify]]
on = "order.created"
template_id = 1
payment = ["cod"]
[[notify]]
on = "order.paid"
template_id = 2
payment = ["online", "bank_transfer"]
[[notify]]
on = "order.paid"
template_id = 3
"#
            ),
        )
        .unwrap();
        load_file(&file, &|_| None)
    }

    fn paid_by(kind: PaymentKind) -> Order {
        Order {
            payment: Payment {
                kind,
                ..Payment::default()
            },
            ..Order::default()
        }
    }

    #[test]
    fn rules_filter_on_how_the_order_is_paid() {
        let store = profile("woocommerce", "").unwrap();
        let templates = |kinds: &[EventKind], kind| -> Vec<u64> {
            store
                .rules_matching(kinds, &paid_by(kind))
                .iter()
                .map(|r| r.template_id)
                .collect()
        };
        let both = [EventKind::OrderCreated, EventKind::OrderPaid];
        assert_eq!(templates(&both, PaymentKind::Cod), [1, 3]);
        assert_eq!(templates(&both, PaymentKind::Online), [2, 3]);
        assert_eq!(templates(&both, PaymentKind::Other), [3]);
        assert!(templates(&[EventKind::OrderCreated], PaymentKind::Online).is_empty());
        // An order fetched later (BigCommerce) is not known yet: the worker checks its rules.
        let later = profile(
            "bigcommerce",
            "[bigcommerce]\nstore_hash = \"abc\"\naccess_token = \"t\"",
        )
        .unwrap();
        let all: Vec<u64> = later
            .rules_matching(&both, &paid_by(PaymentKind::Other))
            .iter()
            .map(|r| r.template_id)
            .collect();
        assert_eq!(all, [1, 2, 3]);
    }

    #[test]
    fn payment_kinds_and_the_default_currency_are_checked_when_profiles_load() {
        let store = profile("woocommerce", r#"default_currency = "tnd""#).unwrap();
        assert_eq!(store.default_currency.as_deref(), Some("TND"));
        let mut order = Order::default();
        store.complete_order(&mut order);
        assert_eq!(order.currency, "TND");
        let mut priced = Order {
            currency: "EUR".into(),
            ..Order::default()
        };
        store.complete_order(&mut priced);
        assert_eq!(priced.currency, "EUR", "the order's own currency wins");

        let errors = profile("woocommerce", r#"default_currency = "DINAR""#).unwrap_err();
        assert_eq!(errors[0].key, "default_currency", "{errors:?}");
        let errors = profile("shopify", "[invoice]\nnumber_meta_keys = [\"_no\"]").unwrap_err();
        assert_eq!(errors[0].key, "invoice.number_meta_keys", "{errors:?}");
        // `extra` lands before [webhook]: a rule of its own with a kind that does not exist.
        let errors = profile(
            "woocommerce",
            "[[notify]]\non = \"order.fulfilled\"\ntemplate_id = 9\npayment = [\"cash\"]",
        )
        .unwrap_err();
        assert!(errors[0].message.contains("cash"), "{errors:?}");
    }

    #[test]
    fn store_ids_follow_the_documented_pattern() {
        for ok in ["acme", "a", "shop-1", "0shop"] {
            assert!(StoreId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-acme",
            "Acme",
            "acme_shop",
            "acme.shop",
            &"a".repeat(64),
        ] {
            assert!(StoreId::parse(bad).is_err(), "{bad}");
        }
    }
}
