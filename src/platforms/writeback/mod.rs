//! Write-back: a message's outcome recorded on the order in the shop, for stores whose profile
//! gives API access to their platform. WooCommerce gets a private order note, Shopify a tag and
//! a line in the order's note, Shopware a tag, BigCommerce a line in the staff notes. Each
//! platform's client is its folder's `api.rs`; this module is their one entry point, the note's
//! text (`note.rs`), the HTTP plumbing they share (one failure classification, bounded
//! answers), and the cursor of the sweep's listings asked by page number (`window.rs`).
//!
//! A write-back failure never fails the message: the caller retries it on its own schedule.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use url::Url;

use super::api::ApiAccess;
use super::{bigcommerce, shopify, shopware, woocommerce};
use crate::net::{display_url, parse_base_url};
use crate::telemetry::redact_phones;

mod note;
mod window;
pub use note::{note_tag, note_text};
pub(super) use window::Window;

/// What is written on the order.
#[derive(Debug, Clone, Copy)]
pub struct Note<'a> {
    /// The note text ([`note_text`]).
    pub text: &'a str,
    /// A tag for platforms that have them (Shopify, Shopware), e.g. `whatsapp-delivered`
    /// ([`note_tag`]).
    pub tag: &'a str,
}

/// Reasons name the platform and the URL without query, never a credential.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteBackError {
    /// Worth trying again: the shop was unreachable, slow, overloaded or rate-limiting
    /// (`retry_after`: when it said to come back).
    #[error("{reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will not work until someone changes something: the reason says what.
    #[error("{0}")]
    Permanent(String),
}

/// Records `note` on order `order_id` of the store whose API access is `access`. Ok(false):
/// this platform has no write-back (Stripe's access is the sweep's only). `client` must not follow redirects
/// (`platforms::api::client`); its timeouts bound every call.
pub async fn write_back(
    client: &reqwest::Client,
    access: &ApiAccess,
    order_id: &str,
    note: &Note<'_>,
) -> Result<bool, WriteBackError> {
    match access {
        ApiAccess::Woocommerce(api) => {
            woocommerce::api::write_back(client, api, order_id, note).await
        }
        ApiAccess::Shopify(api) => shopify::api::write_back(client, api, order_id, note).await,
        ApiAccess::Shopware(api) => shopware::api::write_back(client, api, order_id, note).await,
        ApiAccess::Bigcommerce(api) => {
            bigcommerce::api::write_back(client, api, order_id, note).await
        }
        ApiAccess::Stripe(_) => return Ok(false),
    }
    .map(|()| true)
}

/// `text` on one line (control characters as spaces), trimmed, at most `max` characters.
pub(super) fn one_line(text: &str, max: usize) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    line.trim().to_owned()
}

/// Appends `text` on its own line to a note the merchant may have written (never replaces
/// it); `None` when the note already holds it (a retry after a lost answer).
pub(super) fn appended(existing: &str, text: &str) -> Option<String> {
    if existing.lines().any(|l| l.trim() == text.trim()) {
        return None;
    }
    let existing = existing.trim_end();
    Some(if existing.is_empty() {
        text.to_owned()
    } else {
        format!("{existing}\n{text}")
    })
}

// ---- The HTTP plumbing the platforms' clients share. ----

/// Bigger answers are not a write-back's: refused rather than held in memory.
pub(super) const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// A listing page is bigger than a write-back's answer: 250 BigCommerce orders, or 100
/// WooCommerce orders with their plugins' meta, pass 1 MiB, and a page refused for its size
/// would stop every sweep of the store at the same place.
pub(super) const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// A rate limit's wait is honoured up to this; past it the caller's own schedule decides.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// What a platform's client says when a call fails, so the reason names the fix.
pub(super) struct Fixes {
    /// "WooCommerce".
    pub platform: &'static str,
    /// For 401 and 403: what to check (keys, scopes).
    pub auth: &'static str,
    /// The profile key of the API's base, named when the API redirects or is not found.
    pub base_key: &'static str,
    /// A header giving the rate limit's reset in milliseconds (BigCommerce), read before
    /// `Retry-After`.
    pub reset_ms_header: Option<&'static str>,
}

/// A successful answer.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON; an empty body reads as `null`.
    pub fn json(&self, fixes: &Fixes, url: &Url) -> Result<serde_json::Value, WriteBackError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|_| {
            WriteBackError::Permanent(format!(
                "{}: the answer of {} is not JSON; check {}",
                fixes.platform,
                display_url(url.as_str()),
                fixes.base_key
            ))
        })
    }
}

/// `base` (a profile's API base, checked again by the one URL policy: https, or http to a
/// loopback host) with `segments` appended, each percent-encoded as one path segment: an order
/// id cannot add a segment, a query or another host.
pub(super) fn endpoint(
    base: &str,
    segments: &[&str],
    fixes: &Fixes,
) -> Result<Url, WriteBackError> {
    let refused = || {
        WriteBackError::Permanent(format!(
            "{}: {:?} is not allowed as {}: use an https:// URL without query (http:// only for a loopback host)",
            fixes.platform,
            display_url(base),
            fixes.base_key
        ))
    };
    let mut url = parse_base_url(base).map_err(|_| refused())?;
    url.path_segments_mut()
        .map_err(|()| refused())?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// Sends `request` (to `url`) and reads its answer, bounded; anything but a 2xx is an error,
/// classed: no answer, 408, 429 and 5xx are transient, the rest permanent with the fix.
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    url: &Url,
    fixes: &Fixes,
) -> Result<Answer, WriteBackError> {
    Ok(send_bounded(request, url, fixes, MAX_ANSWER_BYTES).await?)
}

/// Sends `request` (to `url`) and reads its answer, bounded, whatever its status: only no
/// answer (transient) and an oversized success (permanent) are errors.
pub(super) async fn send_raw(
    request: reqwest::RequestBuilder,
    url: &Url,
    fixes: &Fixes,
) -> Result<Answer, WriteBackError> {
    Ok(send_raw_bounded(request, url, fixes, MAX_ANSWER_BYTES).await?)
}

/// [`send`] with answers bounded at `max_bytes`: a listing's page is bigger than a
/// write-back's answer.
pub(super) async fn send_bounded(
    request: reqwest::RequestBuilder,
    url: &Url,
    fixes: &Fixes,
    max_bytes: usize,
) -> Result<Answer, Bounded> {
    Ok(classify(
        send_raw_bounded(request, url, fixes, max_bytes).await?,
        url,
        fixes,
    )?)
}

/// A call of [`send_bounded`] or [`send_raw_bounded`] that failed. `?` turns it into a
/// [`WriteBackError`] (an oversized answer a permanent one) where the caller cannot ask for
/// less.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Bounded {
    /// A successful answer longer than the bound: asking for fewer items may pass. `reason`
    /// names the platform, the URL without query and the bound.
    TooLarge {
        reason: String,
    },
    Failed(WriteBackError),
}

impl From<WriteBackError> for Bounded {
    fn from(e: WriteBackError) -> Bounded {
        Bounded::Failed(e)
    }
}

impl From<Bounded> for WriteBackError {
    fn from(e: Bounded) -> WriteBackError {
        match e {
            Bounded::TooLarge { reason } => WriteBackError::Permanent(reason),
            Bounded::Failed(e) => e,
        }
    }
}

/// [`send_raw`] with answers bounded at `max_bytes`.
pub(super) async fn send_raw_bounded(
    request: reqwest::RequestBuilder,
    url: &Url,
    fixes: &Fixes,
    max_bytes: usize,
) -> Result<Answer, Bounded> {
    let transient = |reason: &str| WriteBackError::Transient {
        reason: format!(
            "{}: {reason} ({})",
            fixes.platform,
            display_url(url.as_str())
        ),
        retry_after: None,
    };
    let mut response = request.send().await.map_err(|e| {
        transient(if e.is_timeout() {
            "timed out"
        } else {
            "could not connect"
        })
    })?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > max_bytes => {
                if status.is_success() {
                    return Err(Bounded::TooLarge {
                        reason: format!(
                            "{}: the answer of {} is over {max_bytes} bytes",
                            fixes.platform,
                            display_url(url.as_str())
                        ),
                    });
                }
                // An error's body is only for its message: what arrived is enough.
                break;
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(_) if status.is_success() => {
                return Err(transient("the connection broke while reading").into());
            }
            Err(_) => break,
        }
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// `answer` if it is a 2xx, else its failure, classed: 408, 429 and 5xx transient, the rest
/// permanent with the fix.
pub(super) fn classify(answer: Answer, url: &Url, fixes: &Fixes) -> Result<Answer, WriteBackError> {
    let Answer {
        status,
        headers,
        body,
    } = &answer;
    if status.is_success() {
        return Ok(answer);
    }
    let shown = display_url(url.as_str());
    let transient = |reason: String, retry_after: Option<Duration>| WriteBackError::Transient {
        reason: format!("{}: {reason} ({shown})", fixes.platform),
        retry_after,
    };
    let said = error_message(body)
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let code = status.as_u16();
    Err(match *status {
        StatusCode::TOO_MANY_REQUESTS => transient(
            format!("HTTP 429 (rate limited){said}"),
            retry_after(headers, fixes.reset_ms_header),
        ),
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
            transient(format!("HTTP {code}{said}"), retry_after(headers, None))
        }
        s if s.is_redirection() => {
            let target = headers
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(|l| format!(" to {}", display_url(l)))
                .unwrap_or_default();
            WriteBackError::Permanent(format!(
                "{}: HTTP {code} from {shown}: the API redirected{target}, which is not followed with the credentials; check {}",
                fixes.platform, fixes.base_key
            ))
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => WriteBackError::Permanent(format!(
            "{}: HTTP {code} from {shown}: {}{said}",
            fixes.platform, fixes.auth
        )),
        StatusCode::NOT_FOUND => WriteBackError::Permanent(format!(
            "{}: HTTP 404 from {shown}: no such order, or the API is not there (check {}){said}",
            fixes.platform, fixes.base_key
        )),
        _ => WriteBackError::Permanent(format!(
            "{}: HTTP {code} from {shown}: the request was refused{said}",
            fixes.platform
        )),
    })
}

/// How long a rate-limited or overloaded API asked to wait: `reset_ms_header` (milliseconds),
/// else `Retry-After` in seconds (`2`, `2.5`) or as an HTTP date; capped.
pub(super) fn retry_after(headers: &HeaderMap, reset_ms_header: Option<&str>) -> Option<Duration> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    let wait = reset_ms_header
        .and_then(|h| text(h)?.parse::<u64>().ok())
        .map(Duration::from_millis)
        .or_else(|| {
            let value = text("retry-after")?;
            if let Ok(secs) = value.parse::<f64>() {
                return (secs.is_finite() && secs >= 0.0)
                    .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
            }
            let at = httpdate::parse_http_date(value).ok()?;
            Some(
                at.duration_since(std::time::SystemTime::now())
                    .unwrap_or_default(),
            )
        })?;
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The platform's own words from an error body (WooCommerce `message`, Shopware
/// `errors[0].detail`, BigCommerce `[0].message` or `title`, Shopify `errors`): one line, at
/// most 200 characters, phones masked. Not the body itself: it may be an HTML page.
fn error_message(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let first = |v: &serde_json::Value| -> Option<String> {
        for key in [
            "message",
            "detail",
            "title",
            "error_description",
            "error",
            "errors",
        ] {
            if let Some(s) = v.get(key).and_then(|m| m.as_str()) {
                return Some(s.to_owned());
            }
        }
        None
    };
    let found = first(&json)
        .or_else(|| json.get(0).and_then(first))
        .or_else(|| json.get("errors").and_then(|e| e.get(0)).and_then(first))?;
    let line = redact_phones(&one_line(&found, 200));
    (!line.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests;
