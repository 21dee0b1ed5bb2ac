//! Lenient readers for platform JSON: platforms send numbers as strings, ids as numbers, and
//! leave fields out or null.

use rust_decimal::Decimal;
use serde_json::Value;

/// A string, or a number turned into its text; `None` for null, missing or empty.
pub fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn text_or_empty(v: &Value, key: &str) -> String {
    text(v, key).unwrap_or_default()
}

/// A decimal amount written as a string or a number; zero when absent or unreadable.
pub fn money(v: &Value, key: &str) -> Decimal {
    opt_money(v, key).unwrap_or_default()
}

pub fn opt_money(v: &Value, key: &str) -> Option<Decimal> {
    match v.get(key)? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// ISO country code, upper case, when it looks like one.
pub fn country(v: &Value, key: &str) -> Option<String> {
    text(v, key)
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| c.len() == 2 && c.chars().all(|x| x.is_ascii_uppercase()))
}

pub fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}
