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
