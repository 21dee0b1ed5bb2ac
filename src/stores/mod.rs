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
use crate::platforms::api::ApiAccess;
use crate::platforms::profile::Sections;
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
    /// Set for stores whose platform fetches the order (`Platform::fetches_order`): the API
    /// access its worker calls with, from the platform's own profile section.
    pub api: Option<ApiAccess>,
}

impl Store {
    pub fn rules_for(&self, kind: EventKind) -> impl Iterator<Item = &NotifyRule> {
        self.rules.iter().filter(move |r| r.on == kind)
    }

    /// Fills what the platform left out: the total from priced lines, the currency from the
    /// store's settings.
    pub fn complete_order(&self, order: &mut Order) {
        order.derive_missing_total();
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

/// Invoice assets render into PDFs sent to customers: only files inside the profile's folder
/// (or a folder beneath it, such as `assets/`) may be named, never an absolute path, a `..`,
/// or a link that leads out.
fn confined(base: &Path, rel: &Path) -> Result<(), String> {
    use std::path::Component;
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "{} must be a path inside the profile's folder (no absolute path, no ..)",
            rel.display()
        ));
    }
    let path = base.join(rel);
    if !path.is_file() {
        return Err(format!("{} does not exist", path.display()));
    }
    let (Ok(real), Ok(real_base)) = (path.canonicalize(), base.canonicalize()) else {
        return Err(format!("{} cannot be resolved", path.display()));
    };
    if !real.starts_with(&real_base) {
        return Err(format!(
            "{} leads outside the profile's folder (a link to {})",
            rel.display(),
            real.display()
        ));
    }
    Ok(())
}

/// A check that needs more than the profile itself (today: the store's own invoice template,
/// compiled against a sample order by the invoice module). Passed in by the caller so that
/// `stores` does not depend on the features that read stores.
pub type StoreCheck = dyn Fn(&Store) -> Result<(), String> + Send + Sync;

/// What `check` reports for a store that fails `check`, as a profile error on its key.
pub fn template_error(store: &Store, check: &StoreCheck) -> Result<(), ProfileError> {
    check(store).map_err(|e| ProfileError {
        file: store.file.clone(),
        key: "invoice.template".into(),
        message: match &store.invoice.template {
            Some(t) => format!("{}: {e}", t.display()),
            None => e,
        },
    })
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

    /// Everything `shopbip check` checks, as `serve` and hot reload apply it: every profile
    /// valid (each store's own invoice template compiled against a sample order), and at least
    /// one of them — a missing or empty folder is an error, not a server that sends nothing.
    pub fn load_valid(dir: &Path, check: &StoreCheck) -> Result<Self, Vec<ProfileError>> {
        let dir_error = |message: String| ProfileError {
            file: dir.to_path_buf(),
            key: String::new(),
            message,
        };
        if !dir.is_dir() {
            return Err(vec![dir_error(
                "the store profile folder does not exist (stores.dir; one <store_id>.toml per store, see plugin-config/README.md)".into(),
            )]);
        }
        let registry = Self::load_dir(dir)?;
        if registry.is_empty() {
            return Err(vec![dir_error(
                "no store profile in the folder (one <store_id>.toml per store: copy an example-*.toml)".into(),
            )]);
        }
        let errors: Vec<ProfileError> = registry
            .iter()
            .filter_map(|store| template_error(store, check).err())
            .collect();
        if errors.is_empty() {
            Ok(registry)
        } else {
            Err(errors)
        }
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
    // A region the phone library knows: "XX" would pass a shape check and then make every
    // number written without its country code unreadable.
    if !crate::phone::is_known_region(&country) {
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
    let api = crate::platforms::profile::validate(
        raw.platform,
        Sections {
            bigcommerce: raw.bigcommerce.as_ref(),
        },
        &mut err,
    );
    match buzzbip::parse_base_url(&raw.buzzbip.base_url) {
        Err(e) => err("buzzbip.base_url", e.to_string()),
        // shopbip adds `/api/…` itself: a base with a path would send to `/api/api/…`.
        Ok(url) if !matches!(url.path(), "" | "/") => err(
            "buzzbip.base_url",
            format!(
                "{:?} must be a bare origin: write {:?} (without {:?}; shopbip adds /api/… itself)",
                raw.buzzbip.base_url,
                url.origin().ascii_serialization(),
                url.path()
            ),
        ),
        Ok(_) => {}
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
    if !inv.number_meta_keys.is_empty() && !raw.platform.capabilities().order_meta {
        err(
            "invoice.number_meta_keys",
            format!(
                "{} orders carry no meta: only {} stores use it",
                raw.platform,
                Platform::ALL
                    .iter()
                    .filter(|p| p.capabilities().order_meta)
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
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
            && let Err(m) = confined(base, rel)
        {
            err(key, m);
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
        api,
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
    fn invoice_assets_stay_inside_the_profile_folder() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("plugin-config");
        std::fs::create_dir_all(base.join("assets")).unwrap();
        std::fs::write(base.join("assets/logo.png"), b"png").unwrap();
        std::fs::write(base.join("invoice.typ"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"s3cret").unwrap();
        assert_eq!(confined(&base, Path::new("invoice.typ")), Ok(()));
        assert_eq!(confined(&base, Path::new("assets/logo.png")), Ok(()));
        assert_eq!(confined(&base, Path::new("./assets/logo.png")), Ok(()));
        for outside in ["../secret.txt", "/etc/passwd", "assets/../../secret.txt"] {
            let err = confined(&base, Path::new(outside)).unwrap_err();
            assert!(
                err.contains("inside the profile's folder"),
                "{outside}: {err}"
            );
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), base.join("link.typ"))
                .unwrap();
            let err = confined(&base, Path::new("link.typ")).unwrap_err();
            assert!(err.contains("leads outside"), "{err}");
        }
        assert!(
            confined(&base, Path::new("missing.typ"))
                .unwrap_err()
                .contains("does not exist")
        );
    }

    #[test]
    fn default_country_and_buzzbip_url_are_checked_for_what_they_mean() {
        let errors = profile("woocommerce", "").map(|_| ()).err();
        assert!(errors.is_none(), "{errors:?}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.toml");
        let write = |country: &str, base_url: &str| {
            std::fs::write(
                &file,
                format!(
                    "platform = \"woocommerce\"\nbase_uri = \"https://shop.test\"\n\
                     default_country = \"{country}\"\n[webhook]\nsecrets = [\"s\"]\n\
                     [buzzbip]\nbase_url = \"{base_url}\"\nusername = \"u\"\n\
                     password = \"p\"\napi_key = \"k\"\n[[notify]]\non = \"order.paid\"\n\
                     template_id = 1\n"
                ),
            )
            .unwrap();
            load_file(&file, &|_| None)
        };
        assert!(write("TN", "https://app.buzzbip.com").is_ok());
        assert!(write("TN", "https://app.buzzbip.com/").is_ok());
        let errors = write("XX", "https://app.buzzbip.com").unwrap_err();
        assert_eq!(errors[0].key, "default_country", "{errors:?}");
        let errors = write("TN", "https://app.buzzbip.com/api/").unwrap_err();
        assert_eq!(errors[0].key, "buzzbip.base_url", "{errors:?}");
        assert!(
            errors[0].message.contains("https://app.buzzbip.com"),
            "{errors:?}"
        );
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
