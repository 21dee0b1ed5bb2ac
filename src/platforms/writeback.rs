//! Write-back: a message's outcome recorded on the order in the shop, for stores whose profile
//! gives API access to their platform. WooCommerce gets a private order note, Shopify a tag and
//! a line in the order's note, Shopware a tag, BigCommerce a line in the staff notes. Each
//! platform's client is its folder's `api.rs`; this file is their one entry point, the note's
//! text, and the HTTP plumbing they share (one failure classification, bounded answers).
//!
//! A write-back failure never fails the message: the caller retries it on its own schedule.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use url::Url;

use super::api::ApiAccess;
use super::{bigcommerce, shopify, shopware, unix_rfc3339, woocommerce};
use crate::net::{display_url, parse_base_url};
use crate::telemetry::redact_phones;

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

/// The tag for a message whose final delivery state is `delivery` (`delivered`, `read`,
/// `failed`; `None`: sent, delivery unknown): `whatsapp-delivered`, `whatsapp-sent`.
pub fn note_tag(delivery: Option<&str>) -> String {
    let state: String = delivery
        .unwrap_or("sent")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(24)
        .collect::<String>()
        .to_ascii_lowercase();
    format!(
        "whatsapp-{}",
        if state.is_empty() { "sent" } else { &state }
    )
}

/// The note text, in the store's language (`invoice.language`: en, fr, ar; anything else reads
/// as en): "WhatsApp invoice INV-000123 sent 14:02 UTC · delivered 14:03 UTC". Without an
/// invoice number it speaks of a message. `delivery` is the final delivery state's name
/// (`delivered`, `read`, `failed`, or another state's name as Buzzbip gave it; `None` when
/// unknown), its time in Unix milliseconds and, for `failed`, the reason (phones in it masked).
/// A delivery on another day than the send carries its date.
pub fn note_text(
    language: &str,
    invoice_number: Option<&str>,
    sent_at_ms: i64,
    delivery: Option<(&str, i64, Option<&str>)>,
) -> String {
    let lang = Lang::of(language);
    let sent = utc(sent_at_ms);
    let number = invoice_number
        .map(|n| one_line(n, 64))
        .filter(|n| !n.is_empty());
    let invoice = number.is_some();
    let n = number.unwrap_or_default();
    let mut text = match (lang, invoice) {
        (Lang::En, true) => format!("WhatsApp invoice {n} sent {}", lang.at(&sent, None)),
        (Lang::En, false) => format!("WhatsApp message sent {}", lang.at(&sent, None)),
        (Lang::Fr, true) => format!("Facture WhatsApp {n} envoyée {}", lang.at(&sent, None)),
        (Lang::Fr, false) => format!("Message WhatsApp envoyé {}", lang.at(&sent, None)),
        (Lang::Ar, true) => format!("أرسلت فاتورة واتساب {n} {}", lang.at(&sent, None)),
        (Lang::Ar, false) => format!("أرسلت رسالة واتساب {}", lang.at(&sent, None)),
    };
    let Some((state, at_ms, reason)) = delivery else {
        return text;
    };
    let at = lang.at(&utc(at_ms), Some(&sent.0));
    let state = one_line(state, 32).to_ascii_lowercase();
    // French agrees with the noun: une facture remise, un message remis.
    let fem = invoice;
    let part = match (lang, state.as_str()) {
        (Lang::En, "delivered" | "read" | "failed") => format!("{state} {at}"),
        (Lang::Fr, "delivered") => format!("{} {at}", if fem { "remise" } else { "remis" }),
        (Lang::Fr, "read") => format!("{} {at}", if fem { "lue" } else { "lu" }),
        (Lang::Fr, "failed") => format!("échec {at}"),
        (Lang::Ar, "delivered") => format!("سلمت {at}"),
        (Lang::Ar, "read") => format!("قرئت {at}"),
        (Lang::Ar, "failed") => format!("فشل التسليم {at}"),
        (_, other) => format!("{other} {at}"),
    };
    text.push_str(" · ");
    text.push_str(&part);
    if state == "failed"
        && let Some(reason) = reason.map(|r| redact_phones(&one_line(r, 300)))
        && !reason.is_empty()
    {
        text.push_str(if lang == Lang::Fr { " : " } else { ": " });
        text.push_str(&reason);
    }
    text
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Fr,
    Ar,
}

impl Lang {
    fn of(language: &str) -> Lang {
        match language.trim().to_ascii_lowercase().as_str() {
            "fr" => Lang::Fr,
            "ar" => Lang::Ar,
            _ => Lang::En,
        }
    }

    /// "14:02 UTC" / "à 14:02 UTC" / "الساعة 14:02 UTC", with the date when it is not
    /// `same_day`'s.
    fn at(self, (day, time): &(String, String), same_day: Option<&String>) -> String {
        let dated = same_day.is_some_and(|d| d != day);
        match (self, dated) {
            (Lang::En, false) => format!("{time} UTC"),
            (Lang::En, true) => format!("{day} {time} UTC"),
            (Lang::Fr, false) => format!("à {time} UTC"),
            (Lang::Fr, true) => format!("le {day} à {time} UTC"),
            (Lang::Ar, false) => format!("الساعة {time} UTC"),
            (Lang::Ar, true) => format!("يوم {day} الساعة {time} UTC"),
        }
    }
}

/// (`2026-12-03`, `14:02`) of Unix milliseconds.
fn utc(ms: i64) -> (String, String) {
    let t = unix_rfc3339(ms.div_euclid(1000));
    match t.split_once('T') {
        Some((day, time)) => (day.to_owned(), time.get(..5).unwrap_or(time).to_owned()),
        None => (t, String::new()),
    }
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

// ---- The cursor of the listings asked by page number (WooCommerce, BigCommerce). ----

/// Where a sweep's listing is, over a list sorted by modification time and asked by page
/// number. Page numbers alone lose orders: one that changes during the sweep moves to the
/// end, every later order shifts back one place, and the first of the next page is never
/// listed (and the watermark may pass it for good). So after a page the listing starts a new
/// window at that page's newest change, page 1 of it; the orders of that second already
/// listed are named in the cursor and left out when listed again. Only when a whole page
/// shares the window's first second (more orders changed in one second than a page holds)
/// does it go on by page number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Window {
    /// The first second listed (Unix seconds): changes at or after it.
    pub from: i64,
    /// The page within the window, from 1.
    pub page: u64,
    /// Orders (ids of digits) changed within `from` that the page before listed.
    pub listed: Vec<String>,
}

impl Window {
    /// `cursor` as [`Window::text`] wrote it; `None`: page 1 from `since` (Unix ms, rounded
    /// down to its second, so nothing changed within it is left out).
    pub fn parse(
        cursor: Option<&str>,
        since: i64,
        fixes: &Fixes,
    ) -> Result<Window, WriteBackError> {
        let Some(text) = cursor else {
            return Ok(Window {
                from: since.div_euclid(1000),
                page: 1,
                listed: Vec::new(),
            });
        };
        let mut parts = text.splitn(3, ':');
        let from = parts.next().and_then(|f| f.parse().ok());
        let page = parts
            .next()
            .and_then(|p| p.parse().ok())
            .filter(|p| *p >= 1);
        let listed: Option<Vec<String>> = match parts.next() {
            None => Some(Vec::new()),
            Some(ids) => ids
                .split(',')
                .map(|id| is_digits(id).then(|| id.to_owned()))
                .collect(),
        };
        match (from, page, listed) {
            (Some(from), Some(page), Some(listed)) => Ok(Window { from, page, listed }),
            _ => Err(WriteBackError::Permanent(format!(
                "{}: {:?} is not a listing cursor",
                fixes.platform,
                one_line(text, 40)
            ))),
        }
    }

    pub fn text(&self) -> String {
        if self.listed.is_empty() {
            format!("{}:{}", self.from, self.page)
        } else {
            format!("{}:{}:{}", self.from, self.page, self.listed.join(","))
        }
    }

    /// Whether order `id`, changed at `changed_at` (Unix ms), was listed on the page before:
    /// the boundary second listed again. An order changed since is not.
    pub fn listed_before(&self, id: &str, changed_at: Option<i64>) -> bool {
        self.page == 1
            && changed_at.is_some_and(|ms| ms.div_euclid(1000) == self.from)
            && self.listed.iter().any(|l| l == id)
    }

    /// Where to go after this page, which listed `changes` (each order's id and change time,
    /// Unix ms); `more`: the platform has more after it. `None`: this was the last page.
    pub fn next(&self, changes: &[(String, Option<i64>)], more: bool) -> Option<Window> {
        if !more {
            return None;
        }
        let second = |at: &Option<i64>| at.map(|ms| ms.div_euclid(1000));
        Some(
            match changes.iter().filter_map(|(_, at)| second(at)).max() {
                Some(newest) if newest > self.from => Window {
                    from: newest,
                    page: 1,
                    listed: changes
                        .iter()
                        .filter(|(id, at)| second(at) == Some(newest) && is_digits(id))
                        .map(|(id, _)| id.clone())
                        .collect(),
                },
                // The whole page within the window's first second (or without times): a new
                // window would list it again, so the next page of this one.
                _ => Window {
                    from: self.from,
                    page: self.page.saturating_add(1),
                    listed: Vec::new(),
                },
            },
        )
    }
}

fn is_digits(id: &str) -> bool {
    !id.is_empty() && id.len() <= 24 && id.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-03 14:02:30 UTC.
    const SENT: i64 = 1_796_306_550_000;
    const MIN: i64 = 60_000;

    #[test]
    fn the_note_reads_in_english_with_the_invoice_and_the_delivery() {
        assert_eq!(utc(SENT), ("2026-12-03".into(), "14:02".into()));
        assert_eq!(
            note_text(
                "en",
                Some("INV-000123"),
                SENT,
                Some(("delivered", SENT + MIN, None))
            ),
            "WhatsApp invoice INV-000123 sent 14:02 UTC · delivered 14:03 UTC"
        );
        assert_eq!(
            note_text("en", None, SENT, None),
            "WhatsApp message sent 14:02 UTC"
        );
        assert_eq!(
            note_text(
                "en",
                Some(" "),
                SENT,
                Some(("read", SENT + 24 * 60 * MIN, None))
            ),
            "WhatsApp message sent 14:02 UTC · read 2026-12-04 14:02 UTC"
        );
        assert_eq!(
            note_text(
                "xx",
                Some("7"),
                SENT,
                Some((
                    "failed",
                    SENT + MIN,
                    Some("+216 96 816 277 is not on WhatsApp\n")
                ))
            ),
            "WhatsApp invoice 7 sent 14:02 UTC · failed 14:03 UTC: +216•••••277 is not on WhatsApp"
        );
    }

    #[test]
    fn the_note_reads_in_french_agreeing_with_the_noun() {
        assert_eq!(
            note_text(
                "fr",
                Some("INV-000123"),
                SENT,
                Some(("delivered", SENT + MIN, None))
            ),
            "Facture WhatsApp INV-000123 envoyée à 14:02 UTC · remise à 14:03 UTC"
        );
        assert_eq!(
            note_text("fr", None, SENT, Some(("read", SENT + MIN, None))),
            "Message WhatsApp envoyé à 14:02 UTC · lu à 14:03 UTC"
        );
        assert_eq!(
            note_text(
                "fr",
                Some("F-9"),
                SENT,
                Some((
                    "failed",
                    SENT + 11 * 60 * MIN,
                    Some("number 21696816277 unknown")
                ))
            ),
            "Facture WhatsApp F-9 envoyée à 14:02 UTC · échec le 2026-12-04 à 01:02 UTC : number 216•••••277 unknown"
        );
    }

    #[test]
    fn the_note_reads_in_arabic() {
        assert_eq!(
            note_text(
                "ar",
                Some("INV-000123"),
                SENT,
                Some(("delivered", SENT + MIN, None))
            ),
            "أرسلت فاتورة واتساب INV-000123 الساعة 14:02 UTC · سلمت الساعة 14:03 UTC"
        );
        assert_eq!(
            note_text(
                "ar",
                None,
                SENT,
                Some(("failed", SENT + MIN, Some("blocked")))
            ),
            "أرسلت رسالة واتساب الساعة 14:02 UTC · فشل التسليم الساعة 14:03 UTC: blocked"
        );
    }

    #[test]
    fn odd_states_and_times_do_not_panic_or_break_the_line() {
        let text = note_text(
            "en",
            Some("A\r\nB"),
            i64::MIN,
            Some(("some\nstate", i64::MAX, Some("x"))),
        );
        assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
        assert!(text.contains("some state"), "{text}");
        assert!(!text.contains(": x"), "a reason only for failed: {text}");
        assert_eq!(note_tag(Some("delivered")), "whatsapp-delivered");
        assert_eq!(note_tag(None), "whatsapp-sent");
        assert_eq!(note_tag(Some("!!")), "whatsapp-sent");
    }

    #[test]
    fn a_note_is_appended_once() {
        assert_eq!(appended("", "a").as_deref(), Some("a"));
        assert_eq!(
            appended("gift wrap\n", "a").as_deref(),
            Some("gift wrap\na")
        );
        assert_eq!(appended("gift wrap\na", "a"), None);
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_reset_headers_capped() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, None), None);
        h.insert("retry-after", "2.5".parse().unwrap());
        assert_eq!(retry_after(&h, None), Some(Duration::from_millis(2500)));
        h.insert("retry-after", "99999999999999".parse().unwrap());
        assert_eq!(retry_after(&h, None), Some(MAX_RETRY_AFTER));
        h.insert("retry-after", "-1".parse().unwrap());
        assert_eq!(retry_after(&h, None), None);
        h.insert("x-reset", "1500".parse().unwrap());
        assert_eq!(
            retry_after(&h, Some("x-reset")),
            Some(Duration::from_millis(1500))
        );
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        h.insert(
            "retry-after",
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let wait = retry_after(&h, None).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
    }

    /// A loopback server answering every connection with `status` and `len` bytes of body.
    async fn answering(status: u16, len: usize) -> Url {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&vec![b' '; len]).await;
            }
        });
        Url::parse(&format!("http://{at}/orders?page=2")).unwrap()
    }

    #[tokio::test]
    async fn an_oversized_success_is_told_apart_and_an_errors_body_cut() {
        let fixes = Fixes {
            platform: "X",
            auth: "",
            base_key: "x.api_base_url",
            reset_ms_header: None,
        };
        let client = super::super::api::client(Duration::from_secs(5));
        let big = answering(200, 3000).await;
        let err = send_raw_bounded(client.get(big.clone()), &big, &fixes, 1000)
            .await
            .err()
            .unwrap();
        let Bounded::TooLarge { reason } = &err else {
            panic!("{err:?}")
        };
        let reason = reason.clone();
        assert!(reason.contains("over 1000 bytes"), "{reason}");
        assert!(!reason.contains("page=2"), "no query shown: {reason}");
        // Through `?` into the write-back's error: permanent, the same words.
        assert_eq!(WriteBackError::from(err), WriteBackError::Permanent(reason));
        let whole = send_bounded(client.get(big.clone()), &big, &fixes, 4000)
            .await
            .unwrap();
        assert_eq!(whole.body.len(), 3000);
        // An error's body is only read for its message: cut, never refused for its size.
        let failing = answering(503, 3000).await;
        let answer = send_raw_bounded(client.get(failing.clone()), &failing, &fixes, 1000)
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(answer.body.len() <= 1000);
        assert!(matches!(
            send_bounded(client.get(failing.clone()), &failing, &fixes, 1000).await,
            Err(Bounded::Failed(WriteBackError::Transient { .. }))
        ));
    }

    /// A listing as the platforms give it: the orders changed at or after `from` (seconds),
    /// oldest change first, `per_page` a page; and whether there are more.
    fn listed(orders: &[(u32, i64)], w: &Window, per_page: usize) -> (Vec<(u32, i64)>, bool) {
        let mut all: Vec<(u32, i64)> = orders
            .iter()
            .copied()
            .filter(|(_, ms)| ms.div_euclid(1000) >= w.from)
            .collect();
        all.sort_by_key(|(_, ms)| *ms);
        let skip = (w.page as usize - 1) * per_page;
        let page: Vec<(u32, i64)> = all.iter().copied().skip(skip).take(per_page).collect();
        (page, all.len() > skip + per_page)
    }

    const X: Fixes = Fixes {
        platform: "X",
        auth: "",
        base_key: "x.api_base_url",
        reset_ms_header: None,
    };

    fn changes(list: &[(&str, i64)]) -> Vec<(String, Option<i64>)> {
        list.iter()
            .map(|(id, at)| (id.to_string(), Some(*at)))
            .collect()
    }

    fn window(from: i64, page: u64, listed: &[&str]) -> Window {
        Window {
            from,
            page,
            listed: listed.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_window_moves_to_each_pages_newest_change() {
        let first = Window::parse(None, 1_000_999, &X).unwrap();
        assert_eq!(first, window(1000, 1, &[]));
        // A page ending at 1010.5 s: page 1 of the window from 1010 s, naming the orders of
        // that second already listed.
        let page = changes(&[("7", 1_005_000), ("8", 1_010_100), ("9", 1_010_500)]);
        let next = first.next(&page, true).unwrap();
        assert_eq!(next, window(1010, 1, &["8", "9"]));
        assert!(next.listed_before("9", Some(1_010_500)));
        assert!(!next.listed_before("9", Some(1_011_000)), "changed since");
        assert!(!next.listed_before("10", Some(1_010_500)));
        // The last page ends the listing, wherever the window is.
        assert_eq!(first.next(&page, false), None);
        // A whole page in the window's first second: the next page of the same window.
        let bulk = next.next(&changes(&[("10", 1_010_700), ("11", 1_010_999)]), true);
        assert_eq!(bulk, Some(window(1010, 2, &[])));
        assert_eq!(
            window(1010, 2, &[]).next(&[("#1".into(), None)], true),
            Some(window(1010, 3, &[]))
        );
        assert!(!window(1010, 2, &["8"]).listed_before("8", Some(1_010_100)));
        // Then on again as soon as a page reaches a later second.
        assert_eq!(
            window(1010, 3, &[]).next(&changes(&[("12", 1_011_000)]), true),
            Some(window(1011, 1, &["12"]))
        );
    }

    #[test]
    fn the_cursor_is_written_and_read_back_and_nothing_else_reads() {
        for w in [
            window(-5, 7, &[]),
            window(1_764_064_800, 1, &["727", "728"]),
        ] {
            assert_eq!(Window::parse(Some(&w.text()), 0, &X), Ok(w));
        }
        assert_eq!(Window::parse(Some("1764064800:2"), 0, &X).unwrap().page, 2);
        for bad in [
            "", "2", "a:1", "1:0", "1:-1", "1:x", "1:2:", "1:2:x", "1:1:3,,4",
        ] {
            assert!(
                matches!(
                    Window::parse(Some(bad), 0, &X),
                    Err(WriteBackError::Permanent(_))
                ),
                "{bad}"
            );
        }
    }

    /// Every order is listed, and once, though one of the first page changes (moves to the
    /// end) between the first page and the second, and a bulk edit fills more than a page in
    /// one second.
    #[test]
    fn an_order_changed_during_the_listing_shifts_nothing_out() {
        let start: Vec<(u32, i64)> = (1..=9).map(|n| (n, 1_000_000 + n as i64 * 1000)).collect();
        let mut orders = start.clone();
        // 10..=16 changed in the same second, 17 after.
        orders.extend((10..=16).map(|n| (n, 1_020_000 + n as i64)));
        orders.push((17, 1_030_000));
        let mut seen = Vec::new();
        let mut w = Window::parse(None, 1_000_000, &X).unwrap();
        let mut pages = 0;
        loop {
            let (page, more) = listed(&orders, &w, 3);
            pages += 1;
            assert!(pages < 50, "the listing must end");
            let page: Vec<(String, Option<i64>)> = page
                .iter()
                .map(|(id, at)| (id.to_string(), Some(*at)))
                .collect();
            seen.extend(
                page.iter()
                    .filter(|(id, at)| !w.listed_before(id, *at))
                    .map(|(id, at)| (id.parse::<u32>().unwrap(), at.unwrap())),
            );
            if pages == 1 {
                // Order 2 is paid meanwhile: it moves to the end.
                orders.iter_mut().find(|o| o.0 == 2).unwrap().1 = 1_040_000;
            }
            match w.next(&page, more) {
                Some(next) => w = next,
                None => break,
            }
        }
        let ids: std::collections::BTreeSet<u32> = seen.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, (1..=17).collect(), "after {pages} pages");
        // Once each, but order 2 twice: before and after its change.
        assert_eq!(seen.len(), 18, "{seen:?}");
        // By page number alone, order 4 (the first of page 2) would have been missed.
        let mut by_number = std::collections::BTreeSet::new();
        let mut orders = start;
        for page in 1..=3 {
            let (items, _) = listed(&orders, &window(1000, page, &[]), 3);
            by_number.extend(items.iter().map(|(id, _)| *id));
            orders.iter_mut().find(|o| o.0 == 2).unwrap().1 = 1_040_000;
        }
        assert!(!by_number.contains(&4), "{by_number:?}");
    }

    #[test]
    fn order_ids_stay_one_path_segment() {
        let fixes = Fixes {
            platform: "X",
            auth: "",
            base_key: "x.api_base_url",
            reset_ms_header: None,
        };
        let url = endpoint(
            "https://shop.test/wp/",
            &["orders", "1/../../admin?x=1#f"],
            &fixes,
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://shop.test/wp/orders/1%2F..%2F..%2Fadmin%3Fx=1%23f"
        );
        assert!(endpoint("http://shop.test", &["a"], &fixes).is_err());
        assert!(endpoint("http://127.0.0.1:8080", &["a"], &fixes).is_ok());
    }
}
