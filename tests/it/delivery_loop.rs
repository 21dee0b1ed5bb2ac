//! After the send, over the real server, database and sandbox (issue 19): delivery lookups
//! move a message to delivered or failed, Buzzbip's signed events are stored once and settle
//! deliveries, STOP and START from a customer, and a restart in the middle of the lookups.
//!
//! Lookups are due 15 s after a send; the tests make them due now by moving
//! `delivery_poll_at` (the schedule itself is unit-tested in `jobs::delivery`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shopbip::jobs::{Job, JobState};

use crate::common::app::{TestApp, WOO_SECRET, start_with, test_settings, woo_profile};
use crate::common::db;
use crate::common::sign::{fixture, woo_headers};

const EVENTS_SECRET: &str = "buzzbip-events-secret";
const CUSTOMER: &str = "21696816277";

/// The WooCommerce store, with Buzzbip's events signing secret.
fn store_with_events(dir: &Path, url: &str) {
    let profile = woo_profile(url).replace(
        "api_key = \"demo-api-key\"\n",
        &format!("api_key = \"demo-api-key\"\nwebhook_secret = \"{EVENTS_SECRET}\"\n"),
    );
    assert!(profile.contains("webhook_secret"));
    std::fs::write(dir.join("acme-woo.toml"), profile).unwrap();
    // And one store without it.
    std::fs::write(
        dir.join("atlas-shopify.toml"),
        crate::common::app::shopify_profile(url),
    )
    .unwrap();
}

/// No background workers: the test runs jobs, lookups and events itself.
async fn app() -> TestApp {
    start_with(store_with_events, |s| s.worker.concurrency = 0).await
}

/// The paid-order fixture as order `id`.
fn paid_order(id: u64) -> Vec<u8> {
    let mut order: Value =
        serde_json::from_slice(&fixture("woocommerce/order-updated-paid-tnd.json")).unwrap();
    order["id"] = json!(id);
    order["number"] = json!(id.to_string());
    serde_json::to_vec(&order).unwrap()
}

async fn post_order(p: &TestApp, id: u64) {
    let body = paid_order(id);
    let resp = p
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &body, &format!("d{id}")),
            body,
        )
        .await;
    assert_eq!(resp.status(), 200);
}

async fn job_of(p: &TestApp, order: u64) -> Job {
    p.jobs()
        .await
        .into_iter()
        .find(|j| j.order_id == order.to_string())
        .expect("the order's job")
}

/// Time passes for the lookups: every pending one is due now.
async fn lookups_due(url: &str) {
    db::exec(
        url,
        "UPDATE jobs SET delivery_poll_at = 0 WHERE delivery_poll_at IS NOT NULL",
    )
    .await;
}

async fn post_event(
    p: &TestApp,
    store: &str,
    body: &[u8],
    signature: Option<&str>,
) -> reqwest::Response {
    let mut req = p
        .http
        .post(format!("{}/buzzbip/events/{store}", p.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = signature {
        req = req.header("X-BuzzBip-Signature", sig);
    }
    req.send().await.unwrap()
}

fn sign(secret: &str, body: &[u8]) -> String {
    hex::encode(shopbip::platforms::signature::hmac_sha256(
        secret.as_bytes(),
        &[body],
    ))
}

/// Waits until the sandbox's posted events reached us and are processed.
async fn events_processed(p: &TestApp, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        p.service.process_buzzbip_events().await.unwrap();
        let done = db::scalar(
            &p.db_url,
            "SELECT COUNT(*) FROM buzzbip_events WHERE processed_at IS NOT NULL",
        )
        .await;
        if done >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{done} of {n} events processed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_send_becomes_delivered_by_polling() {
    let p = app().await;
    p.sandbox
        .control
        .set_delivery(&shopbip::sandbox::DeliveryUpdate {
            sent_after_ms: Some(0),
            delivered_after_ms: Some(60_000),
            not_on_whatsapp: None,
        })
        .await
        .unwrap();
    post_order(&p, 5120).await;
    p.service.run_pending_jobs().await.unwrap();
    let job = job_of(&p, 5120).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    assert_eq!(job.delivery.state.as_deref(), Some("accepted"));
    let first = job.delivery.poll_at.expect("a lookup is due");
    assert!(
        (14_000..=16_000).contains(&(first - job.updated_at)),
        "the first lookup 15 s after the send: {}",
        first - job.updated_at
    );
    // Not yet due: nothing is looked up.
    assert_eq!(p.service.poll_deliveries().await.unwrap(), 0);

    lookups_due(&p.db_url).await;
    assert_eq!(p.service.poll_deliveries().await.unwrap(), 1);
    let job = job_of(&p, 5120).await;
    assert_eq!(job.delivery.state.as_deref(), Some("sent"));
    assert_eq!(job.delivery.polls, 1);
    assert!(
        job.delivery.poll_at.is_some(),
        "not final: looked up again later"
    );

    p.sandbox.control.deliver_immediately().await.unwrap();
    lookups_due(&p.db_url).await;
    p.service.poll_deliveries().await.unwrap();
    let job = job_of(&p, 5120).await;
    assert_eq!(job.delivery.state.as_deref(), Some("delivered"));
    assert_eq!(job.delivery.poll_at, None, "final: no more lookups");
    let history = job.delivery.detail["history"].as_array().unwrap();
    let states: Vec<&str> = history
        .iter()
        .map(|h| h["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["sent", "delivered"]);
    let lookups = p.sandbox.control.calls_to("/api/whatsapp/").await.unwrap();
    assert_eq!(lookups.len(), 2);
    for call in &lookups {
        assert_eq!(call.header("x-api-key"), Some("demo-api-key"));
        assert!(call.header("authorization").unwrap().starts_with("Bearer "));
    }
    // The admin API shows it.
    let view: Value = p
        .admin(reqwest::Method::GET, &format!("/admin/jobs/{}", job.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["message_status"]["state"], "delivered", "{view}");
    assert_eq!(view["message_state"], "delivered", "{view}");
}

#[tokio::test]
async fn a_number_not_on_whatsapp_ends_failed_with_the_reason() {
    let p = app().await;
    p.sandbox.control.deliver_immediately().await.unwrap();
    p.sandbox
        .control
        .set_not_on_whatsapp(&[CUSTOMER])
        .await
        .unwrap();
    post_order(&p, 5120).await;
    p.service.run_pending_jobs().await.unwrap();
    lookups_due(&p.db_url).await;
    p.service.poll_deliveries().await.unwrap();
    let job = job_of(&p, 5120).await;
    assert_eq!(job.state, JobState::Done, "the send itself succeeded");
    assert_eq!(job.delivery.state.as_deref(), Some("failed"));
    assert_eq!(job.delivery.poll_at, None);
    let reason = job.delivery.detail["reason"].as_str().unwrap();
    assert!(reason.contains("not on WhatsApp"), "{reason}");
}

#[tokio::test]
async fn events_need_the_signature_and_are_stored_once_per_id() {
    let p = app().await;
    let event = json!({
        "id": "evt_7f3a9b2c", "type": "message.received", "createdAt": "2026-12-03T10:00:00Z",
        "data": {"messageId": "m1", "channel": "whatsapp", "body": "hello", "from": CUSTOMER}
    });
    let body = serde_json::to_vec(&event).unwrap();
    for bad in [
        None,
        Some("00".repeat(32)),
        Some(sign("another-secret", &body)),
    ] {
        let resp = post_event(&p, "acme-woo", &body, bad.as_deref()).await;
        assert_eq!(resp.status(), 401, "{bad:?}");
    }
    assert_eq!(p.count("buzzbip_events").await, 0, "nothing stored");
    // A store without the secret refuses even a signed event, and says why; an unknown
    // store is a 404.
    let resp = post_event(
        &p,
        "atlas-shopify",
        &body,
        Some(&sign(EVENTS_SECRET, &body)),
    )
    .await;
    assert_eq!(resp.status(), 401);
    let why: Value = resp.json().await.unwrap();
    assert!(
        why["error"]
            .as_str()
            .unwrap()
            .contains("buzzbip.webhook_secret"),
        "{why}"
    );
    let resp = post_event(&p, "nowhere", &body, Some(&sign(EVENTS_SECRET, &body))).await;
    assert_eq!(resp.status(), 404);

    let good = sign(EVENTS_SECRET, &body);
    let started = Instant::now();
    let resp = post_event(&p, "acme-woo", &body, Some(&good)).await;
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["status"], "stored");
    let again: Value = post_event(&p, "acme-woo", &body, Some(&good))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["status"], "duplicate");
    assert_eq!(p.count("buzzbip_events").await, 1);

    let not_json = b"{not json".to_vec();
    let resp = post_event(
        &p,
        "acme-woo",
        &not_json,
        Some(&sign(EVENTS_SECRET, &not_json)),
    )
    .await;
    assert_eq!(resp.status(), 400);

    // Processed after the answer: "hello" is not a keyword.
    events_processed(&p, 1).await;
    let outcome = db::text(&p.db_url, "SELECT outcome FROM buzzbip_events").await;
    assert!(outcome.starts_with("ignored"), "{outcome}");
}

#[tokio::test]
async fn stop_skips_the_next_order_and_start_restores_it() {
    let p = app().await;
    let events_url = format!("{}/buzzbip/events/acme-woo", p.base);
    p.sandbox
        .control
        .set_events_target(Some(&events_url), Some(EVENTS_SECRET))
        .await
        .unwrap();
    p.sandbox
        .control
        .inbound("demo@shopbip.test", CUSTOMER, "  Stop ")
        .await
        .unwrap();
    events_processed(&p, 1).await;
    let listed = db::scalar(
        &p.db_url,
        &format!("SELECT COUNT(*) FROM optouts WHERE phone = '+{CUSTOMER}' AND source = 'keyword'"),
    )
    .await;
    assert_eq!(listed, 1);

    post_order(&p, 5120).await;
    p.service.run_pending_jobs().await.unwrap();
    let job = job_of(&p, 5120).await;
    assert_eq!(job.state, JobState::Skipped);
    assert_eq!(job.last_error.as_deref(), Some("customer opted out"));
    assert!(
        p.sandbox.control.media().await.unwrap().is_empty(),
        "nothing uploaded"
    );

    p.sandbox
        .control
        .inbound("demo@shopbip.test", CUSTOMER, "START")
        .await
        .unwrap();
    events_processed(&p, 2).await;
    assert_eq!(p.count("optouts").await, 0);
    post_order(&p, 5121).await;
    p.service.run_pending_jobs().await.unwrap();
    let job = job_of(&p, 5121).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
}

#[tokio::test]
async fn an_event_settles_a_delivery_before_the_next_lookup() {
    let p = app().await;
    let events_url = format!("{}/buzzbip/events/acme-woo", p.base);
    p.sandbox
        .control
        .set_events_target(Some(&events_url), Some(EVENTS_SECRET))
        .await
        .unwrap();
    p.sandbox.control.deliver_immediately().await.unwrap();
    post_order(&p, 5120).await;
    p.service.run_pending_jobs().await.unwrap();
    // The sandbox posts message.sent (delivered) once the message is delivered.
    events_processed(&p, 1).await;
    let job = job_of(&p, 5120).await;
    assert_eq!(
        job.delivery.state.as_deref(),
        Some("delivered"),
        "{:?}",
        job.delivery
    );
    assert_eq!(job.delivery.poll_at, None);
    assert_eq!(job.delivery.detail["history"][0]["via"], "event");
    assert!(
        p.sandbox
            .control
            .calls_to("/api/whatsapp/")
            .await
            .unwrap()
            .is_empty(),
        "no lookup was needed"
    );
}

#[tokio::test]
async fn lookups_resume_after_a_restart() {
    let p = app().await;
    post_order(&p, 5120).await;
    p.service.run_pending_jobs().await.unwrap();
    assert_eq!(
        job_of(&p, 5120).await.delivery.state.as_deref(),
        Some("accepted")
    );
    let TestApp {
        sandbox,
        service,
        dir,
        db_url,
        ..
    } = p;
    service.stop().await;

    // The same database and stores, a new process.
    let mut settings = test_settings(dir.path(), dir.path().join("plugin-config")).await;
    settings.database.url = db_url.clone();
    settings.worker.concurrency = 0;
    let registry = shopbip::stores::StoreRegistry::load_dir(&settings.stores.dir).unwrap();
    let service =
        shopbip::app::Application::build(&settings, registry, shopbip::stores::reload::as_loaded())
            .await
            .unwrap();
    sandbox.control.deliver_immediately().await.unwrap();
    lookups_due(&db_url).await;
    assert_eq!(service.poll_deliveries().await.unwrap(), 1);
    let job = service
        .jobs
        .list(&shopbip::jobs::JobFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    assert_eq!(job.delivery.state.as_deref(), Some("delivered"));
    service.stop().await;
}

#[tokio::test]
async fn an_operator_lists_and_unlists_a_number_by_hand() {
    let p = app().await;
    let resp = p
        .http
        .post(format!("{}/admin/stores/acme-woo/optouts", p.base))
        .bearer_auth(crate::common::app::ADMIN_TOKEN)
        .json(&json!({"phone": "96 816 277"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(
        answer["status"], "added",
        "the store's country completes it"
    );
    assert!(!answer.to_string().contains("816277"), "{answer}");
    let list: Value = p
        .admin(reqwest::Method::GET, "/admin/stores/acme-woo/optouts")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["source"], "manual");
    assert_eq!(
        p.admin(reqwest::Method::GET, "/admin/stores/nowhere/optouts")
            .await
            .status(),
        404
    );
    post_order(&p, 5120).await;
    p.service.run_pending_jobs().await.unwrap();
    assert_eq!(job_of(&p, 5120).await.state, JobState::Skipped);

    // The CLI reads the same list.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shopbip"))
            .args(args)
            .env("SHOPBIP__DATABASE__URL", &p.db_url)
            .env("SHOPBIP__STORES__DIR", p.dir.path().join("plugin-config"))
            .env("SHOPBIP__LOG__LEVEL", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = cli(&["optout", "list", "--store", "acme-woo"]);
    assert!(
        listed.contains("1 opted out") && !listed.contains("816277"),
        "{listed}"
    );
    let removed = cli(&["optout", "remove", "--store", "acme-woo", "+21696816277"]);
    assert!(removed.contains("removed"), "{removed}");
    assert_eq!(p.count("optouts").await, 0);
    let resp = p
        .admin(
            reqwest::Method::DELETE,
            "/admin/stores/acme-woo/optouts/%2B21696816277",
        )
        .await;
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["status"], "not_listed");
}

/// A WooCommerce REST API stand-in on loopback: answers note posts with the statuses given,
/// in turn (the last repeated), and keeps each request's path, Authorization and body.
struct WooStandIn {
    base: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String, Value)>>>,
    _server: actix_web::dev::ServerHandle,
}

fn woo_stand_in(statuses: Vec<u16>) -> WooStandIn {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(String, String, Value)>>> = Arc::default();
    let left = Arc::new(Mutex::new(statuses));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (seen2, left2) = (seen.clone(), left.clone());
    let server = HttpServer::new(move || {
        let (seen, left) = (seen2.clone(), left2.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (seen, left) = (seen.clone(), left.clone());
            async move {
                let auth = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                seen.lock()
                    .unwrap()
                    .push((req.path().to_owned(), auth, json));
                let status = {
                    let mut left = left.lock().unwrap();
                    if left.len() > 1 {
                        left.remove(0)
                    } else {
                        left[0]
                    }
                };
                let mut answer =
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
                if status == 429 {
                    answer.insert_header(("Retry-After", "1"));
                }
                answer.json(json!({"id": 77, "note": "ok"}))
            }
        }))
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .disable_signals()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    WooStandIn {
        base,
        seen,
        _server: handle,
    }
}

/// The WooCommerce store with REST API keys pointing at `api`.
fn store_writing_back(api: &str) -> impl FnOnce(&Path, &str) {
    let api = api.to_owned();
    move |dir: &Path, url: &str| {
        store_with_events(dir, url);
        let file = dir.join("acme-woo.toml");
        let mut profile = std::fs::read_to_string(&file).unwrap();
        profile.push_str(&format!(
            "\n[woocommerce]\nconsumer_key = \"ck_test\"\nconsumer_secret = \"cs_test\"\napi_base_url = \"{api}\"\n"
        ));
        std::fs::write(file, profile).unwrap();
    }
}

async fn writebacks_due(url: &str) {
    db::exec(
        url,
        "UPDATE jobs SET writeback_at = 0 WHERE writeback_at IS NOT NULL",
    )
    .await;
}

#[tokio::test]
async fn the_outcome_is_noted_on_the_woocommerce_order_and_a_429_is_retried() {
    let api = woo_stand_in(vec![429, 201]);
    let p = start_with(store_writing_back(&api.base), |s| s.worker.concurrency = 0).await;
    p.sandbox.control.deliver_immediately().await.unwrap();
    post_order(&p, 5120).await;
    p.service.run_pending_jobs().await.unwrap();
    assert_eq!(
        p.service.write_backs().await.unwrap(),
        0,
        "nothing before the delivery is known"
    );
    lookups_due(&p.db_url).await;
    p.service.poll_deliveries().await.unwrap();
    let job = job_of(&p, 5120).await;
    assert_eq!(job.delivery.state.as_deref(), Some("delivered"));
    assert!(job.writeback.at.is_some(), "due once the delivery is final");

    assert_eq!(p.service.write_backs().await.unwrap(), 1);
    let job = job_of(&p, 5120).await;
    assert_eq!(
        job.writeback.detail["state"], "pending",
        "{:?}",
        job.writeback
    );
    assert!(
        job.writeback.at.unwrap() >= shopbip::clock::now_ms() + 50_000,
        "retried later"
    );
    writebacks_due(&p.db_url).await;
    assert_eq!(p.service.write_backs().await.unwrap(), 1);
    let job = job_of(&p, 5120).await;
    assert_eq!(job.writeback.detail["state"], "done", "{:?}", job.writeback);
    assert_eq!(job.writeback.at, None);

    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (path, auth, body) = &seen[1];
    assert_eq!(path, "/wp-json/wc/v3/orders/5120/notes");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("ck_test:cs_test");
    assert_eq!(auth, &format!("Basic {basic}"));
    let note = body["note"].as_str().unwrap();
    let number = job.steps["invoice_number"].as_str().unwrap();
    assert!(note.contains(number), "{note}");
    assert!(note.contains("WhatsApp"), "{note}");
    assert_eq!(body["customer_note"], false);
    let view: Value = p
        .admin(reqwest::Method::GET, &format!("/admin/jobs/{}", job.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["writeback"]["state"], "done", "{view}");
}

#[tokio::test]
async fn a_refused_write_back_leaves_the_message_done() {
    let api = woo_stand_in(vec![401]);
    let p = start_with(store_writing_back(&api.base), |s| s.worker.concurrency = 0).await;
    p.sandbox.control.deliver_immediately().await.unwrap();
    post_order(&p, 5120).await;
    p.service.run_pending_jobs().await.unwrap();
    lookups_due(&p.db_url).await;
    p.service.poll_deliveries().await.unwrap();
    assert_eq!(p.service.write_backs().await.unwrap(), 1);
    let job = job_of(&p, 5120).await;
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.delivery.state.as_deref(), Some("delivered"));
    assert_eq!(job.writeback.detail["state"], "failed");
    let error = job.writeback.detail["last_error"].as_str().unwrap();
    assert!(
        error.contains("consumer_key"),
        "names the keys to fix: {error}"
    );
    assert_eq!(
        job.writeback.at, None,
        "not retried: the keys must change first"
    );
}
