//! The events Buzzbip posts to a configured webhook (BUZZBIP.md, "Events Buzzbip posts"):
//! `message.sent` / `message.failed` when a send settles, `message.received` for a customer's
//! message, each signed with `X-BuzzBip-Signature` and retried like Buzzbip does.

use std::time::Duration;

use actix_web::web;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::Shared;
use super::delivery::{self, SentMessage, Stage, Status};
use super::model::PostedEvent;

/// Buzzbip retries a failed post up to 5 times.
const RETRIES: u32 = 5;
/// First retry after this, doubling: 0.5 + 1 + 2 + 4 + 8 s, so a test sees a retry quickly.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Transitions are computed lazily; this is how late an event may be.
const TICK: Duration = Duration::from_millis(200);
/// Posted events listed by the control API; older ones are forgotten.
pub const KEPT_EVENTS: usize = 1000;
/// Buzzbip expects an answer within 10 s.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where an event goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub secret: Option<String>,
}

/// An event ready to post.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub target: Target,
    pub account: String,
    pub event: Value,
}

/// The client the sandbox posts events with: its own, so a slow receiver cannot hold the
/// connection pool the tests' Buzzbip clients use.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(POST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("buzzbip-sandbox-webhooks")
        .build()
        // Building fails only when the TLS backend cannot initialise, which no config changes.
        .unwrap_or_else(|e| panic!("cannot initialise the sandbox's HTTP client: {e}"))
}

/// Lowercase hex HMAC-SHA256 of `body`, what `X-BuzzBip-Signature` carries.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn envelope(kind: &str, data: Value) -> Value {
    json!({
        "id": delivery::random_id("evt_"),
        "type": kind,
        "createdAt": delivery::rfc3339_ms(crate::clock::now_ms()),
        "data": data,
    })
}

/// `message.sent` (delivered) or `message.failed` for a settled send; `None` while it is not.
pub fn settled(message: &SentMessage, status: Status) -> Option<Value> {
    let mut data = json!({
        "messageId": message.message_id,
        "conversationId": delivery::conversation_id(&message.account, &message.to),
        "contactId": delivery::contact_id(&message.account, &message.to),
        "channel": "whatsapp",
        "to": message.to,
        "status": status.stage.as_str(),
    });
    let kind = match status.stage {
        Stage::Delivered => "message.sent",
        Stage::Failed => {
            data["error"] = json!(status.error.unwrap_or("failed"));
            data["code"] = json!(delivery::NOT_ON_WHATSAPP_CODE);
            "message.failed"
        }
        Stage::Accepted | Stage::Sent => return None,
    };
    Some(envelope(kind, data))
}

/// `message.received`: a customer wrote to the account's WhatsApp number.
pub fn received(account: &str, from: &str, body: &str) -> Value {
    envelope(
        "message.received",
        json!({
            "messageId": delivery::random_id("msg_"),
            "conversationId": delivery::conversation_id(account, from),
            "contactId": delivery::contact_id(account, from),
            "channel": "whatsapp",
            "body": body,
            "from": from,
        }),
    )
}

/// Logs the event and posts it in the background, retrying as Buzzbip does.
pub fn dispatch(shared: &web::Data<Shared>, out: Outgoing) {
    let body = out.event.to_string();
    let signature = out
        .target
        .secret
        .as_deref()
        .map(|s| sign(s, body.as_bytes()));
    let id = out.event["id"].as_str().unwrap_or_default().to_owned();
    shared.lock().log_event(PostedEvent {
        body: body.clone(),
        event: out.event,
        url: out.target.url.clone(),
        account: out.account,
        signature: signature.clone(),
        attempts: 0,
        last_status: None,
        last_error: None,
        delivered: false,
        gave_up: false,
    });
    let shared = shared.clone();
    tokio::spawn(async move {
        post_with_retries(&shared, &id, &out.target.url, body, signature).await;
    });
}

async fn post_with_retries(
    shared: &Shared,
    id: &str,
    url: &str,
    body: String,
    signature: Option<String>,
) {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 0..=RETRIES {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        let mut request = shared
            .events_http
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(sig) = &signature {
            request = request.header("X-BuzzBip-Signature", sig);
        }
        let (status, error) = match request.send().await {
            Ok(resp) => (Some(resp.status().as_u16()), None),
            Err(e) => (None, Some(error_text(&e))),
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let gave_up = !delivered && attempt == RETRIES;
        shared.lock().update_event(id, |e| {
            e.attempts = attempt + 1;
            e.last_status = status;
            e.last_error = error.clone();
            e.delivered = delivered;
            e.gave_up = gave_up;
        });
        if delivered {
            return;
        }
        tracing::info!(
            event = id,
            attempt = attempt + 1,
            status,
            error = error.as_deref().unwrap_or(""),
            "sandbox event post failed"
        );
    }
}

fn error_text(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

/// Notices sends that settled since the last tick and posts their event, once each.
pub async fn ticker(shared: web::Data<Shared>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let due = shared.lock().take_settled(crate::clock::now_ms());
        for out in due {
            dispatch(&shared, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_lowercase_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn settled_messages_make_the_documented_envelopes() {
        let m = SentMessage {
            group_id: "g".into(),
            message_id: "msg_1".into(),
            account: "a".into(),
            to: "21696816277".into(),
            at_ms: 0,
        };
        let status = |stage, error| Status {
            stage,
            since_ms: 0,
            error,
        };
        assert!(settled(&m, status(Stage::Sent, None)).is_none());
        let sent = settled(&m, status(Stage::Delivered, None)).unwrap();
        assert_eq!(sent["type"], "message.sent");
        assert!(sent["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(sent["data"]["status"], "delivered");
        assert_eq!(sent["data"]["to"], "21696816277");
        assert_eq!(sent["data"]["messageId"], "msg_1");
        assert!(sent["createdAt"].as_str().unwrap().ends_with('Z'));
        let failed = settled(&m, status(Stage::Failed, Some(delivery::NOT_ON_WHATSAPP))).unwrap();
        assert_eq!(failed["type"], "message.failed");
        assert_eq!(failed["data"]["error"], delivery::NOT_ON_WHATSAPP);
        let again = settled(&m, status(Stage::Delivered, None)).unwrap();
        assert_ne!(again["id"], sent["id"]);
        let inbound = received("a", "21696816277", "STOP");
        assert_eq!(inbound["type"], "message.received");
        assert_eq!(inbound["data"]["contactId"], sent["data"]["contactId"]);
    }
}
