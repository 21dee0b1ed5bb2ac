//! The delivery lookup (`GET /api/whatsapp/?whatsapp_bulk_group_id=`): what became of one send.
//! BUZZBIP.md leaves the items' shape open, so the reading here is lenient and keeps whatever it
//! does not recognise as an opaque string (`DeliveryState::Unknown` with the raw value).

use serde_json::Value;

use super::client::BuzzbipClient;
use super::error::{BuzzbipError, Endpoint};
use crate::telemetry::redact_phones;

/// One send concerns one recipient, so the first page holds its item; the limit only keeps a
/// misbehaving answer small.
const PAGE_LIMIT: &str = "100";
/// A failure reason is stored and shown; Buzzbip's are a sentence, anything longer is noise.
const MAX_REASON_CHARS: usize = 1000;

/// Where a send stands, per BUZZBIP.md's mapping of Buzzbip's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Accepted,
    Sent,
    Delivered,
    Read,
    Failed,
    Unknown,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 6] = [
        DeliveryState::Accepted,
        DeliveryState::Sent,
        DeliveryState::Delivered,
        DeliveryState::Read,
        DeliveryState::Failed,
        DeliveryState::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Accepted => "accepted",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Read => "read",
            DeliveryState::Failed => "failed",
            DeliveryState::Unknown => "unknown",
        }
    }

    /// Buzzbip's state as it came (any case, surrounding blanks); what is not in BUZZBIP.md's
    /// table is `Unknown`, and the caller keeps the raw text.
    pub fn from_raw(raw: &str) -> DeliveryState {
        match raw.trim().to_ascii_lowercase().as_str() {
            "queued" | "pending" | "accepted" => DeliveryState::Accepted,
            "sent" => DeliveryState::Sent,
            "delivered" => DeliveryState::Delivered,
            "read" | "seen" => DeliveryState::Read,
            "failed" | "undelivered" | "rejected" | "error" => DeliveryState::Failed,
            _ => DeliveryState::Unknown,
        }
    }

    /// The inverse of [`as_str`](Self::as_str), for values read back from the database.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// No later lookup can change it (a delivered message may still be read, but polling for
    /// that is not worth Buzzbip's rate limit).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryState::Delivered | DeliveryState::Read | DeliveryState::Failed
        )
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one lookup said about a send's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryObservation {
    pub state: DeliveryState,
    /// The state exactly as Buzzbip gave it.
    pub raw: String,
    /// When that state was reached, epoch ms, when Buzzbip said so readably.
    pub at: Option<i64>,
    /// Buzzbip's reason (phones masked), whatever the state.
    pub reason: Option<String>,
}

impl BuzzbipClient {
    /// `GET /api/whatsapp/?whatsapp_bulk_group_id={id}`, with the same login, plugin headers,
    /// JSend reading and failure classes as upload and send. `to` is the job's recipient (digits,
    /// no `+`). `Ok(None)`: Buzzbip lists nothing for that send yet.
    pub async fn delivery(
        &self,
        whatsapp_bulk_group_id: &str,
        to: &str,
    ) -> Result<Option<DeliveryObservation>, BuzzbipError> {
        // The empty last segment is the route's trailing slash, which this older route needs.
        let mut url = self.url(&["api", "whatsapp", ""]);
        url.query_pairs_mut()
            .append_pair("whatsapp_bulk_group_id", whatsapp_bulk_group_id)
            .append_pair("page", "1")
            .append_pair("limit", PAGE_LIMIT);
        let answer = self
            .call(Endpoint::Delivery, false, |http| http.get(url.clone()))
            .await?;
        observe(&answer.data, to).map_err(|missing| BuzzbipError::Unexpected {
            endpoint: Endpoint::Delivery,
            status: 200,
            missing,
            body: redact_phones(&answer.body_text()),
        })
    }
}

/// The observation for recipient `to` in a lookup's JSend `data`; `Err` names what a readable
/// answer would have had.
pub(crate) fn observe(data: &Value, to: &str) -> Result<Option<DeliveryObservation>, &'static str> {
    let items = items(data).ok_or("a list of messages")?;
    let wanted = digits(to);
    let item = items
        .iter()
        .find(|item| !wanted.is_empty() && number_of(item).is_some_and(|n| n == wanted))
        .or(match items {
            [only] => Some(only),
            _ => None,
        });
    Ok(item.map(observation))
}

/// The list of messages, wherever BUZZBIP.md allows it to be. A lone object carrying a state is
/// taken as a list of one (a single-message answer), and `null` as nothing yet.
fn items(data: &Value) -> Option<&[Value]> {
    match data {
        Value::Array(list) => Some(list),
        Value::Null => Some(&[]),
        Value::Object(map) => {
            for key in ["items", "results", "messages", "data"] {
                if let Some(Value::Array(list)) = map.get(key) {
                    return Some(list);
                }
            }
            if ["state", "status", "delivery_status"]
                .iter()
                .any(|k| map.contains_key(*k))
            {
                return Some(std::slice::from_ref(data));
            }
            None
        }
        _ => None,
    }
}

fn number_of(item: &Value) -> Option<String> {
    ["to", "number", "phone", "recipient"]
        .iter()
        .find_map(|k| text(item.get(*k)?))
        .map(|n| digits(&n))
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// A string or a number as text; anything else is not a value we can read.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn observation(item: &Value) -> DeliveryObservation {
    let raw = ["state", "status", "delivery_status"]
        .iter()
        .find_map(|k| item.get(*k).and_then(text))
        .unwrap_or_default();
    let at = ["updated_at", "sent_date", "date"]
        .iter()
        .find_map(|k| item.get(*k).and_then(epoch_ms));
    let reason = ["error", "reason", "error_message", "message"]
        .iter()
        .find_map(|k| item.get(*k).and_then(reason_text));
    DeliveryObservation {
        state: DeliveryState::from_raw(&raw),
        raw,
        at,
        reason,
    }
}

/// A reason as text: a string, or an error object's message (WhatsApp nests them as
/// `{"code": 131026, "title": …, "message": …}`), kept whole otherwise.
fn reason_text(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Object(map) => {
            let words = ["message", "title", "error_message", "reason", "details"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str))
                .map(str::trim)
                .filter(|s| !s.is_empty());
            match (words, map.get("code").and_then(text)) {
                (Some(w), Some(code)) => format!("{w} ({code})"),
                (Some(w), None) => w.to_owned(),
                _ => v.to_string(),
            }
        }
        _ => return None,
    };
    if text.is_empty() {
        return None;
    }
    let masked = redact_phones(&text);
    Some(match masked.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &masked[..cut]),
        None => masked,
    })
}

/// Epoch milliseconds of a time Buzzbip wrote (an event's `createdAt`), read as the lookup
/// reads its items' times.
pub fn parse_time(s: &str) -> Option<i64> {
    epoch_ms(&Value::String(s.to_owned()))
}

/// Epoch milliseconds from what Buzzbip may put in a time field: RFC 3339, `YYYY-MM-DD
/// HH:MM:SS` (read as UTC: Buzzbip's servers keep UTC and give no offset), or epoch seconds or
/// milliseconds as a number or digits.
fn epoch_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => epoch_number(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                epoch_number(s.parse().ok()?)
            } else {
                crate::clock::parse_datetime_ms(s)
            }
        }
        _ => None,
    }
}

/// Seconds and milliseconds told apart by size: 1e11 seconds is the year 5138, 1e11 ms is 1973.
fn epoch_number(n: f64) -> Option<i64> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let ms = if n >= 1e11 { n } else { n * 1000.0 };
    // Past the year 9999 it is not a time Buzzbip meant.
    (ms < 253_402_300_800_000.0).then_some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TO: &str = "21696816277";

    fn one(data: Value) -> DeliveryObservation {
        observe(&data, TO).unwrap().expect("an observation")
    }

    #[test]
    fn states_map_as_buzzbip_md_says_case_and_blanks_aside() {
        let cases = [
            ("queued", DeliveryState::Accepted),
            ("Pending", DeliveryState::Accepted),
            ("ACCEPTED", DeliveryState::Accepted),
            (" sent ", DeliveryState::Sent),
            ("delivered", DeliveryState::Delivered),
            ("read", DeliveryState::Read),
            ("Seen", DeliveryState::Read),
            ("failed", DeliveryState::Failed),
            ("undelivered", DeliveryState::Failed),
            ("REJECTED", DeliveryState::Failed),
            ("error", DeliveryState::Failed),
            ("deleted", DeliveryState::Unknown),
            ("", DeliveryState::Unknown),
            ("3", DeliveryState::Unknown),
        ];
        for (raw, want) in cases {
            assert_eq!(DeliveryState::from_raw(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn as_str_and_parse_are_inverse_and_serde_agrees() {
        for state in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                json!(state.as_str()),
                "{state:?}"
            );
        }
        assert_eq!(DeliveryState::parse("Delivered"), None);
        assert_eq!(DeliveryState::parse("queued"), None);
        let finals: Vec<_> = DeliveryState::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                DeliveryState::Delivered,
                DeliveryState::Read,
                DeliveryState::Failed
            ]
        );
    }

    #[test]
    fn the_list_is_read_bare_or_under_each_documented_key() {
        let item = json!({"number": TO, "state": "delivered"});
        for data in [
            json!([item]),
            json!({"items": [item]}),
            json!({"results": [item]}),
            json!({"messages": [item]}),
            json!({"data": [item]}),
            json!({"total": 1, "page": 1, "items": [item]}),
        ] {
            assert_eq!(one(data.clone()).state, DeliveryState::Delivered, "{data}");
        }
    }

    #[test]
    fn an_empty_list_or_null_is_not_known_yet_and_other_shapes_are_errors() {
        assert_eq!(observe(&json!([]), TO), Ok(None));
        assert_eq!(observe(&json!({"items": []}), TO), Ok(None));
        assert_eq!(observe(&Value::Null, TO), Ok(None));
        assert!(observe(&json!("delivered"), TO).is_err());
        assert!(observe(&json!({"total": 0}), TO).is_err());
        assert!(observe(&json!(42), TO).is_err());
    }

    #[test]
    fn the_item_of_our_recipient_wins_compared_by_digits() {
        let data = json!([
            {"number": "21612345678", "state": "failed"},
            {"phone": "+216 96 816 277", "state": "read"},
            {"to": TO, "state": "sent"},
        ]);
        assert_eq!(one(data).state, DeliveryState::Read);
        let data = json!([
            {"recipient": 21612345678_u64, "state": "failed"},
            {"recipient": 21696816277_u64, "status": "delivered"},
        ]);
        assert_eq!(one(data).state, DeliveryState::Delivered);
    }

    #[test]
    fn a_lone_item_is_ours_and_several_strangers_are_none() {
        let lone = json!([{"number": "33612345678", "state": "sent"}]);
        assert_eq!(one(lone).state, DeliveryState::Sent);
        let lone_without_number = json!({"data": [{"delivery_status": "queued"}]});
        assert_eq!(one(lone_without_number).state, DeliveryState::Accepted);
        let strangers = json!([
            {"number": "33612345678", "state": "sent"},
            {"number": "33612345679", "state": "sent"},
        ]);
        assert_eq!(observe(&strangers, TO), Ok(None));
    }

    #[test]
    fn state_comes_from_state_status_or_delivery_status_and_unknown_keeps_the_raw() {
        assert_eq!(one(json!([{"status": "seen"}])).state, DeliveryState::Read);
        let odd = one(json!([{"delivery_status": "Deleted_By_Meta"}]));
        assert_eq!(odd.state, DeliveryState::Unknown);
        assert_eq!(odd.raw, "Deleted_By_Meta");
        let numeric = one(json!([{"state": 3}]));
        assert_eq!(
            (numeric.state, numeric.raw.as_str()),
            (DeliveryState::Unknown, "3")
        );
        let absent = one(json!([{"number": TO}]));
        assert_eq!(
            (absent.state, absent.raw.as_str()),
            (DeliveryState::Unknown, "")
        );
    }

    #[test]
    fn reasons_are_read_for_any_state_masked_and_bounded() {
        let failed = one(json!([{"state": "failed", "error": "recipient is not on WhatsApp"}]));
        assert_eq!(
            failed.reason.as_deref(),
            Some("recipient is not on WhatsApp")
        );
        let nested = one(
            json!([{"state": "failed", "error": {"code": 131026, "title": "Message undeliverable"}}]),
        );
        assert_eq!(
            nested.reason.as_deref(),
            Some("Message undeliverable (131026)")
        );
        let with_phone =
            one(json!([{"state": "undelivered", "reason": "no WhatsApp on +21696816277"}]));
        let reason = with_phone.reason.unwrap();
        assert!(!reason.contains("96816"), "{reason}");
        let on_sent = one(json!([{"state": "sent", "message": "ok"}]));
        assert_eq!(on_sent.reason.as_deref(), Some("ok"));
        let blank = one(json!([{"state": "sent", "error": "", "error_message": "second"}]));
        assert_eq!(blank.reason.as_deref(), Some("second"));
        assert_eq!(one(json!([{"state": "sent", "error": null}])).reason, None);
        let long = one(json!([{"state": "failed", "error": "é".repeat(5000)}]));
        assert_eq!(long.reason.unwrap().chars().count(), MAX_REASON_CHARS + 1);
    }

    #[test]
    fn times_are_read_in_every_form_buzzbip_may_use() {
        // 2026-12-03T10:15:30Z
        let base = 1_796_292_930_000_i64;
        let cases = [
            (json!("2026-12-03T10:15:30Z"), Some(base)),
            (json!("2026-12-03T10:15:30.250Z"), Some(base + 250)),
            (json!("2026-12-03T10:15:30.1234567z"), Some(base + 123)),
            (json!("2026-12-03T11:15:30+01:00"), Some(base)),
            (json!("2026-12-03T06:45:30-03:30"), Some(base)),
            (json!("2026-12-03 10:15:30"), Some(base)),
            (json!(1_796_292_930), Some(base)),
            (json!(1_796_292_930_250_i64), Some(base + 250)),
            (json!("1796292930"), Some(base)),
            (json!(1_796_292_930.5), Some(base + 500)),
            (json!("2026-02-30 10:15:30"), None),
            (json!("2026-12-03T25:15:30Z"), None),
            (json!("2026-12-03T10:15:30+0100"), None),
            (json!("03/12/2026 10:15"), None),
            (json!("2026-12-03"), None),
            (json!("yesterday"), None),
            (json!(-5), None),
            (json!(0), None),
            (json!(true), None),
            (json!("2026-12-03T10:15:30Zjunk"), None),
            (json!("٢٠٢٦-12-03T10:15:30Z"), None),
        ];
        for (value, want) in cases {
            assert_eq!(epoch_ms(&value), want, "{value}");
        }
        assert_eq!(
            crate::clock::parse_datetime_ms("2000-02-29T00:00:00Z"),
            Some(951_782_400_000)
        );
        assert_eq!(
            crate::clock::parse_datetime_ms("1900-02-29T00:00:00Z"),
            None
        );
    }

    #[test]
    fn time_comes_from_updated_at_then_sent_date_then_date() {
        let obs = one(
            json!([{"state": "sent", "updated_at": "bad", "sent_date": "2026-12-03 10:15:30", "date": 1}]),
        );
        assert_eq!(obs.at, Some(1_796_292_930_000));
        let obs = one(json!([{"state": "sent", "date": 1_796_292_930}]));
        assert_eq!(obs.at, Some(1_796_292_930_000));
        assert_eq!(one(json!([{"state": "sent"}])).at, None);
    }

    #[test]
    fn hostile_items_never_panic() {
        for data in [
            json!([null, 1, "x", [], {}]),
            json!([{"state": {"nested": true}, "updated_at": "9999-12-31T23:59:60+23:59"}]),
            json!([{"number": "", "state": "sent"}, {"number": null}]),
            json!({"items": "not a list", "state": "sent"}),
        ] {
            let _ = observe(&data, TO);
            let _ = observe(&data, "");
        }
    }
}
