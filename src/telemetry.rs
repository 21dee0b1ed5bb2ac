//! Logging setup, and the masking that keeps phone numbers out of logs and error reasons.
//!
//! What the logs never hold, whatever the settings: third-party crates log at `info` at most
//! (at `debug`/`trace` the phone library prints the numbers it parses, HTTP and SQL crates print
//! headers and statements), request-derived strings are escaped and cut ([`untrusted`]), and in
//! the pretty format no field can start a line of its own or send a control sequence to the
//! terminal.

use std::fmt::{self, Write as _};

use serde::Deserialize;
use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::{RecordFields, Visit};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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
    /// `RUST_LOG`, when set, wins. Either way other crates than shopbip log at `info` at most.
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

/// The most verbose level a target outside shopbip may log at.
pub const THIRD_PARTY_MAX: Level = Level::INFO;

/// Whether an event or span may be logged at all: shopbip's own targets at any level the filter
/// allows, every other crate (and `log` records bridged from them) at [`THIRD_PARTY_MAX`] at most.
pub fn within_cap(meta: &Metadata<'_>) -> bool {
    is_own_target(meta.target()) || *meta.level() <= THIRD_PARTY_MAX
}

fn is_own_target(target: &str) -> bool {
    // `shopbip` (the library and the binary) and `shopbip_bench`.
    target == "shopbip" || target.starts_with("shopbip::") || target.starts_with("shopbip_")
}

/// The filter `log.level` (or `RUST_LOG`) gives, before the third-party cap.
fn level_filter(settings: &LogSettings) -> EnvFilter {
    EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber. A second call (tests, embedded use) keeps the first one.
pub fn init(settings: &LogSettings) {
    // Both filters are global (layers of their own), not per-layer filters on the formatter:
    // per-layer filtering lost events after a disabled third-party one on the same thread
    // (with PostgreSQL, sqlx's debug events made `request` lines vanish).
    let levels = level_filter(settings);
    let cap = filter_fn(within_cap);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match settings.format {
        LogFormat::Json => tracing_subscriber::registry()
            .with(levels)
            .with(cap)
            .with(layer.json().flatten_event(true))
            .try_init(),
        LogFormat::Pretty => tracing_subscriber::registry()
            .with(levels)
            .with(cap)
            .with(layer.compact().fmt_fields(EscapedFields))
            .try_init(),
    };
}

/// Longest a request-derived string gets in a log line, in bytes, escapes and `…` included.
pub const UNTRUSTED_MAX: usize = 128;

/// A request-derived string (a store id from the URL, a topic, a header value) as a log field:
/// control characters and line or direction marks escaped as by `escape_debug` (`\n`,
/// `\u{1b}`), cut on a character boundary to [`UNTRUSTED_MAX`] bytes with a trailing `…`.
pub fn untrusted(s: &str) -> Untrusted<'_> {
    Untrusted(s)
}

#[derive(Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: usize = self.0.chars().map(escaped_len).sum();
        if total <= UNTRUSTED_MAX {
            return escape_into(f, self.0);
        }
        let mut used = 0;
        for c in self.0.chars() {
            let len = escaped_len(c);
            if used + len > UNTRUSTED_MAX - '…'.len_utf8() {
                break;
            }
            used += len;
            write_escaped(f, c)?;
        }
        f.write_char('…')
    }
}

impl fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Characters that would end a log line, move the cursor, talk to the terminal or reorder
/// what is shown.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

fn escaped_len(c: char) -> usize {
    if !needs_escape(c) {
        c.len_utf8()
    } else if c.escape_debug().len() > 1 {
        c.escape_debug().len()
    } else {
        c.escape_unicode().len()
    }
}

fn write_escaped(out: &mut impl fmt::Write, c: char) -> fmt::Result {
    if needs_escape(c) {
        // `escape_debug` leaves the marks above as they are: `escape_unicode` then.
        let debug = c.escape_debug();
        if debug.len() > 1 {
            write!(out, "{debug}")
        } else {
            write!(out, "{}", c.escape_unicode())
        }
    } else {
        out.write_char(c)
    }
}

fn escape_into(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    for c in s.chars() {
        write_escaped(out, c)?;
    }
    Ok(())
}

/// The pretty format's fields (`name=value`, the message bare, as tracing-subscriber writes
/// them) with every control character escaped, whatever the call site logged: no value can
/// start a line of its own or send an escape sequence to the terminal.
struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'a> {
    writer: Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl EscapingVisitor<'_> {
    fn write_field(&mut self, name: &str, text: &str) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        if name != "message" {
            let name = name.strip_prefix("r#").unwrap_or(name);
            write!(self.writer, "{name}=")?;
        }
        escape_into(&mut self.writer, text)
    }
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        let name = field.name();
        // `log` records' metadata, already shown as the target.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        let text = format!("{value:?}");
        self.result = self.write_field(name, &text);
    }
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

/// Masks every phone-like token in free text such as an upstream error body: 7 to 15 digits,
/// possibly after a `+` or in parentheses, possibly grouped by spaces, dashes or parentheses
/// (`+216 96 816 277`, `96816277`, `(555) 555-5555`, `0612-345678`). A digit run that is part of
/// a word or of a larger number is not a phone (`16777216-byte`, `a1234567f`, `0.12345678`, a
/// 20-digit id), nor is an ISO date, so timestamps and sizes in bodies stay readable.
/// [`mask_phone`] on each group of 7 digits or more in `run`, or on all of it if none is.
fn mask_groups(run: &str) -> String {
    let mut out = String::with_capacity(run.len());
    let mut group = String::new();
    let mut masked = false;
    let mut flush = |group: &mut String, out: &mut String| {
        if group.len() >= 7 {
            out.push_str(&mask_phone(group));
            masked = true;
        } else {
            out.push_str(group);
        }
        group.clear();
    };
    for c in run.chars() {
        if c.is_ascii_digit() {
            group.push(c);
        } else {
            flush(&mut group, &mut out);
            out.push(c);
        }
    }
    flush(&mut group, &mut out);
    if masked { out } else { mask_phone(run) }
}

/// `v` with every phone masked: the fields named `phone` or `to`, and any phone-looking run
/// of digits in other text (notes, errors).
pub fn mask_json(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("phone" | "to", serde_json::Value::String(s)) => {
                            serde_json::Value::String(mask_phone(s))
                        }
                        _ => mask_json(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => items.iter().map(mask_json).collect(),
        serde_json::Value::String(s) => serde_json::Value::String(redact_phones(s)),
        other => other.clone(),
    }
}

pub fn redact_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = i.checked_sub(1).and_then(at);
        let before_prev = i.checked_sub(2).and_then(at);
        let opens = match c {
            '0'..='9' => true,
            '+' => digit(at(i + 1)) || (at(i + 1) == Some('(') && digit(at(i + 2))),
            '(' => digit(at(i + 1)),
            _ => false,
        };
        // Inside a word (`a1234567`), or the fraction or group of a number (`0.1234567`,
        // `2,097,152`); after a comma, a run of 4 digits or more is the next item of a list
        // (`21696816277,21612345678`), not a group.
        let digits_from = |start: usize| (start..).take_while(|&k| digit(at(k))).count();
        let glued = word(prev)
            || (prev == Some('.') && digit(before_prev))
            || (prev == Some(',') && digit(before_prev) && digits_from(i) <= 3);
        if !opens || glued {
            // A whole word at once, so no phone is found starting in its middle.
            let mut end = i + 1;
            while word(Some(c)) && word(at(end)) {
                end += 1;
            }
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        let mut end = i + 1;
        loop {
            if digit(at(end)) {
                end += 1;
                continue;
            }
            // At most two separators between digit groups: `) `, ` (`, ` - `.
            let mut k = end;
            while k - end < 3 && matches!(at(k), Some(' ' | '-' | '(' | ')')) {
                k += 1;
            }
            if k > end && digit(at(k)) {
                end = k;
            } else {
                break;
            }
        }
        let run: String = chars[i..end].iter().collect();
        let digits = run.chars().filter(char::is_ascii_digit).count();
        let next = at(end);
        // Part of a word or a larger number: `16777216-byte`, `1234567.89`, `2097152,5`.
        let continues = word(next)
            || (matches!(next, Some('-' | '.')) && word(at(end + 1)))
            || (next == Some(',') && (1..=3).contains(&digits_from(end + 1)));
        let phone = (7..=15).contains(&digits) && !continues && !looks_like_date(&run);
        if phone {
            out.push_str(&mask_phone(&run));
        } else if digits > 15 && !continues && run.contains([' ', '-', '(', ')']) {
            // Numbers side by side (`21696816277 21612345678`) join into one long run: each
            // long group is masked, or the whole run when no group is long on its own.
            out.push_str(&mask_groups(&run));
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

    #[test]
    fn redact_phones_masks_phone_like_tokens_only() {
        for keep in [
            "the PDF is larger than the 16777216-byte limit",
            "id a1234567f and 1234567abc",
            "ratio 0.123456789 and 1234567.89",
            "event 98765432109876543210 stored",
            "at 2026-11-25 08:00:00",
            "sha 3f2c1234567890",
            "limit 2,097,152 bytes",
        ] {
            assert_eq!(redact_phones(keep), keep);
        }
        for (text, masked) in [
            ("to +216 96 816 277 failed", "to +216•••••277 failed"),
            ("to 96816277 failed", "to 968••277 failed"),
            ("call (555) 555-5555.", "call 555••••555."),
            ("reach 0612-345678, please", "reach 061••••678, please"),
            ("\"phone\":\"+21696816277\"", "\"phone\":\"+216•••••277\""),
            ("/numbers/96816277/send", "/numbers/968••277/send"),
            // Lists: every number, whatever joins them.
            ("to 21696816277,21612345678", "to 216•••••277,216•••••678"),
            ("[21696816277, 21612345678]", "[216•••••277, 216•••••678]"),
            ("to 21696816277 21612345678", "to 216•••••277 216•••••678"),
        ] {
            assert_eq!(redact_phones(text), masked, "{text}");
        }
    }

    #[test]
    fn untrusted_strings_are_escaped_and_cut() {
        assert_eq!(untrusted("acme-woo").to_string(), "acme-woo");
        assert_eq!(
            untrusted("acme\nINFO forged\u{1b}[31m\u{2028}").to_string(),
            "acme\\nINFO forged\\u{1b}[31m\\u{2028}"
        );
        let long = "é".repeat(100);
        let cut = untrusted(&long).to_string();
        assert!(cut.len() <= UNTRUSTED_MAX && cut.ends_with('…'), "{cut}");
        assert!(cut.starts_with("éé"));
        // An escape is never cut in half.
        let escapes = "\u{1b}".repeat(100);
        let cut = untrusted(&escapes).to_string();
        assert!(cut.len() <= UNTRUSTED_MAX, "{cut}");
        assert!(cut.trim_end_matches('…').ends_with("\\u{1b}"), "{cut}");
        let exact = "a".repeat(UNTRUSTED_MAX);
        assert_eq!(untrusted(&exact).to_string(), exact);
    }

    #[test]
    fn third_party_targets_are_capped_at_info() {
        use tracing::callsite::Identifier;
        struct Cs;
        impl tracing::callsite::Callsite for Cs {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!()
            }
        }
        static CS: Cs = Cs;
        let meta = |target: &'static str, level| {
            Metadata::new(
                "e",
                target,
                level,
                None,
                None,
                None,
                tracing::field::FieldSet::new(&[], Identifier(&CS)),
                tracing::metadata::Kind::EVENT,
            )
        };
        assert!(within_cap(&meta("shopbip::worker", Level::TRACE)));
        assert!(within_cap(&meta("shopbip", Level::DEBUG)));
        assert!(within_cap(&meta("sqlx::query", Level::INFO)));
        assert!(within_cap(&meta("rlibphonenumber", Level::WARN)));
        for target in [
            "rlibphonenumber::phonenumberutil",
            "sqlx",
            "hyper",
            "shopbipx",
        ] {
            assert!(!within_cap(&meta(target, Level::DEBUG)), "{target}");
            assert!(!within_cap(&meta(target, Level::TRACE)), "{target}");
        }
    }
}
