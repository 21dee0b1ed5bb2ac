//! The message list's filters as its GET form sends them (`store`, `state`, `event`, `from`,
//! `to`, `q`, and the cursor `before`), read from the query string without ever failing on
//! a stray parameter, and written back into the links that must keep them (older, CSV,
//! the language switch does it by itself).

use crate::jobs::JobState;
use crate::jobs::messages::{MessageQuery, StoreScope};
use crate::order::EventKind;

/// Longest search text kept: an order name or a phone suffix is far shorter.
const MAX_SEARCH: usize = 100;
/// Longest store id kept (store ids are file names).
const MAX_STORE: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub store: Option<String>,
    pub state: Option<JobState>,
    pub event: Option<EventKind>,
    /// `YYYY-MM-DD` (UTC), from the start of that day.
    pub from: Option<String>,
    /// `YYYY-MM-DD` (UTC), through the end of that day.
    pub to: Option<String>,
    /// Order id, order name or number, or the last digits of the phone.
    pub q: Option<String>,
    /// The cursor: jobs older than this id.
    pub before: Option<i64>,
}

impl Filters {
    /// The filters of a query string; an empty field is no filter, a malformed one an error
    /// worth showing (`state=bogus` should not silently show everything).
    pub fn parse(query: &str) -> Result<Self, String> {
        let mut f = Filters::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match &*k {
                "store" => f.store = Some(cut(v, MAX_STORE)),
                "state" => f.state = Some(v.parse().map_err(|_| "unknown state")?),
                "event" => f.event = Some(v.parse().map_err(|_| "unknown event")?),
                "from" => f.from = Some(day(v).map(|_| v.to_owned())?),
                "to" => f.to = Some(day(v).map(|_| v.to_owned())?),
                "q" => f.q = Some(cut(v, MAX_SEARCH)),
                "before" => f.before = Some(v.parse().map_err(|_| "bad cursor")?),
                _ => {}
            }
        }
        Ok(f)
    }

    /// The job store's query for these filters inside `scope` (which it always applies).
    pub fn query(&self, scope: StoreScope, limit: u32) -> MessageQuery {
        const DAY_MS: i64 = 86_400_000;
        MessageQuery {
            store_id: self.store.clone(),
            state: self.state,
            event: self.event,
            created_from: self.from.as_deref().and_then(|d| day(d).ok()),
            created_to: self
                .to
                .as_deref()
                .and_then(|d| day(d).ok())
                .map(|ms| ms + DAY_MS),
            search: self.q.clone(),
            before_id: self.before,
            limit,
            ..MessageQuery::new(scope)
        }
    }

    /// The filters (not the cursor) as `(name, value)` pairs, for links and hidden fields.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut push = |k, v: Option<String>| {
            if let Some(v) = v {
                out.push((k, v));
            }
        };
        push("store", self.store.clone());
        push("state", self.state.map(|s| s.as_str().to_owned()));
        push("event", self.event.map(|e| e.as_str().to_owned()));
        push("from", self.from.clone());
        push("to", self.to.clone());
        push("q", self.q.clone());
        out
    }

    /// `path?filters[&before=…]`.
    pub fn href(&self, path: &str, before: Option<i64>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs() {
            q.append_pair(k, &v);
        }
        if let Some(b) = before {
            q.append_pair("before", &b.to_string());
        }
        match q.finish() {
            s if s.is_empty() => path.to_owned(),
            s => format!("{path}?{s}"),
        }
    }
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `YYYY-MM-DD` as the epoch milliseconds of that day's start in UTC.
fn day(s: &str) -> Result<i64, String> {
    let bad = || "a date is YYYY-MM-DD".to_owned();
    let mut parts = s.splitn(3, '-');
    let mut num = |len: usize| -> Result<i64, String> {
        let p = parts.next().filter(|p| p.len() == len).ok_or_else(bad)?;
        p.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| p.parse().ok())
            .flatten()
            .ok_or_else(bad)
    };
    let (y, m, d) = (num(4)?, num(2)?, num(2)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * 86_400_000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_through_the_query_string() {
        let f = Filters::parse(
            "store=acme-woo&state=dead&event=order.paid&from=2026-12-01&to=2026-12-02&q=%231001&before=42&lang=fr&x=",
        )
        .unwrap();
        assert_eq!(f.store.as_deref(), Some("acme-woo"));
        assert_eq!(f.state, Some(JobState::Dead));
        assert_eq!(f.event, Some(EventKind::OrderPaid));
        assert_eq!(f.before, Some(42));
        assert_eq!(
            f.href("/console/messages", Some(7)),
            "/console/messages?store=acme-woo&state=dead&event=order.paid&from=2026-12-01&to=2026-12-02&q=%231001&before=7"
        );
        let q = f.query(StoreScope::All, 50);
        assert_eq!(q.created_from, Some(1_796_083_200_000));
        assert_eq!(q.created_to, Some(1_796_083_200_000 + 2 * 86_400_000));
        assert_eq!(q.search.as_deref(), Some("#1001"));
        assert_eq!(Filters::parse("state=&q=").unwrap(), Filters::default());
    }

    #[test]
    fn malformed_filters_are_refused_not_ignored() {
        for bad in [
            "state=bogus",
            "event=x",
            "from=2026-13-01",
            "to=26-12-01",
            "from=2026-1-01",
            "before=abc",
            "from=2026-12-+1",
        ] {
            assert!(Filters::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(day("1970-01-01"), Ok(0));
        assert_eq!(day("2000-03-01"), Ok(951_868_800_000));
        let long = Filters::parse(&format!("q={}", "9".repeat(5000))).unwrap();
        assert_eq!(long.q.unwrap().len(), MAX_SEARCH);
    }
}
