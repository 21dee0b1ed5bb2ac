//! Typed, lenient payload fields: platforms send numbers as strings, ids as numbers, leave
//! fields out or null, and PHP shops write an empty object as `[]`. Deserializing straight into
//! structs of these (instead of a `serde_json::Value` tree) skips every key shopbip does not read
//! without allocating for it: this is the hot path of ingestion.
//!
//! Over 400 lines as one idea: the field types and every way a platform reads them, so each
//! platform's payload reads a field the one way it always has.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use rust_decimal::Decimal;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A scalar read as text: a string, or a number turned into its text; nothing for null, a
/// boolean, an object or an array. Numbers are kept as read and only written out as text when
/// a field is used as text: most numeric fields of a payload are never read, or read as amounts.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Text(Scalar);

#[derive(Debug, Default, Clone, PartialEq)]
enum Scalar {
    #[default]
    Absent,
    /// Most strings a payload holds are short (codes, dates, amounts, names) and many are never
    /// read: kept in place, they cost no allocation and no free.
    Short(Inline),
    Str(String),
    U64(u64),
    I64(i64),
    F64(f64),
    /// Read only by [`Text::flag`]: as text, a boolean is nothing (PHP writes `false` for an
    /// empty field).
    Bool(bool),
}

/// Longest string kept without an allocation: the enum stays the size `String` gave it.
const INLINE: usize = 30;

#[derive(Debug, Clone, PartialEq)]
struct Inline {
    len: u8,
    bytes: [u8; INLINE],
}

impl Inline {
    fn new(s: &str) -> Option<Self> {
        let mut bytes = [0; INLINE];
        bytes.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        Some(Self {
            len: s.len() as u8,
            bytes,
        })
    }

    fn as_str(&self) -> &str {
        // Whole UTF-8 text was copied in, so this never falls back.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl Text {
    fn text(&self) -> Option<Cow<'_, str>> {
        match &self.0 {
            Scalar::Absent | Scalar::Bool(_) => None,
            Scalar::Short(s) => Some(Cow::Borrowed(s.as_str())),
            Scalar::Str(s) => Some(Cow::Borrowed(s)),
            Scalar::U64(v) => Some(Cow::Owned(v.to_string())),
            Scalar::I64(v) => Some(Cow::Owned(v.to_string())),
            Scalar::F64(v) => Some(Cow::Owned(v.to_string())),
        }
    }

    /// Trimmed; `None` for missing or blank.
    pub fn get(&self) -> Option<String> {
        let text = self.text()?;
        let t = text.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    pub fn or_empty(&self) -> String {
        self.get().unwrap_or_default()
    }

    pub fn is(&self, expected: &str) -> bool {
        self.text().as_deref().map(str::trim) == Some(expected)
    }

    /// A yes/no field: `true`, or `"true"`, `"yes"`, `"1"`, `1` as platforms write it.
    pub fn flag(&self) -> bool {
        match &self.0 {
            Scalar::Bool(b) => *b,
            Scalar::U64(v) => *v == 1,
            _ => self.text().is_some_and(|t| {
                let t = t.trim();
                ["true", "yes", "1"]
                    .iter()
                    .any(|y| t.eq_ignore_ascii_case(y))
            }),
        }
    }

    /// A decimal amount; `None` when absent or unreadable.
    pub fn opt_money(&self) -> Option<Decimal> {
        match &self.0 {
            Scalar::U64(v) => Some(Decimal::from(*v)),
            Scalar::I64(v) => Some(Decimal::from(*v)),
            _ => self.text()?.trim().parse().ok(),
        }
    }

    /// Zero when absent or unreadable.
    pub fn money(&self) -> Decimal {
        self.opt_money().unwrap_or_default()
    }

    /// ISO 3166-1 alpha-2, upper case, when it looks like one.
    pub fn country(&self) -> Option<String> {
        self.get()
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| c.len() == 2 && c.chars().all(|x| x.is_ascii_uppercase()))
    }

    // The `json_…` readers give what a `serde_json::Value` lookup gave, for the
    // platforms that read their payloads that way before they were typed: a float written out
    // as serde_json writes it (`1.0`, `1e28`), so their orders read exactly as they did.

    /// A float as serde_json writes it; `None` for anything else.
    fn json_float(&self) -> Option<String> {
        match &self.0 {
            Scalar::F64(v) => serde_json::Number::from_f64(*v).map(|n| n.to_string()),
            _ => None,
        }
    }

    /// Trimmed, `None` for missing or blank; a number as its text.
    pub fn json_text(&self) -> Option<String> {
        match &self.0 {
            Scalar::F64(_) => self.json_float(),
            Scalar::U64(_) | Scalar::I64(_) => self.text().map(Cow::into_owned),
            _ => self.get(),
        }
    }

    pub fn json_text_or_empty(&self) -> String {
        self.json_text().unwrap_or_default()
    }

    /// A decimal amount; `None` when absent or unreadable.
    pub fn json_money(&self) -> Option<Decimal> {
        match &self.0 {
            Scalar::F64(_) => self.json_float()?.parse().ok(),
            Scalar::Absent | Scalar::Bool(_) => None,
            _ => self.text()?.trim().parse().ok(),
        }
    }

    /// ISO 3166-1 alpha-2 from [`Text::json_text`], upper case, when it looks like one.
    pub fn json_country(&self) -> Option<String> {
        self.json_text()
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| c.len() == 2 && c.chars().all(|x| x.is_ascii_uppercase()))
    }

    /// An integer as `Value::as_i64` reads one, or a string of one (untrimmed, as
    /// `str::parse` takes it); `None` for anything else.
    pub fn json_i64(&self) -> Option<i64> {
        match &self.0 {
            Scalar::U64(v) => i64::try_from(*v).ok(),
            Scalar::I64(v) => Some(*v),
            Scalar::Short(_) | Scalar::Str(_) => self.text()?.parse().ok(),
            _ => None,
        }
    }

    /// A JSON string as sent (untrimmed, maybe empty), as `Value::as_str` reads one; `None`
    /// for anything else, numbers included.
    pub fn json_str(&self) -> Option<&str> {
        match &self.0 {
            Scalar::Short(s) => Some(s.as_str()),
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A JSON boolean; `None` for anything else (`"true"` included).
    pub fn bool(&self) -> Option<bool> {
        match self.0 {
            Scalar::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// An id: an integer or a string; a number that is not an integer (or one past
    /// 2^64, which only a rounded float could hold: another order's id) is refused rather
    /// than guessed.
    pub fn json_id(&self, what: &str) -> Result<String, super::ParseError> {
        if let Some(n) = self.json_float() {
            return Err(super::ParseError::Invalid(format!(
                "{what} id {n} is not an integer that can be kept exactly: send it as a string"
            )));
        }
        self.json_text()
            .ok_or_else(|| super::ParseError::Invalid(format!("{what} without an id")))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, a number or null")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(match Inline::new(v) {
                    Some(short) => Scalar::Short(short),
                    None => Scalar::Str(v.to_owned()),
                }))
            }
            fn visit_string<E>(self, v: String) -> Result<Text, E> {
                Ok(Text(Scalar::Str(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Scalar::U64(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Scalar::I64(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Scalar::F64(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Scalar::Bool(v)))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_none<E>(self) -> Result<Text, E> {
                Ok(Text::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
                Text::deserialize(d)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// An id: a string, or a number kept as the exact digits it was sent as (an integer past
/// 2^64 would otherwise come back from a float, rounded: another order's id).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Id(Option<String>);

impl Id {
    /// Trimmed; `None` for missing, null, blank or not a scalar.
    pub fn get(&self) -> Option<String> {
        self.0.clone()
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        let value = if text.starts_with('"') {
            serde_json::from_str::<String>(text).map_err(serde::de::Error::custom)?
        } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            text.to_owned()
        } else {
            String::new()
        };
        let value = value.trim();
        Ok(Id((!value.is_empty()).then(|| value.to_owned())))
    }
}

/// An array of scalars read as [`Text`], or empty when the field holds anything else.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Texts(pub Vec<Text>);

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Texts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Texts, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Text>()? {
                    // Bounded by the body size limit; the few gateways an order has.
                    items.push(item);
                }
                Ok(Texts(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Texts, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Texts::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Texts, D::Error> {
                Texts::deserialize(d)
            }
            fn visit_none<E>(self) -> Result<Texts, E> {
                Ok(Texts::default())
            }
            fn visit_unit<E>(self) -> Result<Texts, E> {
                Ok(Texts::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Texts, E> {
                Ok(Texts::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Texts, E> {
                Ok(Texts::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Texts, E> {
                Ok(Texts::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Texts, E> {
                Ok(Texts::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Texts, E> {
                Ok(Texts::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// An object, or its default when the field holds anything else (null, `[]`, a string).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Obj<T> {
    pub value: T,
    /// Whether the payload held an object here at all.
    pub present: bool,
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                Ok(Obj {
                    value: T::deserialize(MapAccessDeserializer::new(map))?,
                    present: true,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Obj<T>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Obj::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Obj<T>, D::Error> {
                Obj::deserialize(d)
            }
            fn visit_none<E>(self) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_unit<E>(self) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Obj<T>, E> {
                Ok(Obj::default())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An array of objects (each lenient like [`Obj`]), or empty when the field holds anything else.
#[derive(Debug, Clone, PartialEq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(256));
                while let Some(item) = seq.next_element::<Obj<T>>()? {
                    items.push(item.value);
                }
                Ok(List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<List<T>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(List::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<List<T>, D::Error> {
                List::deserialize(d)
            }
            fn visit_none<E>(self) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_unit<E>(self) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<List<T>, E> {
                Ok(List::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<List<T>, E> {
                Ok(List::default())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Probe {
        a: Text,
        o: Obj<Inner>,
        l: List<Inner>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Inner {
        x: Text,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).expect("lenient parse")
    }

    #[test]
    fn ids_keep_the_digits_they_were_sent_as() {
        #[derive(Debug, Deserialize)]
        struct Probe {
            #[serde(default)]
            id: Id,
        }
        let id = |json: &str| serde_json::from_str::<Probe>(json).unwrap().id.get();
        assert_eq!(
            id(r#"{"id": 123456789012345678901234567890}"#).as_deref(),
            Some("123456789012345678901234567890")
        );
        assert_eq!(
            id(r#"{"id": 18446744073709551616}"#).as_deref(),
            Some("18446744073709551616")
        );
        assert_eq!(id(r#"{"id": 5120}"#).as_deref(), Some("5120"));
        assert_eq!(id(r#"{"id": " wc-\u0041 "}"#).as_deref(), Some("wc-A"));
        for absent in [
            r#"{"id": null}"#,
            r#"{"id": ""}"#,
            r#"{"id": true}"#,
            r#"{"id": {}}"#,
            "{}",
        ] {
            assert_eq!(id(absent), None, "{absent}");
        }
    }

    #[test]
    fn scalars_read_as_text_whatever_their_json_type() {
        assert_eq!(
            probe(r#"{"a":" 12.50 "}"#).a.get().as_deref(),
            Some("12.50")
        );
        assert_eq!(probe(r#"{"a":1234}"#).a.get().as_deref(), Some("1234"));
        assert_eq!(probe(r#"{"a":-3}"#).a.get().as_deref(), Some("-3"));
        assert_eq!(probe(r#"{"a":2.5}"#).a.money(), Decimal::new(25, 1));
        assert_eq!(probe(r#"{"a":null}"#).a.get(), None);
        assert_eq!(probe(r#"{"a":"  "}"#).a.get(), None);
        assert_eq!(probe(r#"{"a":true}"#).a.get(), None);
        assert_eq!(probe(r#"{"a":{"b":[1,2]}}"#).a.get(), None);
        assert_eq!(probe(r#"{"a":"x"}"#).a.money(), Decimal::ZERO);
        assert_eq!(probe("{}").a.get(), None);
        assert_eq!(probe(r#"{"a":12}"#).a.money(), Decimal::new(12, 0));
        assert_eq!(probe(r#"{"a":-7}"#).a.money(), Decimal::new(-7, 0));
        assert_eq!(probe(r#"{"a":11.083}"#).a.money(), Decimal::new(11083, 3));
        assert_eq!(
            probe(r#"{"a":18446744073709551615}"#).a.money(),
            Decimal::from(u64::MAX)
        );
        assert!(probe(r#"{"a":5120}"#).a.is("5120"));
    }

    #[test]
    fn short_and_long_strings_read_the_same() {
        let exact = "a".repeat(INLINE);
        let long = "é".repeat(INLINE);
        for s in ["", "x", " Tunis ", "أميرة", exact.as_str(), long.as_str()] {
            let t = probe(&serde_json::json!({ "a": s }).to_string()).a;
            let trimmed = s.trim();
            assert_eq!(t.get().as_deref(), (!trimmed.is_empty()).then_some(trimmed));
            assert!(t.is(trimmed) || trimmed.is_empty());
        }
        assert!(matches!(probe(r#"{"a":"x"}"#).a.0, Scalar::Short(_)));
        let over = format!(r#"{{"a":"{}"}}"#, "b".repeat(INLINE + 1));
        assert!(matches!(probe(&over).a.0, Scalar::Str(_)));
        // Escapes are decoded before the length counts.
        assert_eq!(
            probe(r#"{"a":"caf\u00e9"}"#).a.get().as_deref(),
            Some("café")
        );
    }

    #[test]
    fn objects_and_arrays_tolerate_php_empty_arrays_and_nulls() {
        let p = probe(r#"{"o":[],"l":{}}"#);
        assert!(!p.o.present);
        assert!(p.l.0.is_empty());
        let p = probe(r#"{"o":{"x":"1","y":[{"z":2}]},"l":[{"x":3},"junk",{"x":"4"}]}"#);
        assert!(p.o.present);
        assert_eq!(p.o.value.x.get().as_deref(), Some("1"));
        let xs: Vec<_> = p.l.0.iter().map(|i| i.x.get()).collect();
        assert_eq!(xs, [Some("3".into()), None, Some("4".into())]);
        assert!(probe(r#"{"o":null,"l":null}"#).l.0.is_empty());
    }

    #[test]
    fn country_codes_are_upper_case_pairs_only() {
        assert_eq!(probe(r#"{"a":"tn"}"#).a.country().as_deref(), Some("TN"));
        assert_eq!(probe(r#"{"a":"Tunisia"}"#).a.country(), None);
    }
}
