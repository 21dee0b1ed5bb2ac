//! What became of a send, computed from the time since it was made: nothing runs per message,
//! a lookup or the events ticker asks [`status`] when it needs to know.

use sha2::{Digest, Sha256};

use super::model::DeliveryConfig;

/// Sends remembered for lookups; older ones are forgotten so a long load test stays bounded.
pub const KEPT_SENDS: usize = 50_000;

pub const NOT_ON_WHATSAPP: &str = "recipient is not on WhatsApp";
/// WhatsApp's code for an undeliverable message (a number without WhatsApp among the causes).
pub const NOT_ON_WHATSAPP_CODE: u32 = 131026;

/// One accepted template send (the v2 route sends to one recipient).
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub group_id: String,
    pub message_id: String,
    pub account: String,
    /// Digits, as the send gave it.
    pub to: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Accepted,
    Sent,
    Delivered,
    Failed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Accepted => "accepted",
            Stage::Sent => "sent",
            Stage::Delivered => "delivered",
            Stage::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Stage::Delivered | Stage::Failed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub stage: Stage,
    /// When the message reached `stage`, epoch ms.
    pub since_ms: i64,
    pub error: Option<&'static str>,
}

/// Where `message` stands at `now_ms` under the current settings (changing the delays moves
/// messages already sent, which is what a test slowing or speeding the sandbox wants).
pub fn status(message: &SentMessage, config: &DeliveryConfig, now_ms: i64) -> Status {
    let sent_at = message.at_ms.saturating_add(ms(config.sent_after_ms));
    let delivered_at = message
        .at_ms
        .saturating_add(ms(config.delivered_after_ms))
        .max(sent_at);
    let unknown_number = config.not_on_whatsapp.contains(&message.to);
    let (stage, since_ms, error) = if now_ms < sent_at {
        (Stage::Accepted, message.at_ms, None)
    } else if unknown_number {
        (Stage::Failed, sent_at, Some(NOT_ON_WHATSAPP))
    } else if now_ms < delivered_at {
        (Stage::Sent, sent_at, None)
    } else {
        (Stage::Delivered, delivered_at, None)
    };
    Status {
        stage,
        since_ms,
        error,
    }
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Digits only: how numbers are compared (`+216 96 816 277` is `21696816277`).
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The same customer of the same account gets the same contact and conversation ids in every
/// event, as Buzzbip's inbox would give them.
pub fn contact_id(account: &str, number: &str) -> String {
    format!("ct_{}", stable_hex("contact", account, number))
}

pub fn conversation_id(account: &str, number: &str) -> String {
    format!("cv_{}", stable_hex("conversation", account, number))
}

fn stable_hex(kind: &str, account: &str, number: &str) -> String {
    let digest = Sha256::new()
        .chain_update(kind.as_bytes())
        .chain_update([0])
        .chain_update(account.as_bytes())
        .chain_update([0])
        .chain_update(number.as_bytes())
        .finalize();
    hex::encode(&digest[..8])
}

pub fn random_id(prefix: &str) -> String {
    let n: u64 = rand::random();
    format!("{prefix}{n:016x}")
}

/// Epoch ms as RFC 3339 in UTC with milliseconds: `2026-12-03T10:15:30.250Z`.
pub fn rfc3339_ms(ms: i64) -> String {
    let secs = crate::platforms::unix_rfc3339(ms.div_euclid(1000));
    let whole = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{whole}.{:03}Z", ms.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(to: &str) -> SentMessage {
        SentMessage {
            group_id: "g".into(),
            message_id: "m".into(),
            account: "a".into(),
            to: to.into(),
            at_ms: 1_000_000,
        }
    }

    fn config(sent: u64, delivered: u64, unknown: &[&str]) -> DeliveryConfig {
        DeliveryConfig {
            sent_after_ms: sent,
            delivered_after_ms: delivered,
            not_on_whatsapp: unknown.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_message_moves_accepted_sent_delivered_with_the_delays() {
        let m = message("21696816277");
        let c = config(2000, 5000, &[]);
        let at = |dt: i64| status(&m, &c, 1_000_000 + dt);
        assert_eq!(at(0).stage, Stage::Accepted);
        assert_eq!(at(1999).stage, Stage::Accepted);
        assert_eq!(
            (at(2000).stage, at(2000).since_ms),
            (Stage::Sent, 1_002_000)
        );
        assert_eq!(at(4999).stage, Stage::Sent);
        assert_eq!(
            (at(5000).stage, at(5000).since_ms),
            (Stage::Delivered, 1_005_000)
        );
        assert_eq!(at(5000).error, None);
    }

    #[test]
    fn an_unknown_number_fails_after_the_sent_delay_with_the_reason() {
        let m = message("21696816277");
        let c = config(100, 200, &["21696816277"]);
        assert_eq!(status(&m, &c, 1_000_050).stage, Stage::Accepted);
        let failed = status(&m, &c, 1_000_100);
        assert_eq!(failed.stage, Stage::Failed);
        assert_eq!(failed.error, Some(NOT_ON_WHATSAPP));
        assert_eq!(status(&m, &c, 9_000_000).stage, Stage::Failed);
    }

    #[test]
    fn delays_out_of_order_or_huge_never_overflow() {
        let m = message("1");
        let swapped = config(5000, 10, &[]);
        assert_eq!(status(&m, &swapped, 1_004_999).stage, Stage::Accepted);
        assert_eq!(status(&m, &swapped, 1_005_000).stage, Stage::Delivered);
        let huge = config(u64::MAX, u64::MAX, &[]);
        assert_eq!(status(&m, &huge, i64::MAX - 1).stage, Stage::Accepted);
    }

    #[test]
    fn ids_are_stable_per_customer_and_times_have_milliseconds() {
        assert_eq!(contact_id("a", "1"), contact_id("a", "1"));
        assert_ne!(contact_id("a", "1"), contact_id("b", "1"));
        assert_ne!(contact_id("a", "1"), conversation_id("a", "1"));
        assert_eq!(rfc3339_ms(1_796_244_917_123), "2026-12-02T20:55:17.123Z");
        assert_eq!(rfc3339_ms(5), "1970-01-01T00:00:00.005Z");
    }
}
