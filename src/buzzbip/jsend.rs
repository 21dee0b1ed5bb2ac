//! JSend answers as Buzzbip sends them, read leniently where BUZZBIP.md leaves the shape open.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsendStatus {
    Success,
    Fail,
    Error,
    /// No `status` field, or one JSend does not define: never a success.
    Unknown,
}

/// A parsed answer. `raw` keeps the whole body (or the text when it was not JSON) so a failure
/// can carry it verbatim as its reason.
#[derive(Debug, Clone)]
pub struct Jsend {
    pub status: JsendStatus,
    pub message: Option<String>,
    pub data: Value,
    pub raw: Value,
}

impl Jsend {
    pub fn parse(body: &[u8]) -> Self {
        let raw: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => Value::String(String::from_utf8_lossy(body).into_owned()),
        };
        let status = match raw.get("status").and_then(Value::as_str) {
            Some("success") => JsendStatus::Success,
            Some("fail") => JsendStatus::Fail,
            Some("error") => JsendStatus::Error,
            _ => JsendStatus::Unknown,
        };
        // LexikJWT-style errors (`{"code":401,"message":"Expired JWT Token"}`) also use `message`.
        let message = raw
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let data = raw.get("data").cloned().unwrap_or(Value::Null);
        Self {
            status,
            message,
            data,
            raw,
        }
    }

    /// The login token: top-level `token`, or inside JSend `data`.
    pub fn token(&self) -> Option<String> {
        string_at(&self.raw, "token").or_else(|| string_at(&self.data, "token"))
    }

    /// The uploaded media id: `data.media_id`, `data.id` or a top-level `media_id`, kept as the
    /// string it was (numbers are turned into their decimal text, never reformatted).
    pub fn media_id(&self) -> Option<String> {
        string_at(&self.data, "media_id")
            .or_else(|| string_at(&self.data, "id"))
            .or_else(|| string_at(&self.raw, "media_id"))
    }

    pub fn bulk_group_id(&self) -> Option<String> {
        string_at(&self.data, "whatsapp_bulk_group_id")
            .or_else(|| string_at(&self.raw, "whatsapp_bulk_group_id"))
    }

    /// Whether the answer speaks of a rate limit, which makes even a JSend failure worth retrying.
    pub fn mentions_rate_limit(&self) -> bool {
        let text = self.raw.to_string().to_ascii_lowercase();
        text.contains("rate limit") || text.contains("rate-limit") || text.contains("too many")
    }

    /// The body as one line of text, for error reasons.
    pub fn body_text(&self) -> String {
        match &self.raw {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

fn string_at(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_id_accepts_every_documented_place_and_numbers() {
        let cases: [(&[u8], &str); 5] = [
            (br#"{"status":"success","data":{"media_id":"m-1"}}"#, "m-1"),
            (br#"{"status":"success","data":{"media_id":4242}}"#, "4242"),
            (br#"{"status":"success","data":{"id":77}}"#, "77"),
            (br#"{"status":"success","data":[],"media_id":"top"}"#, "top"),
            (
                br#"{"status":"success","data":{"media_id":12345678901234567890}}"#,
                "12345678901234567890",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                Jsend::parse(body).media_id().as_deref(),
                Some(want),
                "{body:?}"
            );
        }
    }

    #[test]
    fn token_is_read_top_level_or_inside_data() {
        assert_eq!(
            Jsend::parse(br#"{"token":"abc"}"#).token().as_deref(),
            Some("abc")
        );
        assert_eq!(
            Jsend::parse(br#"{"status":"success","data":{"token":"def"}}"#)
                .token()
                .as_deref(),
            Some("def")
        );
        assert_eq!(
            Jsend::parse(br#"{"status":"success","data":[]}"#).token(),
            None
        );
    }

    #[test]
    fn bulk_group_id_in_data_or_top_level() {
        let a = Jsend::parse(br#"{"status":"success","data":{"whatsapp_bulk_group_id":"g1"}}"#);
        let b = Jsend::parse(br#"{"status":"success","whatsapp_bulk_group_id":99}"#);
        assert_eq!(a.bulk_group_id().as_deref(), Some("g1"));
        assert_eq!(b.bulk_group_id().as_deref(), Some("99"));
    }

    #[test]
    fn status_is_never_success_unless_it_says_so() {
        assert_eq!(
            Jsend::parse(b"<html>oops</html>").status,
            JsendStatus::Unknown
        );
        assert_eq!(Jsend::parse(br#"{"data":{}}"#).status, JsendStatus::Unknown);
        assert_eq!(
            Jsend::parse(br#"{"status":"fail","message":"x","data":[]}"#).status,
            JsendStatus::Fail
        );
        assert_eq!(
            Jsend::parse(br#"{"status":"error","message":"x","code":"E1"}"#).status,
            JsendStatus::Error
        );
    }

    #[test]
    fn rate_limit_wording_is_detected() {
        assert!(
            Jsend::parse(br#"{"status":"error","message":"Rate limit exceeded"}"#)
                .mentions_rate_limit()
        );
        assert!(!Jsend::parse(br#"{"status":"error","message":"Internal"}"#).mentions_rate_limit());
    }
}
