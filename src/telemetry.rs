//! Logging setup, and the masking that keeps phone numbers out of logs and error reasons.

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    #[serde(default)]
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info` or `shopbip=debug,actix_web=warn`;
    /// `RUST_LOG`, when set, wins.
    #[serde(default = "default_level")]
    pub level: String,
}

fn default_level() -> String {
    "info,actix_server=warn".to_owned()
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::default(),
            level: default_level(),
        }
    }
}

/// Installs the global subscriber. A second call (tests, embedded use) keeps the first one.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

const MASK: char = '•';

/// `+21696816277` → `+216•••••277`: enough to tell numbers apart in a log, not to dial one.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let plus = if phone.trim_start().starts_with('+') {
        "+"
    } else {
        ""
    };
    if digits.len() < 7 {
        return format!("{plus}{}", MASK.to_string().repeat(digits.len().max(3)));
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 3..].iter().collect();
    let middle = MASK.to_string().repeat(digits.len() - 6);
    format!("{plus}{head}{middle}{tail}")
}

/// Masks every phone-like run (seven digits or more, possibly with `+`, spaces, dashes or
/// parentheses between them) in free text such as an upstream error body. ISO dates are left
/// alone so timestamps in bodies stay readable.
pub fn redact_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_run =
            c.is_ascii_digit() || (c == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if !starts_run {
            out.push(c);
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < chars.len() {
            let d = chars[end];
            let joins = matches!(d, ' ' | '-' | '(' | ')')
                && chars
                    .get(end + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == '(');
            if d.is_ascii_digit() || joins {
                end += 1;
            } else {
                break;
            }
        }
        let run: String = chars[i..end].iter().collect();
        let digit_count = run.chars().filter(char::is_ascii_digit).count();
        if digit_count >= 7 && !looks_like_date(&run) {
            out.push_str(&mask_phone(&run));
        } else {
            out.push_str(&run);
        }
        i = end;
    }
    out
}

fn looks_like_date(run: &str) -> bool {
    let b = run.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_phone_keeps_country_prefix_and_last_three() {
        assert_eq!(mask_phone("+21696816277"), "+216•••••277");
        assert_eq!(mask_phone("21696816277"), "216•••••277");
        assert_eq!(mask_phone("12"), "•••");
    }

    #[test]
    fn redact_phones_masks_numbers_in_free_text() {
        let body = r#"{"status":"fail","message":"to 21696816277 invalid","data":{"to":"+216 96 816 277"}}"#;
        let red = redact_phones(body);
        assert!(!red.contains("96816"), "{red}");
        assert!(!red.contains("96 816"), "{red}");
        assert!(red.contains("216•••••277"), "{red}");
    }

    #[test]
    fn redact_phones_leaves_short_numbers_and_dates() {
        let s = "HTTP 400 template 1289 on 2026-11-25T08:00:00Z";
        assert_eq!(redact_phones(s), s);
    }
}
