//! The product end to end: signed webhook → real server → SQLite → workers → sandbox. Here the
//! main paths and the shared helpers; Buzzbip failing mid-run in `faults`, cash on delivery
//! beside prepaid in `payments`, amounts the platform left out or that do not add up in
//! `amounts`.

mod amounts;
mod faults;
mod languages;
mod payments;

use std::path::Path;

use crate::common::app::{
    SHOPIFY_SECRET, TestApp, WOO_SECRET, shopify_profile, start, woo_profile,
};
use crate::common::sign::*;
use serde_json::Value;
use sha2::Digest;
use shopbip::jobs::JobState;

pub(super) const WOO_PAID: &str = "woocommerce/order-updated-paid-tnd.json";

pub(super) fn both_stores(dir: &Path, url: &str) {
    std::fs::write(dir.join("acme-woo.toml"), woo_profile(url)).unwrap();
    std::fs::write(dir.join("atlas-shopify.toml"), shopify_profile(url)).unwrap();
}

pub(super) async fn post_woo(p: &TestApp, store: &str, body: Vec<u8>, delivery: &str) {
    post_as(
        p,
        store,
        woo_headers(WOO_SECRET, "order.updated", &body, delivery),
        body,
    )
    .await;
}

/// Posts a signed body, expects 200 and returns the answer.
pub(super) async fn post_as(
    p: &TestApp,
    store: &str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Value {
    let resp = p.post(store, &headers, body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_paid_woocommerce_order_becomes_one_message_with_its_invoice() {
    let p = start(both_stores).await;
    post_woo(&p, "acme-woo", fixture(WOO_PAID), "d1").await;
    let jobs = p.settled(1).await;
    let job = &jobs[0];
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);

    let calls = p.sandbox.control.calls().await.unwrap();
    let upload = calls
        .iter()
        .find(|c| c.path == "/api/v2/whatsapp/media")
        .expect("an upload");
    let send = calls
        .iter()
        .find(|c| c.path == "/api/v2/whatsapp/templates/1289/send")
        .expect("a send");
    for call in [upload, send] {
        assert!(call.header("authorization").unwrap().starts_with("Bearer "));
        assert_eq!(call.header("x-api-key"), Some("demo-api-key"));
        assert_eq!(call.header("x-platform-type"), Some("woocommerce"));
        assert_eq!(call.header("x-base-uri"), Some("https://shop.acme.test"));
    }
    let file = upload.file.as_ref().unwrap();
    assert_eq!(file.filename.as_deref(), Some("Invoice-5120.pdf"));
    assert_eq!(file.content_type.as_deref(), Some("application/pdf"));
    let json = send.json.as_ref().unwrap();
    let media_id = p.sandbox.control.media().await.unwrap()[0].id.clone();
    assert_eq!(json["header_media_id"], Value::from(media_id.clone()));
    assert_eq!(json["to"], "21696816277");
    assert_eq!(json["country_code"], "TN");
    assert_eq!(json["body_params"], serde_json::json!(["أميرة", "5120"]));
    assert_eq!(
        calls.iter().filter(|c| c.path.ends_with("/send")).count(),
        1
    );

    // The uploaded bytes are this order's invoice, rendered again here byte for byte.
    let uploaded = p.sandbox.control.media_content(&media_id).await.unwrap();
    let number = job.steps["invoice_number"].as_str().unwrap();
    assert_eq!(number, "INV-000001");
    let store = p.service.stores.load().get("acme-woo").unwrap().clone();
    let expected = shopbip::invoice::render_for_store(&store, &job.order, number).unwrap();
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&uploaded)),
        hex::encode(sha2::Sha256::digest(&expected))
    );
    assert_eq!(
        job.steps["pdf_sha256"],
        hex::encode(sha2::Sha256::digest(&expected))
    );
    assert!(job.steps["whatsapp_bulk_group_id"].is_string());
}

#[tokio::test]
async fn shopify_paid_sends_once_however_often_it_is_repeated() {
    let p = start(both_stores).await;
    let created = fixture("shopify/orders-create-mad.json");
    let paid = fixture("shopify/orders-paid-mad.json");
    for (topic, body, id) in [
        ("orders/create", &created, "w1"),
        ("orders/paid", &paid, "w2"),
        ("orders/paid", &paid, "w2"),
        ("orders/paid", &paid, "w3"),
        ("orders/updated", &paid, "w4"),
    ] {
        let resp = p
            .post(
                "atlas-shopify",
                &shopify_headers(SHOPIFY_SECRET, topic, body, id),
                body.clone(),
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    let jobs = p.settled(2).await;
    assert!(jobs.iter().all(|j| j.state == JobState::Done), "{jobs:?}");
    let sends = p
        .sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap();
    let by_template: Vec<&str> = sends.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        by_template.iter().filter(|p| p.contains("/1289/")).count(),
        1,
        "{by_template:?}"
    );
    assert_eq!(
        by_template.iter().filter(|p| p.contains("/1290/")).count(),
        1,
        "{by_template:?}"
    );
    let text_only = sends
        .iter()
        .find(|c| c.path.contains("/1290/"))
        .unwrap()
        .json
        .clone()
        .unwrap();
    assert!(
        text_only.get("header_media_id").is_none(),
        "text-only rule sends no media"
    );
    assert_eq!(text_only["to"], "212612345678");
    assert_eq!(
        p.sandbox
            .control
            .calls_to("/api/v2/whatsapp/media")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn orders_without_a_usable_phone_or_outside_a_staging_allow_list_are_skipped() {
    let p = start(|dir, url| {
        both_stores(dir, url);
        let staging = woo_profile(url).replace(
            "default_country = \"TN\"",
            "default_country = \"TN\"\nenvironment = \"staging\"",
        ) + "[test]\nallow_phones = [\"+21620000000\"]\n";
        std::fs::write(dir.join("acme-staging.toml"), staging).unwrap();
    })
    .await;
    let mut order: Value = serde_json::from_slice(&fixture(WOO_PAID)).unwrap();
    order["billing"]["phone"] = "123".into();
    post_woo(&p, "acme-woo", serde_json::to_vec(&order).unwrap(), "a").await;
    post_woo(&p, "acme-staging", fixture(WOO_PAID), "b").await;
    let jobs = p.settled(2).await;
    let reasons: Vec<(String, JobState, String)> = jobs
        .iter()
        .map(|j| {
            (
                j.store_id.clone(),
                j.state,
                j.last_error.clone().unwrap_or_default(),
            )
        })
        .collect();
    for (store, state, reason) in &reasons {
        assert_eq!(*state, JobState::Skipped, "{reasons:?}");
        match store.as_str() {
            "acme-woo" => assert!(reason.contains("not a valid phone number"), "{reason}"),
            _ => assert!(
                reason.contains("staging store")
                    && reason.contains("216•••••277")
                    && !reason.contains("96816"),
                "{reason}"
            ),
        }
    }
    assert!(
        p.sandbox
            .control
            .calls_to("/api/v2")
            .await
            .unwrap()
            .is_empty(),
        "nothing sent or uploaded"
    );
}

#[tokio::test]
async fn a_profile_removed_and_restored_while_its_job_waits_lets_the_job_finish() {
    let p = start(both_stores).await;
    let stores_dir = p.dir.path().join("plugin-config");
    let profile = stores_dir.join("acme-woo.toml");
    let text = std::fs::read_to_string(&profile).unwrap();
    let registry = p.service.stores.load_full();
    let rule = registry.get("acme-woo").unwrap().rules[0].clone();
    // The profile goes away (an editor's rename, a ConfigMap swap); hot reload applies it.
    std::fs::remove_file(&profile).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while p.service.stores.load().get("acme-woo").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the reload never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A job of that store, stored just before (as a webhook answered a moment earlier).
    let order = shopbip::platforms::Platform::Woocommerce
        .adapter()
        .parse_order(&fixture(WOO_PAID))
        .unwrap();
    p.service
        .jobs
        .ingest(shopbip::jobs::NewEvent {
            store_id: "acme-woo".into(),
            platform: "woocommerce".into(),
            delivery_key: "restored".into(),
            topic: "order.updated".into(),
            kind: rule.on,
            order,
            rules: vec![rule],
        })
        .await
        .unwrap();
    // It fails while the store is missing, and waits: not dead.
    loop {
        let job = &p.jobs().await[0];
        assert_ne!(job.state, JobState::Dead, "{:?}", job.last_error);
        if job.attempts >= 1 && job.state == JobState::Queued {
            assert!(
                job.last_error
                    .as_deref()
                    .unwrap()
                    .contains("not configured"),
                "{:?}",
                job.last_error
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{job:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    std::fs::write(&profile, text).unwrap();
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].state, JobState::Done, "{:?}", jobs[0].last_error);
    assert_eq!(p.sandbox.accepted_sends(1).await.len(), 1);
}
