//! Downloading the invoice PDF a platform made (`invoice.source = "fetch"`): bounded in time,
//! redirects and size, and the bytes must be a PDF. Errors name the URL without its query, which
//! often carries an access key.

use std::time::Duration;

use reqwest::StatusCode;

pub use crate::net::display_url;
use crate::net::{CheckedResolver, UrlPolicy};
use crate::order::Order;
use crate::stores::{Store, placeholders};

pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub timeout: Duration,
    pub max_redirects: usize,
    pub max_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_redirects: 5,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// Worth trying again later: the server or the network failed, not the document.
    #[error("fetching the invoice PDF from {url} failed: {reason}")]
    Transient { url: String, reason: String },
    /// The answer is not a usable PDF; trying again will not change that.
    #[error("the invoice PDF from {url} was refused: {reason}")]
    Permanent { url: String, reason: String },
}

impl FetchError {
    pub fn is_transient(&self) -> bool {
        matches!(self, FetchError::Transient { .. })
    }
}

/// The client fetches go through: its own timeout, and the URL policy on every redirect hop
/// and every address a host name resolves to (`crate::net`).
pub fn client(options: &FetchOptions, policy: UrlPolicy) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout.min(Duration::from_secs(10)))
        .redirect(crate::net::redirects(policy, options.max_redirects))
        .dns_resolver(CheckedResolver(policy))
        // A proxy from HTTPS_PROXY would resolve names itself, out of the policy's sight.
        .no_proxy()
        .user_agent(concat!("shopbip/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| panic!("cannot initialise the HTTP client: {e}"))
}

/// The clients of both policies a store can choose (`invoice.fetch_allow_private`).
#[derive(Debug, Clone)]
pub struct FetchClients {
    pub public: reqwest::Client,
    pub private: reqwest::Client,
}

impl FetchClients {
    pub fn new(options: &FetchOptions) -> Self {
        Self {
            public: client(options, UrlPolicy::default()),
            private: client(
                options,
                UrlPolicy {
                    allow_private: true,
                },
            ),
        }
    }

    pub fn for_policy(&self, policy: UrlPolicy) -> &reqwest::Client {
        if policy.allow_private {
            &self.private
        } else {
            &self.public
        }
    }
}

/// An error and its causes, one line: reqwest's own message hides why a redirect or a
/// connection was refused.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Why a store fetching its invoices has nothing to fetch for an order.
pub const NO_FETCH_URL: &str =
    "invoice.source is \"fetch\" but the order carries no invoice PDF URL";

/// Where a store that fetches its invoices (`invoice.source = "fetch"`) gets an order's PDF:
/// its `invoice.fetch_url` with the order's values filled in (percent-encoded), else the URL
/// the platform's payload carried. One function for the worker and the console's re-fetch, so
/// both fetch the same document.
pub fn source_url(store: &Store, order: &Order, number: &str) -> Option<String> {
    match &store.invoice.fetch_url {
        Some(url) => {
            let context = placeholders::Context {
                store_id: store.id.as_str(),
                order,
                invoice_number: Some(number),
            };
            Some(placeholders::render(url, &context, |s| {
                url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
            }))
        }
        None => order.invoice_url.clone(),
    }
}

/// The URL policy a store's invoice fetches go through.
pub fn policy(store: &Store) -> UrlPolicy {
    UrlPolicy {
        allow_private: store.invoice.fetch_allow_private,
    }
}

pub async fn fetch_pdf(
    clients: &FetchClients,
    policy: UrlPolicy,
    url: &str,
    options: &FetchOptions,
) -> Result<Vec<u8>, FetchError> {
    let client = clients.for_policy(policy);
    let shown = display_url(url);
    let transient = |reason: String| FetchError::Transient {
        url: shown.clone(),
        reason,
    };
    let permanent = |reason: String| FetchError::Permanent {
        url: shown.clone(),
        reason,
    };
    let parsed = url::Url::parse(url).map_err(|e| permanent(format!("not a URL: {e}")))?;
    policy.check_url(&parsed).map_err(permanent)?;
    let response = client.get(parsed).send().await.map_err(|e| {
        // Without the URL: its query often carries an access key.
        let e = e.without_url();
        let why = chain(&e);
        if e.is_redirect() {
            // Refused by the policy, or too many hops: the same answer next time.
            return permanent(why);
        }
        if why.contains(crate::net::REFUSED) {
            return permanent(why);
        }
        transient(if e.is_timeout() {
            "timed out".to_owned()
        } else {
            "could not connect".to_owned()
        })
    })?;
    let status = response.status();
    if status.is_redirection() {
        // A redirect the client did not follow: one to a scheme it does not speak (file://,
        // ftp://), which the policy refuses as it would any other hop.
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| response.url().join(l).ok());
        let why = match &location {
            Some(to) => match policy.check_url(to) {
                Err(why) => format!(
                    "a redirect to {} was refused: {why}",
                    display_url(to.as_str())
                ),
                Ok(()) => format!("HTTP {} not followed", status.as_u16()),
            },
            None => format!("HTTP {} without a usable Location", status.as_u16()),
        };
        return Err(permanent(why));
    }
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        return Err(transient(format!("HTTP {}", status.as_u16())));
    }
    if !status.is_success() {
        return Err(permanent(format!("HTTP {}", status.as_u16())));
    }
    let limit = options.max_bytes;
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(permanent(format!("larger than the {limit}-byte limit")));
    }
    let html_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    let mut body = Vec::new();
    let mut response = response;
    loop {
        let chunk = response.chunk().await.map_err(|e| {
            transient(if e.is_timeout() {
                "timed out while downloading".into()
            } else {
                "the connection broke while downloading".into()
            })
        })?;
        let Some(chunk) = chunk else { break };
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(permanent(format!("larger than the {limit}-byte limit")));
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(permanent("the answer is empty".into()));
    }
    if !body.starts_with(b"%PDF-") {
        let start = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
        let reason = if html_type || start.trim_start().starts_with('<') {
            "the answer is an HTML page, not a PDF (a login page? check the access key and the PDF plugin's access setting)"
        } else {
            "the answer is not a PDF (it does not start with %PDF-)"
        };
        return Err(permanent(reason.into()));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_url_drops_query_and_credentials() {
        assert_eq!(
            display_url(
                "https://user:pw@shop.test:8443/wp-admin/admin-ajax.php?access_key=s3cret#x"
            ),
            "https://shop.test:8443/wp-admin/admin-ajax.php"
        );
    }
}
