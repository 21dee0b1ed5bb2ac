//! Jobs as the admin API shows them (one event key, RFC 3339 times beside epoch ms) and
//! replays them.

use std::time::{Duration, Instant};

use super::{WOO_PAID, job_detail, keys_of, post_paid, woo_store};

use crate::common::app::{WOO_SECRET, start};
use crate::common::sign::*;
use reqwest::Method;
use serde_json::Value;
use shopbip::jobs::JobState;

#[tokio::test]
async fn replaying_a_done_job_sends_once_more_and_keeps_both_runs() {
    let p = start(woo_store).await;
    post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await;
    let id = p.settled(1).await[0].id;
    let first = job_detail(&p, id).await;
    let first_group = first["steps"]["whatsapp_bulk_group_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let resp = p
        .admin(Method::POST, &format!("/admin/jobs/{id}/replay"))
        .await;
    assert_eq!(resp.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = p.service.jobs.get(id).await.unwrap().unwrap();
        if job.state == JobState::Done && job.replays == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "replay never finished: {job:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let sends = p
        .sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap();
    assert_eq!(sends.len(), 2, "the replay is the one way to send again");
    let after = job_detail(&p, id).await;
    assert_eq!(after["replays"], 1);
    assert_eq!(
        after["steps"]["previous_runs"][0]["whatsapp_bulk_group_id"],
        first_group
    );
    assert_ne!(after["steps"]["whatsapp_bulk_group_id"], first_group);
    assert_eq!(
        after["steps"]["invoice_number"], first["steps"]["invoice_number"],
        "same invoice number"
    );
    // A running or queued job cannot be replayed; an unknown one is 404.
    assert_eq!(
        p.admin(Method::POST, "/admin/jobs/424242/replay")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_job_has_one_event_key_holding_its_canonical_event_and_its_delivery_beside_it() {
    let p = start(woo_store).await;
    post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await;
    let job = p.settled(1).await.remove(0);
    let text = p
        .admin(Method::GET, &format!("/admin/jobs/{}", job.id))
        .await
        .text()
        .await
        .unwrap();
    let keys = keys_of(&text);
    assert_eq!(keys.iter().filter(|k| *k == "event").count(), 1, "{keys:?}");
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["event"], job.kind.to_string(), "{text}");
    assert_eq!(json["delivery"]["topic"], "order.updated", "{text}");
    assert_eq!(json["delivery"]["platform"], "woocommerce", "{text}");
    assert!(json["delivery"]["delivery_key"].is_string(), "{text}");

    let page = p
        .admin(Method::GET, "/admin/jobs")
        .await
        .text()
        .await
        .unwrap();
    keys_of(&page);
    let page: Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["jobs"][0]["event"], job.kind.to_string());
    keys_of(
        &p.admin(Method::GET, "/admin/stores")
            .await
            .text()
            .await
            .unwrap(),
    );
}

/// `2026-12-02T20:55:17.123Z`: `at` is RFC 3339 in UTC with milliseconds and the same instant
/// as `ms`.
fn assert_rfc3339(at: &Value, ms: &Value, what: &str) {
    let at = at
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {at}"));
    let ms = ms
        .as_i64()
        .unwrap_or_else(|| panic!("{what}_ms is not an integer: {ms}"));
    let seconds = shopbip::platforms::unix_rfc3339(ms.div_euclid(1000));
    let expected = format!(
        "{}.{:03}Z",
        seconds.trim_end_matches('Z'),
        ms.rem_euclid(1000)
    );
    assert_eq!(at, expected, "{what}");
    let shape: String = at
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd.dddZ", "{what}: {at}");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (now_ms - 600_000..=now_ms + 600_000).contains(&ms),
        "{what} is not about now: {at}"
    );
}

#[tokio::test]
async fn times_are_rfc3339_strings_with_their_epoch_ms_beside_them() {
    let p = start(woo_store).await;
    post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await;
    let id = p.settled(1).await[0].id;
    let detail = job_detail(&p, id).await;
    for key in ["created_at", "updated_at", "run_at"] {
        assert_rfc3339(&detail[key], &detail[format!("{key}_ms")], key);
    }
    assert_rfc3339(
        &detail["delivery"]["received_at"],
        &detail["delivery"]["received_at_ms"],
        "delivery.received_at",
    );
    assert_rfc3339(
        &detail["steps"]["send_started_at"],
        &detail["steps"]["send_started_at_ms"],
        "steps.send_started_at",
    );
    // A finished job holds no lease: both lease fields are null together.
    assert_eq!(detail["locked_until"], Value::Null, "{detail}");
    assert_eq!(detail["locked_until_ms"], Value::Null, "{detail}");

    let page: Value = p
        .admin(Method::GET, "/admin/jobs")
        .await
        .json()
        .await
        .unwrap();
    let summary = &page["jobs"][0];
    for key in ["created_at", "updated_at", "run_at"] {
        assert_rfc3339(&summary[key], &summary[format!("{key}_ms")], key);
        assert_eq!(summary[key], detail[key]);
    }
    let stores: Value = p
        .admin(Method::GET, "/admin/stores")
        .await
        .json()
        .await
        .unwrap();
    for key in ["last_webhook_at", "last_send_at"] {
        assert_rfc3339(&stores[0][key], &stores[0][format!("{key}_ms")], key);
    }
}
