//! Downloading the invoice PDF a platform made (`invoice.source = "fetch"`): bounded in time,
//! redirects and size, and the bytes must be a PDF. Errors name the URL without its query, which
//! often carries an access key.

use std::time::Duration;

use reqwest::StatusCode;

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

/// The client fetches go through: its own redirect limit and timeout.
pub fn client(options: &FetchOptions) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::limited(options.max_redirects))
        .user_agent(concat!("shopbip/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| panic!("cannot initialise the HTTP client: {e}"))
}

/// `https://shop.test/path` of a URL, without user info, query or fragment.
pub fn display_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            format!(
                "{}://{}{}",
                u.scheme(),
                u.host_str().unwrap_or(""),
                u.port().map(|p| format!(":{p}")).unwrap_or_default()
            ) + u.path()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or("").to_owned(),
    }
}

pub async fn fetch_pdf(
    client: &reqwest::Client,
    url: &str,
    options: &FetchOptions,
) -> Result<Vec<u8>, FetchError> {
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
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        other => {
            return Err(permanent(format!(
                "{other}:// is not allowed (https, or http to a loopback host)"
            )));
        }
    }
    let response = client.get(parsed).send().await.map_err(|e| {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_redirect() {
            return permanent("too many redirects".into());
        } else {
            "could not connect"
        };
        transient(what.to_owned())
    })?;
    let status = response.status();
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
