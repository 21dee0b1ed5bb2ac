//! Store profiles: one `plugin-config/<store_id>.toml` per store, validated as a whole. This
//! module holds what the rest of the crate reads (`Store`, `StoreRegistry`); reading the folder
//! is `load`, the checks a profile must pass are `validate`, and the file as written `profile`.

mod load;
pub mod placeholders;
mod platform_keys;
pub mod profile;
pub mod reload;
mod validate;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::buzzbip::Credentials;
use crate::order::{EventKind, Order};
use crate::platforms::Platform;
use crate::platforms::api::ApiAccess;
pub use load::load_file;
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
    /// `[credit_note]`, resolved: what a refund's document is numbered with.
    pub credit_note: CreditNotes,
    pub rules: Vec<NotifyRule>,
    pub allow_phones: Vec<String>,
    /// `buzzbip.webhook_secret`: verifies the events Buzzbip posts for this store.
    pub buzzbip_webhook_secret: Option<SecretString>,
    pub optout: OptOut,
    /// The platform API access of the platform's own profile section (`[bigcommerce]`,
    /// `[woocommerce]`, `[shopify]`, `[shopware]`): always set for a platform that fetches the
    /// order (`Platform::fetches_order`); where set, message outcomes are written back.
    pub api: Option<ApiAccess>,
    /// `[reconcile]`, resolved (off without the section).
    pub reconcile: profile::reconcile::Reconcile,
}

/// The credit notes of a store (`[credit_note]`): their series' format, its default
/// (`AV-{seq:06}`, with the year under `invoice.reset = "yearly"`) already applied. The series
/// restarts with `invoice.reset`.
#[derive(Debug, Clone)]
pub struct CreditNotes {
    pub number_format: profile::NumberFormat,
    /// `credit_note.filename`, defaulted.
    pub filename: String,
}

/// A store's opt-out words, trimmed and case-folded as a message is before it is compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptOut {
    pub keywords: Vec<String>,
    pub resume_keywords: Vec<String>,
}

/// What a customer's inbound message means for their opt-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOutWord {
    Stop,
    Resume,
}

impl OptOut {
    /// How `text` is compared: trimmed, Unicode lower case.
    pub fn fold(text: &str) -> String {
        text.trim().to_lowercase()
    }

    /// Whether a message, as a whole, is one of the words.
    pub fn word(&self, text: &str) -> Option<OptOutWord> {
        let folded = Self::fold(text);
        if self.keywords.contains(&folded) {
            Some(OptOutWord::Stop)
        } else if self.resume_keywords.contains(&folded) {
            Some(OptOutWord::Resume)
        } else {
            None
        }
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Payment, PaymentKind};

    pub(super) fn profile(platform: &str, extra: &str) -> Result<Store, Vec<ProfileError>> {
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
