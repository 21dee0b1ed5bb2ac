//! What can go wrong talking to Buzzbip, and whether trying again later can help.

use std::fmt;
use std::time::Duration;

use crate::telemetry::redact_phones;

/// Whether a failed call is worth repeating. The job store's retry policy is built on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later; `retry_after` is Buzzbip's own `Retry-After` when it gave one.
    Transient { retry_after: Option<Duration> },
    /// Trying again cannot succeed until someone changes something.
    Permanent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Login,
    Upload,
    Send,
    DeleteMedia,
    Delivery,
}

impl Endpoint {
    /// A metric label.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Login => "login",
            Endpoint::Upload => "upload",
            Endpoint::Send => "send",
            Endpoint::DeleteMedia => "delete",
            Endpoint::Delivery => "delivery",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Login => "login",
            Endpoint::Upload => "media upload",
            Endpoint::Send => "template send",
            Endpoint::DeleteMedia => "media delete",
            Endpoint::Delivery => "delivery lookup",
        })
    }
}

/// Every body kept here has had phone-like digit runs masked, so the error can be logged and
/// stored as a job's reason as it is.
#[derive(Debug, thiserror::Error)]
pub enum BuzzbipError {
    #[error(
        "Buzzbip base URL {url:?} is not allowed: use https:// (http:// is accepted only for a loopback host)"
    )]
    InsecureBaseUrl { url: String },
    #[error("Buzzbip base URL {url:?} is not a usable URL: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    #[error(
        "Buzzbip refused the login of {account}: wrong username or password (HTTP 401); fix [buzzbip] username/password in the store profile"
    )]
    BadCredentials { account: String, body: String },
    #[error(
        "API access not enabled for this Buzzbip user ({account}): ask Buzzbip to enable API access (hasApiAccess) for it; answer: {body}"
    )]
    NoApiAccess { account: String, body: String },
    #[error(
        "Buzzbip refused the API key of {account} (x-api-key, HTTP 401); fix [buzzbip] api_key in the store profile; answer: {body}"
    )]
    InvalidApiKey { account: String, body: String },
    #[error("the invoice PDF is {size} bytes, over the {limit}-byte upload limit: not uploaded")]
    TooLarge { size: u64, limit: u64 },
    #[error("Buzzbip {endpoint} was rate limited (HTTP {status}{}): {body}", retry_note(*retry_after))]
    RateLimited {
        endpoint: Endpoint,
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    #[error("Buzzbip {endpoint} failed on Buzzbip's side (HTTP {status}{}): {body}", retry_note(*retry_after))]
    Unavailable {
        endpoint: Endpoint,
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    #[error("could not reach Buzzbip for {endpoint}: {detail}")]
    Network { endpoint: Endpoint, detail: String },
    #[error(
        "Buzzbip {endpoint} refused a freshly issued token (HTTP 401); will retry later: {body}"
    )]
    TokenRejected { endpoint: Endpoint, body: String },
    #[error("Buzzbip rejected the {endpoint} (HTTP {status}): {body}")]
    Rejected {
        endpoint: Endpoint,
        status: u16,
        body: String,
    },
    #[error("Buzzbip answered the {endpoint} with HTTP {status} but without {missing}: {body}")]
    Unexpected {
        endpoint: Endpoint,
        status: u16,
        missing: &'static str,
        body: String,
    },
}

fn retry_note(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(", retry after {} s", d.as_secs()),
        None => String::new(),
    }
}

impl From<crate::net::BaseUrlError> for BuzzbipError {
    fn from(e: crate::net::BaseUrlError) -> Self {
        use crate::net::BaseUrlError;
        match e {
            BaseUrlError::Insecure { url } => BuzzbipError::InsecureBaseUrl { url },
            BaseUrlError::Invalid { url, reason } => BuzzbipError::InvalidBaseUrl { url, reason },
        }
    }
}

impl BuzzbipError {
    pub fn class(&self) -> ErrorClass {
        use BuzzbipError::*;
        match self {
            RateLimited { retry_after, .. } | Unavailable { retry_after, .. } => {
                ErrorClass::Transient {
                    retry_after: *retry_after,
                }
            }
            Network { .. } | TokenRejected { .. } => ErrorClass::Transient { retry_after: None },
            InsecureBaseUrl { .. }
            | InvalidBaseUrl { .. }
            | BadCredentials { .. }
            | NoApiAccess { .. }
            | InvalidApiKey { .. }
            | TooLarge { .. }
            | Rejected { .. }
            | Unexpected { .. } => ErrorClass::Permanent,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self.class(), ErrorClass::Transient { .. })
    }

    /// The answer Buzzbip gave (JSend body or text, phones masked), when there was one.
    pub fn body(&self) -> Option<&str> {
        use BuzzbipError::*;
        match self {
            BadCredentials { body, .. }
            | NoApiAccess { body, .. }
            | InvalidApiKey { body, .. }
            | RateLimited { body, .. }
            | Unavailable { body, .. }
            | TokenRejected { body, .. }
            | Rejected { body, .. }
            | Unexpected { body, .. } => Some(body),
            _ => None,
        }
    }

    pub(crate) fn network(endpoint: Endpoint, err: &reqwest::Error) -> Self {
        let mut detail = if err.is_timeout() {
            "timed out".to_owned()
        } else if err.is_connect() {
            "connection failed".to_owned()
        } else {
            "request failed".to_owned()
        };
        let mut source: Option<&dyn std::error::Error> = Some(err);
        while let Some(e) = source {
            detail.push_str(": ");
            detail.push_str(&e.to_string());
            source = e.source();
        }
        BuzzbipError::Network {
            endpoint,
            detail: redact_phones(&detail),
        }
    }
}
