//! The sandbox's data, as its control API serves and takes it (shared with `SandboxControl`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A Buzzbip user: login credentials, the API key its plugin calls must carry, and whether
/// Buzzbip's admin enabled API access for it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub username: String,
    pub password: String,
    pub api_key: String,
    #[serde(default = "yes")]
    pub api_access: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HeaderKind {
    None,
    Text,
    Document,
    Image,
    Video,
}

impl HeaderKind {
    pub fn takes_media(self) -> bool {
        matches!(
            self,
            HeaderKind::Document | HeaderKind::Image | HeaderKind::Video
        )
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum TemplateState {
    Approved,
    Pending,
    Rejected,
    Draft,
}

/// A WhatsApp template as Buzzbip knows it: how many `{{n}}` placeholders its body has, what
/// kind of header, how many dynamic URL buttons, and its review state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: u64,
    #[serde(default)]
    pub name: String,
    pub placeholders: usize,
    pub header: HeaderKind,
    pub state: TemplateState,
    #[serde(default)]
    pub url_buttons: usize,
}

/// Which Buzzbip call a fault applies to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FaultTarget {
    Login,
    Upload,
    Send,
    Delete,
    /// The delivery lookup, `GET /api/whatsapp/`.
    Delivery,
    Any,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// HTTP 429, with `Retry-After` when `retry_after_secs` is set.
    RateLimit { retry_after_secs: Option<u64> },
    /// An HTTP 5xx (500 unless `status` says otherwise).
    ServerError {
        #[serde(default = "default_server_status")]
        status: u16,
    },
    /// HTTP 200 with a JSend `fail`.
    JsendFail { message: String },
    /// HTTP 200 with a JSend `error`.
    JsendError { message: String },
    /// HTTP 401 "Expired JWT Token", whatever token the call carried.
    ExpiredToken,
    /// Waits this long, then answers normally.
    Slow { delay_ms: u64 },
}

fn default_server_status() -> u16 {
    500
}

/// A scripted fault: the next `times` calls to `on` get `kind`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Fault {
    pub on: FaultTarget,
    #[serde(flatten)]
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// The file part of an upload, as received.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileInfo {
    pub field: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub size: u64,
    pub sha256: String,
}

/// One call the sandbox received on its Buzzbip routes (control calls are not recorded).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Call {
    pub seq: u64,
    pub method: String,
    /// The path exactly as requested, trailing slash included.
    pub path: String,
    pub query: String,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The JSON body, when there was one (a login's password is replaced by `[redacted]`).
    pub json: Option<serde_json::Value>,
    pub file: Option<FileInfo>,
    /// The account the call authenticated as, when it did.
    pub account: Option<String>,
    pub status: u16,
    /// When the answer was sent, in ms since the Unix epoch.
    pub at_ms: i64,
}

impl Call {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// An uploaded asset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Media {
    pub id: String,
    pub owner: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub size: u64,
    pub sha256: String,
}

/// How sends move after Buzzbip accepted them: `accepted`, then `sent` after `sent_after_ms`,
/// then `delivered` after `delivered_after_ms` (both counted from the send), except for the
/// numbers in `not_on_whatsapp`, which end `failed` after `sent_after_ms`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    #[serde(default = "default_sent_after")]
    pub sent_after_ms: u64,
    #[serde(default = "default_delivered_after")]
    pub delivered_after_ms: u64,
    /// Numbers (digits, any `+` or spacing ignored) WhatsApp does not know.
    #[serde(default)]
    pub not_on_whatsapp: Vec<String>,
}

fn default_sent_after() -> u64 {
    2000
}

fn default_delivered_after() -> u64 {
    5000
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            sent_after_ms: default_sent_after(),
            delivered_after_ms: default_delivered_after(),
            not_on_whatsapp: Vec::new(),
        }
    }
}

/// A change to [`DeliveryConfig`] through the control API: what is left out stays.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeliveryUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_on_whatsapp: Option<Vec<String>>,
}

/// Where events are posted and the secret they are signed with: for every account, or for one
/// (`account`, which then overrides the sandbox-wide target). A `url` of `null` stops posting.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EventsTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub url: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
}

/// An event the sandbox posted (or is still trying to post), as `GET /_sandbox/events` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PostedEvent {
    /// The event exactly as posted (the signature covers these bytes).
    pub body: String,
    pub event: serde_json::Value,
    pub url: String,
    pub account: String,
    /// The `X-BuzzBip-Signature` sent, when a secret was set.
    pub signature: Option<String>,
    pub attempts: u32,
    /// The last attempt's HTTP status, when it got one.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, when it did.
    pub last_error: Option<String>,
    /// The receiver answered 2xx.
    pub delivered: bool,
    /// Every attempt failed; no more will be made.
    pub gave_up: bool,
}

/// A customer's message to simulate (`POST /_sandbox/inbound`): `account` is the Buzzbip
/// username (or its API key) whose WhatsApp number received it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    pub account: String,
    pub from: String,
    pub body: String,
}
