//! The two search keys a job carries for the console, filled at ingestion from its order, and
//! how a search text turns into conditions on them.
//!
//! Migrations `sqlite/0004` and `postgres/0005` compute the same keys in SQL for the jobs stored
//! before them: keep the three in step.

use crate::order::Order;

/// The most trailing phone digits kept: E.164 numbers have at most 15.
const PHONE_DIGITS: usize = 15;

/// The fewest digits a phone suffix search takes (fewer would match a large part of a shop).
pub const MIN_PHONE_SUFFIX: usize = 4;

/// A job's search keys, as stored in `jobs.order_ref` and `jobs.phone_rev`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SearchKeys {
    /// The order's customer-facing name, as `order_ref` compares it (see [`order_ref`]).
    pub order_ref: Option<String>,
    /// The last digits of the order's first phone, last digit first: a suffix search is then
    /// a prefix, which an index answers as a range.
    pub phone_rev: Option<String>,
}

impl SearchKeys {
    pub(crate) fn of(order: &Order) -> Self {
        Self {
            order_ref: order_ref(order.display_name()),
            phone_rev: first_phone(order).and_then(|p| {
                let rev: String = p
                    .chars()
                    .rev()
                    .filter(char::is_ascii_digit)
                    .take(PHONE_DIGITS)
                    .collect();
                (!rev.is_empty()).then_some(rev)
            }),
        }
    }
}

/// The phone a list shows and a suffix search matches: the first one given of billing,
/// shipping and customer (the order the phone step tries them in).
pub(crate) fn first_phone(order: &Order) -> Option<&str> {
    [
        order.billing.as_ref().and_then(|a| a.phone.as_deref()),
        order.shipping.as_ref().and_then(|a| a.phone.as_deref()),
        order.customer.phone.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .find(|p| !p.is_empty())
}

/// `#1001`, ` 1001 `, `#SO-1001` → `1001`, `1001`, `so-1001`: what the customer reads, without
/// the `#` some platforms put before it, in ASCII lower case; `None` when nothing is left.
pub(crate) fn order_ref(name: &str) -> Option<String> {
    let r = name
        .trim()
        .trim_start_matches('#')
        .trim()
        .to_ascii_lowercase();
    (!r.is_empty()).then_some(r)
}

/// What one search text matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Search {
    /// `jobs.order_id`, exactly as typed (trimmed).
    pub order_id: String,
    pub order_ref: Option<String>,
    /// A phone suffix as the range `[from, to)` of `phone_rev` (`to` absent: no upper end).
    pub phone: Option<(String, Option<String>)>,
}

/// A search text: an order id, an order name or number, or (only digits and the usual phone
/// separators, at least [`MIN_PHONE_SUFFIX`] digits) the end of a phone number. `None` for
/// blank text.
pub(crate) fn search(text: &str) -> Option<Search> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let rev: String = text
        .chars()
        .rev()
        .filter(char::is_ascii_digit)
        .take(PHONE_DIGITS)
        .collect();
    let phone = (phone_like && rev.len() >= MIN_PHONE_SUFFIX).then(|| {
        let to = successor(&rev);
        (rev, to)
    });
    Some(Search {
        order_id: text.to_owned(),
        order_ref: order_ref(text),
        phone,
    })
}

/// The smallest digit string above every string starting with `prefix` (`"129"` → `"13"`);
/// `None` for all nines, which nothing is above.
fn successor(prefix: &str) -> Option<String> {
    let mut digits = prefix.as_bytes().to_vec();
    while let Some(last) = digits.pop() {
        if last < b'9' {
            digits.push(last + 1);
            return String::from_utf8(digits).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Address, Customer};

    #[test]
    fn keys_take_the_name_the_customer_reads_and_the_first_phone_reversed() {
        let order = Order {
            id: "450789469".into(),
            number: "1001".into(),
            name: "#1001".into(),
            customer: Customer {
                phone: Some("+33 6 00 00 00 00".into()),
                ..Customer::default()
            },
            shipping: Some(Address {
                phone: Some(" ".into()),
                ..Address::default()
            }),
            billing: Some(Address {
                phone: Some("+216 96-816-277".into()),
                ..Address::default()
            }),
            ..Order::default()
        };
        let keys = SearchKeys::of(&order);
        assert_eq!(keys.order_ref.as_deref(), Some("1001"));
        assert_eq!(keys.phone_rev.as_deref(), Some("77261869612"));
        let bare = Order {
            number: "5120".into(),
            ..Order::default()
        };
        assert_eq!(SearchKeys::of(&bare).order_ref.as_deref(), Some("5120"));
        assert_eq!(SearchKeys::of(&bare).phone_rev, None);
    }

    #[test]
    fn a_search_is_an_order_and_maybe_a_phone_suffix() {
        let s = search(" 6277 ").unwrap();
        assert_eq!(s.order_id, "6277");
        assert_eq!(s.order_ref.as_deref(), Some("6277"));
        assert_eq!(s.phone, Some(("7726".into(), Some("7727".into()))));
        assert_eq!(search("816 277").unwrap().phone.unwrap().0, "772618");
        assert_eq!(
            search("#SO-1001").unwrap().order_ref.as_deref(),
            Some("so-1001")
        );
        assert_eq!(search("#SO-1001").unwrap().phone, None);
        assert_eq!(
            search("277").unwrap().phone,
            None,
            "three digits are too few"
        );
        assert_eq!(search("9999").unwrap().phone, Some(("9999".into(), None)));
        assert_eq!(search("   "), None);
        assert_eq!(successor("1299"), Some("13".into()));
    }
}
