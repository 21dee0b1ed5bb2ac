//! JSON written by hand, so number tokens beyond what `serde_json::Value` holds (a 40-digit
//! integer, `1e400`) and duplicate keys reach the parsers as a sender could write them; the
//! values at the edges put into it, and its mutations.

use super::TOPICS;
use super::fixtures::FIXTURE_KEYS;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;

/// Numbers at the edges: of `Decimal` (±7.9e28, 28 fractional digits), of `i64`/`u64`, of `f64`
/// (and past it), the 10^15 limit on amounts, signed zero and exponents.
const EDGE_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "1",
    "-1",
    "1.5",
    "0.005",
    "-0.005",
    "1e30",
    "-1e30",
    "1E+30",
    "1e15",
    "999999999999999.99",
    "1000000000000000",
    "1e28",
    "7.9e28",
    "79228162514264337593543950335",
    "79228162514264337593543950336",
    "-79228162514264337593543950336",
    "0.0000000000000000000000000001",
    "0.00000000000000000000000000001",
    "1.00000000000000000000000000001",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "1e308",
    "1.7976931348623157e308",
    "5e-324",
    "1e-400",
];

/// Texts that are not numbers but stand where numbers go, and other hostile strings.
const EDGE_TEXTS: &[&str] = &[
    "",
    " ",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1,000.00",
    "1.000,00",
    "12.50 EUR",
    "١٢٣",
    "0x10",
    "+5",
    " 5 ",
    "1e",
    "--1",
    ".",
    "-",
    "\0",
    "a\0b",
    "\u{202e}evil",
    "\u{feff}",
    "\r\n",
    "&#x10FFFF;&#0;&amp;ndash;&",
    "%00%0a",
    "null",
    "true",
    "TND",
    "KWD",
    "JPY",
    "XX",
    "2026-11-25T09:41:07Z",
    "0000-00-00T00:00:00Z",
];

#[derive(Debug, Clone)]
pub(super) enum J {
    /// A token written as is: a number, `true`, `false`, `null`.
    Raw(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub(super) fn from_value(v: &Value) -> J {
        match v {
            Value::String(s) => J::Str(s.clone()),
            Value::Array(a) => J::Arr(a.iter().map(J::from_value).collect()),
            Value::Object(o) => J::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), J::from_value(v)))
                    .collect(),
            ),
            other => J::Raw(other.to_string()),
        }
    }

    pub(super) fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        let string = |s: &str| serde_json::to_string(s).expect("a string serialises");
        match self {
            J::Raw(t) => out.push_str(t),
            J::Str(s) => out.push_str(&string(s)),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&string(k));
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// Paths (child indexes) to every node, the root first.
    fn paths(&self) -> Vec<Vec<usize>> {
        fn walk(j: &J, here: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            out.push(here.clone());
            let children: Vec<&J> = match j {
                J::Arr(items) => items.iter().collect(),
                J::Obj(members) => members.iter().map(|(_, v)| v).collect(),
                _ => Vec::new(),
            };
            for (i, c) in children.into_iter().enumerate() {
                here.push(i);
                walk(c, here, out);
                here.pop();
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    fn at_mut(&mut self, path: &[usize]) -> &mut J {
        let Some((first, rest)) = path.split_first() else {
            return self;
        };
        match self {
            J::Arr(items) => items[*first].at_mut(rest),
            J::Obj(members) => members[*first].1.at_mut(rest),
            _ => unreachable!("paths only lead through containers"),
        }
    }

    /// Sets a top-level member (replacing every member of that name).
    pub(super) fn set(&mut self, key: &str, value: J) {
        if let J::Obj(members) = self {
            members.retain(|(k, _)| k != key);
            members.push((key.to_owned(), value));
        }
    }
}

/// One change to a fixture.
#[derive(Debug, Clone)]
pub(super) enum Mutation {
    /// The node becomes another value.
    Replace(Index, J),
    /// A member or item is taken out.
    Remove(Index),
    /// An object gains a member (the key may already be there: JSON with duplicate keys).
    Insert(Index, String, J),
    /// The node is wrapped, one level deeper.
    Wrap(Index),
}

pub(super) fn apply(root: &mut J, m: &Mutation) {
    let paths = root.paths();
    let pick = |i: &Index| paths[i.index(paths.len())].as_slice();
    match m {
        Mutation::Replace(i, v) => *root.at_mut(pick(i)) = v.clone(),
        Mutation::Remove(i) => {
            let path = pick(i);
            if let Some((last, parent)) = path.split_last() {
                match root.at_mut(parent) {
                    J::Arr(items) => {
                        items.remove(*last);
                    }
                    J::Obj(members) => {
                        members.remove(*last);
                    }
                    _ => {}
                }
            }
        }
        Mutation::Insert(i, k, v) => {
            if let J::Obj(members) = root.at_mut(pick(i)) {
                members.push((k.clone(), v.clone()));
            }
        }
        Mutation::Wrap(i) => {
            let node = root.at_mut(pick(i));
            let inner = std::mem::replace(node, J::Raw("null".into()));
            *node = J::Arr(vec![inner]);
        }
    }
}

pub(super) fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(EDGE_NUMBERS).prop_map(str::to_owned),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(|n| n.to_string()),
        2 => "-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,40})?([eE][-+]?[0-9]{1,4})?",
    ]
}

pub(super) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => number_text(),
        3 => select(EDGE_TEXTS).prop_map(str::to_owned),
        2 => select(TOPICS).prop_map(str::to_owned),
        3 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f\u{202e}\u{200b}\u{fffd}a-zé٣😀&#;.]{0,24}",
        1 => (1usize..20_000, select(&["x", "é", "٣", "😀", "\0", "&ndash;"][..]))
            .prop_map(|(n, s)| s.repeat(n)),
    ]
}

/// Arrays and objects nested `depth` deep, past serde_json's recursion limit (128) too.
fn deep() -> impl Strategy<Value = J> {
    (1usize..300, any::<bool>()).prop_map(|(depth, arrays)| {
        let mut j = J::Raw("1e30".into());
        for _ in 0..depth {
            j = if arrays {
                J::Arr(vec![j])
            } else {
                J::Obj(vec![("total".into(), j)])
            };
        }
        j
    })
}

fn leaf() -> impl Strategy<Value = J> {
    prop_oneof![
        4 => number_text().prop_map(J::Raw),
        1 => select(&["null", "true", "false"][..]).prop_map(|t| J::Raw(t.into())),
        5 => text().prop_map(J::Str),
        1 => deep(),
    ]
}

/// Object keys: mostly ones the fixtures use, so arbitrary trees hit the fields parsers read.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(FIXTURE_KEYS.clone()),
        1 => any::<String>(),
    ]
}

pub(super) fn tree() -> impl Strategy<Value = J> {
    leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(J::Arr),
            prop::collection::vec((key(), inner), 0..8).prop_map(J::Obj),
        ]
    })
}

pub(super) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<Index>(), tree()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => any::<Index>().prop_map(Mutation::Remove),
        2 => (any::<Index>(), key(), tree()).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
        1 => any::<Index>().prop_map(Mutation::Wrap),
    ]
}
