//! What the platforms share once a payload is read (`lenient.rs`): arithmetic on amounts that
//! refuses instead of panicking, dates, names and HTML entities.

use rust_decimal::Decimal;

use super::ParseError;
use crate::order::LineItem;

/// rust_decimal's `+ - * sum()` panic past ±7.9e28, and amounts come from request bodies and
/// platform APIs: arithmetic on them goes through these, which refuse the order instead.
pub fn out_of_range() -> ParseError {
    ParseError::Invalid("amount out of range".into())
}

pub fn checked_sum(amounts: impl IntoIterator<Item = Decimal>) -> Result<Decimal, ParseError> {
    amounts
        .into_iter()
        .try_fold(Decimal::ZERO, Decimal::checked_add)
        .ok_or_else(out_of_range)
}

pub fn checked_add(a: Decimal, b: Decimal) -> Result<Decimal, ParseError> {
    a.checked_add(b).ok_or_else(out_of_range)
}

pub fn checked_mul(a: Decimal, b: Decimal) -> Result<Decimal, ParseError> {
    a.checked_mul(b).ok_or_else(out_of_range)
}

pub fn checked_sub(a: Decimal, b: Decimal) -> Result<Decimal, ParseError> {
    a.checked_sub(b).ok_or_else(out_of_range)
}

/// `2026-11-25T10:00:00Z` for Unix seconds, as platforms that send epochs (Stripe, Shopware)
/// need for the order's RFC 3339 dates.
pub fn unix_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A line item as platforms give it: the quantity defaults to one, a missing total is unit
/// price × quantity (refused, not panicking, past rust_decimal's range).
pub fn line_item(
    name: String,
    sku: Option<String>,
    quantity: Option<Decimal>,
    unit_price: Option<Decimal>,
    total: Option<Decimal>,
) -> Result<LineItem, ParseError> {
    let quantity = quantity.unwrap_or(Decimal::ONE);
    let unit_price = unit_price.unwrap_or_default();
    Ok(LineItem {
        name,
        sku,
        quantity,
        unit_price,
        total: match total {
            Some(t) => t,
            None => checked_mul(unit_price, quantity)?,
        },
    })
}

/// Text with HTML character references decoded (`&ndash;` → `–`, `&#215;` → `×`, `&amp;` → `&`),
/// as WooCommerce stores product names and meta. A reference it does not know stays as written.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        // The longest reference decoded is `&#x10FFFF;`; a longer run is not one.
        let decoded = after
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .and_then(|(end, _)| entity(&after[..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "times" => '×',
        "divide" => '÷',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "plusmn" => '±',
        "frac12" => '½',
        "frac14" => '¼',
        "frac34" => '¾',
        "middot" => '·',
        "bull" => '•',
        "prime" => '′',
        "Prime" => '″',
        "eacute" => 'é',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "agrave" => 'à',
        "acirc" => 'â',
        "ccedil" => 'ç',
        "ocirc" => 'ô',
        "uuml" => 'ü',
        "ouml" => 'ö',
        "auml" => 'ä',
        "szlig" => 'ß',
        _ => return None,
    })
}

/// "First Last", either part possibly empty.
pub fn full_name(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::Value;

    use super::*;
    use crate::platforms::lenient::Text;

    /// The id at `key`, read as the platforms read one ([`Text::json_id`]).
    fn id(v: &Value, key: &str, what: &str) -> Result<String, ParseError> {
        let text = match v.get(key) {
            Some(field) => Text::deserialize(field).unwrap(),
            None => Text::default(),
        };
        text.json_id(what)
    }

    #[test]
    fn ids_past_what_a_number_holds_exactly_are_refused() {
        let v: Value =
            serde_json::from_str(r#"{"a": 18446744073709551616, "b": 42, "c": "x", "d": 1.5}"#)
                .unwrap();
        assert!(
            id(&v, "a", "order")
                .unwrap_err()
                .to_string()
                .contains("as a string")
        );
        assert_eq!(id(&v, "b", "order").unwrap(), "42");
        assert_eq!(id(&v, "c", "order").unwrap(), "x");
        assert!(id(&v, "d", "order").is_err());
        assert_eq!(
            id(&v, "e", "order").unwrap_err(),
            ParseError::Invalid("order without an id".into())
        );
    }

    #[test]
    fn html_character_references_are_decoded_once() {
        assert_eq!(
            decode_entities("Ship Your Idea &ndash; Color: Black"),
            "Ship Your Idea – Color: Black"
        );
        assert_eq!(decode_entities("2 &times; 50 cl"), "2 × 50 cl");
        assert_eq!(decode_entities("Tom &amp; Jerry&#039;s"), "Tom & Jerry's");
        assert_eq!(decode_entities("&#x41;&#66;"), "AB");
        // Decoded once: `&amp;ndash;` is the text `&ndash;`, not a dash.
        assert_eq!(decode_entities("&amp;ndash;"), "&ndash;");
        for unchanged in [
            "AT&T",
            "a & b",
            "&unknown;",
            "&#0;",
            "&#xFFFFFFFF;",
            "&",
            "x&;",
        ] {
            assert_eq!(decode_entities(unchanged), unchanged);
        }
        assert_eq!(decode_entities("فاتورة &ndash; ١"), "فاتورة – ١");
    }

    #[test]
    fn unix_seconds_become_rfc3339() {
        assert_eq!(unix_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_rfc3339(1_614_265_330), "2021-02-25T15:02:10Z");
        assert_eq!(unix_rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
    }
}
