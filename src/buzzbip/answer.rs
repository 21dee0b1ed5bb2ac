//! What a Buzzbip answer means, per BUZZBIP.md: success, a token to renew, or a failure classed
//! transient or permanent (the retry policy depends on the class).

use std::time::Duration;

use reqwest::StatusCode;

use super::error::{BuzzbipError, Endpoint};
use super::jsend::{Jsend, JsendStatus};
use crate::telemetry::redact_phones;

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) retry_after: Option<Duration>,
    pub(super) jsend: Jsend,
}

pub(super) enum Interpreted {
    Done(Result<Jsend, BuzzbipError>),
    TokenRefused(String),
}

/// What a call's answer means; a 401 about the token is left to the caller, which may log in
/// again.
pub(super) fn interpret(
    endpoint: Endpoint,
    answer: Answer,
    not_found_is_ok: bool,
    account: &str,
) -> Interpreted {
    let body = redact_phones(&answer.jsend.body_text());
    let status = answer.status;
    let account = account.to_owned();
    let result = if status.is_success() && answer.jsend.status == JsendStatus::Success {
        Ok(answer.jsend)
    } else if status == StatusCode::UNAUTHORIZED {
        if mentions_api_key(&body) {
            Err(BuzzbipError::InvalidApiKey { account, body })
        } else {
            return Interpreted::TokenRefused(body);
        }
    } else if status == StatusCode::FORBIDDEN {
        Err(BuzzbipError::NoApiAccess { account, body })
    } else if status == StatusCode::NOT_FOUND && not_found_is_ok {
        Ok(answer.jsend)
    } else if let Some(err) = classify_common(endpoint, &answer) {
        Err(err)
    } else {
        Err(BuzzbipError::Rejected {
            endpoint,
            status: status.as_u16(),
            body,
        })
    };
    Interpreted::Done(result)
}

/// The transient cases shared by every call: 429, 5xx, 408, and JSend `error` (which JSend means
/// for a server-side problem; a rate-limit message is the common one).
pub(super) fn classify_common(endpoint: Endpoint, answer: &Answer) -> Option<BuzzbipError> {
    let status = answer.status.as_u16();
    let body = redact_phones(&answer.jsend.body_text());
    let retry_after = answer.retry_after;
    if answer.status == StatusCode::TOO_MANY_REQUESTS
        || (answer.jsend.status == JsendStatus::Error && answer.jsend.mentions_rate_limit())
    {
        return Some(BuzzbipError::RateLimited {
            endpoint,
            status,
            retry_after,
            body,
        });
    }
    if answer.status.is_server_error()
        || answer.status == StatusCode::REQUEST_TIMEOUT
        || (answer.status.is_success() && answer.jsend.status == JsendStatus::Error)
    {
        return Some(BuzzbipError::Unavailable {
            endpoint,
            status,
            retry_after,
            body,
        });
    }
    None
}

fn mentions_api_key(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("api key") || lower.contains("api-key") || lower.contains("api_key")
}

/// `Retry-After` is either delta-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        let d = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
