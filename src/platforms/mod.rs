//! Shop platforms: each verifies its signature over the raw body and parses its payload once
//! into a canonical event, and declares what else it needs ([`Capabilities`]). Each platform
//! is a folder; `TEMPLATE.md` says exactly how to add one.

// The API calls and profile sections use the crate's HTTP client and URL policy, which the
// fuzz crate (`fuzz/`, built with `--cfg fuzzing`) does not compile: it runs the parsers only.
#[cfg(not(fuzzing))]
pub mod api;
pub mod bigcommerce;
mod fields;
mod lenient;
#[cfg(not(fuzzing))]
pub mod profile;
#[cfg(not(fuzzing))]
pub mod reconcile;
pub mod shopify;
pub mod shopware;
pub mod signature;
pub mod standard;
pub mod standard_webhooks;
pub mod stripe;
pub mod woocommerce;
#[cfg(not(fuzzing))]
pub mod writeback;

#[cfg(test)]
mod proptests;

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::order::{EventKind, Order};
pub use fields::unix_rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Woocommerce,
    Shopify,
    Stripe,
    /// Standard Webhooks carrying the canonical order JSON (custom shops, PrestaShop/Magento
    /// modules).
    Standard,
    Shopware,
    Bigcommerce,
}

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::Woocommerce,
        Platform::Shopify,
        Platform::Stripe,
        Platform::Standard,
        Platform::Shopware,
        Platform::Bigcommerce,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Woocommerce => "woocommerce",
            Platform::Shopify => "shopify",
            Platform::Stripe => "stripe",
            Platform::Standard => "standard",
            Platform::Shopware => "shopware",
            Platform::Bigcommerce => "bigcommerce",
        }
    }

    pub fn adapter(self) -> &'static dyn WebhookPlatform {
        match self {
            Platform::Woocommerce => &woocommerce::WooCommerce,
            Platform::Shopify => &shopify::Shopify,
            Platform::Stripe => &stripe::Stripe,
            Platform::Standard => &standard::Standard,
            Platform::Shopware => &shopware::Shopware,
            Platform::Bigcommerce => &bigcommerce::BigCommerce,
        }
    }

    /// What the platform declares about itself (see [`Capabilities`]).
    pub fn capabilities(self) -> &'static Capabilities {
        self.adapter().capabilities()
    }

    /// Whether the platform's events carry the URL of an invoice PDF it made.
    pub fn gives_invoice_url(self) -> bool {
        self.capabilities().invoice_pdf_url.is_some()
    }

    /// Whether the webhook carries only the order's id, so the worker fetches the order from the
    /// platform's API before anything else (never the webhook request: it must answer at once).
    pub fn fetches_order(self) -> bool {
        self.capabilities().fetches_order
    }

    /// The invoice source when the profile names none.
    pub fn default_invoice_source(self) -> &'static str {
        if self.capabilities().fetch_invoice_by_default {
            "fetch"
        } else {
            "generate"
        }
    }

    /// The replay window when the profile sets no `webhook.tolerance_secs`.
    pub fn default_tolerance(self) -> Duration {
        self.capabilities().default_tolerance
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Request headers with case-insensitive lookup, independent of the HTTP library.
#[derive(Debug, Default, Clone)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(mut k, v)| {
                    // In place: HTTP libraries hand names over lower-cased already.
                    k.make_ascii_lowercase();
                    (k, v)
                })
                .collect(),
        )
    }

    /// The first header of any of `names` (several spellings of one header).
    pub fn get(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
        })
    }
}

/// What signature verification concluded.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Signed with one of the store's secrets.
    Signed,
    /// A platform's unsigned liveness ping (WooCommerce's `webhook_id=N`): answer 200, store nothing.
    Ping,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("missing signature header {0}")]
    Missing(&'static str),
    #[error("malformed signature header {0}")]
    Malformed(&'static str),
    #[error("signature does not match any of the store's secrets")]
    Mismatch,
    /// The store has no secret to check this signature with: refused, never let through.
    #[error("the store has no {0} set: everything signed with it is refused until it is")]
    NotConfigured(&'static str),
    #[error("signature timestamp outside the {0} s tolerance")]
    Stale(u64),
    /// The signature matched, but the send time the platform signs inside the body is not
    /// there (Shopware's `timestamp`): no replay window can be applied.
    #[error("the signed body has no numeric `{0}` field (the send time it must carry)")]
    MissingBodyField(&'static str),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Invalid(String),
}

/// A verified, parsed webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalEvent {
    /// The platform's delivery or event id, or a hash of the body where the platform's id is
    /// not stable (`sha256:<hex>`, or for WooCommerce the verified `hmac-sha256:<hex>`
    /// signature); WooCommerce and Shopify prefix it with the order id (see
    /// [`topic_delivery_key`]).
    pub delivery_key: String,
    /// The platform's own name for the event (e.g. `orders/paid`).
    pub topic: String,
    /// What the delivery means, the topic's own event first: one delivery can mean several
    /// (a WooCommerce `order.created` already paid is also `order.paid`). Never empty, no
    /// repeats; dedupe by meaning (one job per store, order, event and rule) keeps an event
    /// implied by two deliveries from being sent twice.
    pub kinds: Vec<EventKind>,
    pub order: Order,
}

impl CanonicalEvent {
    /// The event the topic itself names (stored on the event row).
    pub fn kind(&self) -> EventKind {
        self.kinds[0]
    }
}

/// `first`, then each of `also` that holds and is not there yet.
pub(crate) fn kinds(first: EventKind, also: &[(bool, EventKind)]) -> Vec<EventKind> {
    let mut kinds = vec![first];
    for &(holds, kind) in also {
        if holds && !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Event(Box<CanonicalEvent>),
    /// Verified, but nothing any rule could use (an unknown topic, an update that changes
    /// nothing we send for): acknowledged with 200 and not stored.
    Ignored {
        topic: String,
        reason: String,
    },
}

/// A verified body that names no event at all.
pub(crate) fn not_an_event(what: &str) -> Parsed {
    Parsed::Ignored {
        topic: String::new(),
        reason: format!("{what}: not an event shopbip uses"),
    }
}

/// The replay window of platforms that sign a timestamp, as their own SDKs default to.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// How a platform signs its webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureScheme {
    /// Base64 HMAC-SHA256 of the raw body in a header, no send time signed (WooCommerce,
    /// Shopify): replays are caught by the delivery key alone.
    Base64BodyHmac,
    /// Hex HMAC-SHA256 of the raw body; the send time is a field of the signed body
    /// (Shopware).
    HexBodyHmacWithBodyTime,
    /// `Stripe-Signature: t=…,v1=…` over `t.body`.
    Stripe,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    StandardWebhooks,
}

impl SignatureScheme {
    /// Whether a send time is signed, so `webhook.tolerance_secs` applies.
    pub fn signs_send_time(self) -> bool {
        !matches!(self, SignatureScheme::Base64BodyHmac)
    }
}

/// The form a store's `webhook.secrets` must take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretForm {
    /// Any non-empty text: it is the HMAC key as written.
    AsWritten,
    /// A Standard Webhooks key in `form`; `problem` tells the merchant what is wrong with one
    /// that does not read (an unusable secret would fail every delivery with 401 instead).
    Key {
        form: standard_webhooks::KeyForm,
        problem: &'static str,
    },
}

/// How [`CanonicalEvent::delivery_key`] is made, so a redelivery gets the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKeyRule {
    /// `<order id>/<topic>/<webhook id or body hash>` ([`topic_delivery_key`]): the platform's
    /// ids are not stable across retries (WooCommerce, Shopify).
    OrderTopicBody,
    /// The platform's event id, signed (Stripe's event `id`; Shopware's `source.eventId`, then
    /// its header, then the body hash for shops that send none).
    EventId,
    /// The Standard Webhooks `webhook-id` header, which is signed.
    WebhookIdHeader,
}

/// What a platform declares about itself; callers ask this instead of matching on
/// [`Platform`].
#[derive(Debug)]
pub struct Capabilities {
    pub signature: SignatureScheme,
    /// The replay window when the profile sets no `webhook.tolerance_secs` (only read where
    /// [`SignatureScheme::signs_send_time`]).
    pub default_tolerance: Duration,
    pub secret_form: SecretForm,
    /// Where the platform's events carry the URL of an invoice PDF it made (shown by
    /// `shopbip check`); `None`: they carry none, so `invoice.source = "fetch"` needs a
    /// `fetch_url`.
    pub invoice_pdf_url: Option<&'static str>,
    /// The platform makes the invoice, so its PDF is the one to send unless the profile says
    /// otherwise.
    pub fetch_invoice_by_default: bool,
    /// The webhook carries only the order's id: the worker fetches the order from the
    /// platform's API (`<platform>/api.rs`) with the store's `[<platform>]` section.
    pub fetches_order: bool,
    /// Orders carry meta where invoice plugins keep a number (`invoice.number_meta_keys`).
    pub order_meta: bool,
    pub delivery_key: DeliveryKeyRule,
}

/// One shop platform's webhook format.
pub trait WebhookPlatform: Sync {
    /// What the platform declares about itself: one `const` in its `mod.rs`.
    fn capabilities(&self) -> &'static Capabilities;

    /// Checks the signature over the raw bytes against every configured secret; platforms that
    /// sign a send time also refuse one outside `tolerance` (the store's
    /// `webhook.tolerance_secs`, by default [`Platform::default_tolerance`]).
    fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        secrets: &[SecretString],
        tolerance: Duration,
    ) -> Result<Verified, VerifyError>;

    /// Parses a verified body, once, into the canonical event.
    fn parse(&self, headers: &Headers, body: &[u8]) -> Result<Parsed, ParseError>;

    /// Reads a saved order payload (no headers, no signature): `shopbip invoice` previews.
    fn parse_order(&self, body: &[u8]) -> Result<Order, ParseError>;

    /// The invoice number another invoice plugin wrote into the order under one of a store's
    /// own `invoice.number_meta_keys`, for platforms whose orders carry such meta.
    fn invoice_number(&self, _body: &[u8], _keys: &[String]) -> Option<String> {
        None
    }
}

/// Parses a webhook body. A body that is UTF-8 throughout (as JSON should be) is checked once,
/// up front, so the parser need not check again every string it reads (a sixth of parsing a
/// 5.9 KB order). Any other body is parsed as before, checking only the strings it reads: bad
/// bytes in a field nobody reads do not get a webhook refused.
pub(crate) fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ParseError> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
    .map_err(|e| ParseError::Json(e.to_string()))
}

/// `<order id>/<topic>/<key>`: the same delivery still gives the same key (the order id comes
/// from the signed body), but one store's keys now sort by order, so the unique index on them
/// grows at its end instead of at a random page per webhook. Measured: 27 KB → 15.5 KB written
/// per stored webhook, +14 % ingestion throughput (BENCHMARKS.md). The topic is in it because
/// platforms that identify a delivery by its body send byte-identical bodies under two topics
/// (WooCommerce's `order.created` and the `order.updated` right after it): two deliveries.
pub(crate) fn topic_delivery_key(order_id: &str, topic: &str, key: &str) -> String {
    format!("{order_id}/{topic}/{key}")
}

pub(crate) fn body_hash_key(body: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse_whether_or_not_they_are_utf8_throughout() {
        #[derive(Debug, Deserialize)]
        struct Probe {
            name: String,
        }
        let ok: Probe = json(r#"{"name":"أميرة \u00e9"}"#.as_bytes()).unwrap();
        assert_eq!(ok.name, "أميرة é");
        // Bad bytes in a field nobody reads: still parsed, as before the up-front check.
        let skipped: Probe = json(b"{\"name\":\"a\",\"x\":\"\xc3\"}").unwrap();
        assert_eq!(skipped.name, "a");
        // In a field that is read: refused.
        assert!(matches!(
            json::<Probe>(b"{\"name\":\"\xff\"}"),
            Err(ParseError::Json(_))
        ));
        assert!(matches!(
            json::<Probe>(b"{\"name\":"),
            Err(ParseError::Json(_))
        ));
    }
}
