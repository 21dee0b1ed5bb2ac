//! Operations: the admin API and its OpenAPI document, replay, /metrics, hot reload.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::app::{ADMIN_TOKEN, TestApp, WOO_SECRET, start, woo_profile};
use crate::common::sign::*;
use reqwest::Method;
use serde_json::Value;
use shopbip::jobs::JobState;

const WOO_PAID: &str = "woocommerce/order-updated-paid-tnd.json";

fn woo_store(dir: &Path, url: &str) {
    std::fs::write(dir.join("acme-woo.toml"), woo_profile(url)).unwrap();
}

async fn post_paid(p: &TestApp, secret: &str, body: Vec<u8>, delivery: &str) -> u16 {
    p.post(
        "acme-woo",
        &woo_headers(secret, "order.updated", &body, delivery),
        body,
    )
    .await
    .status()
    .as_u16()
}

/// `GET /admin/jobs/{id}` as JSON.
async fn job_detail(p: &TestApp, id: i64) -> Value {
    p.admin(Method::GET, &format!("/admin/jobs/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_routes_refuse_a_missing_or_wrong_token_and_serve_with_it() {
    let p = start(woo_store).await;
    assert_eq!(
        post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await,
        200
    );
    let jobs = p.settled(1).await;
    let id = jobs[0].id;
    for path in [
        "/admin/stores",
        "/admin/jobs",
        &format!("/admin/jobs/{id}"),
        "/admin/openapi.json",
    ] {
        let none = p
            .http
            .get(format!("{}{path}", p.base))
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), 401, "{path} without a token");
        let wrong = p
            .http
            .get(format!("{}{path}", p.base))
            .bearer_auth("admin-test-tokeN")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path} with a wrong token");
    }
    let replay = p
        .http
        .post(format!("{}/admin/jobs/{id}/replay", p.base))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);

    let stores: Value = p
        .admin(Method::GET, "/admin/stores")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stores[0]["id"], "acme-woo");
    assert_eq!(stores[0]["platform"], "woocommerce");
    assert_eq!(stores[0]["jobs"]["done"], 1);
    assert!(
        stores[0]["last_webhook_at_ms"].as_i64().unwrap() > 0
            && stores[0]["last_send_at_ms"].as_i64().unwrap() > 0
    );

    let page: Value = p
        .admin(
            Method::GET,
            "/admin/jobs?store=acme-woo&state=done&order=5120",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(page["jobs"][0]["order_number"], "5120");
    let empty: Value = p
        .admin(Method::GET, "/admin/jobs?state=dead")
        .await
        .json()
        .await
        .unwrap();
    assert!(empty["jobs"].as_array().unwrap().is_empty());
    assert_eq!(
        p.admin(Method::GET, "/admin/jobs?state=lost")
            .await
            .status(),
        400
    );

    let detail = p
        .admin(Method::GET, &format!("/admin/jobs/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let json: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(json["event"], jobs[0].kind.to_string());
    assert_eq!(json["delivery"]["topic"], "order.updated");
    assert_eq!(json["steps"]["to"], "216•••••277");
    assert!(
        json["order"]["phone"].as_str().unwrap().contains('•'),
        "{detail}"
    );
    assert!(
        !detail.contains("96816277") && !detail.contains("96 816 277"),
        "phones masked: {detail}"
    );
    assert_eq!(
        p.admin(Method::GET, "/admin/jobs/999999").await.status(),
        404
    );
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token() {
    let sandbox = common::spawn_sandbox();
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("plugin-config");
    std::fs::create_dir_all(&stores).unwrap();
    woo_store(&stores, &sandbox.handle.base_url());
    let mut settings = common::app::test_settings(dir.path(), stores.clone()).await;
    settings.admin.token = secrecy::SecretString::from("");
    let registry = shopbip::stores::StoreRegistry::load_dir(&stores).unwrap();
    let service =
        shopbip::app::Application::build(&settings, registry, shopbip::stores::reload::as_loaded())
            .await
            .unwrap();
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/admin/stores", service.port))
        .bearer_auth("")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    service.stop().await;
}

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
async fn metrics_count_signatures_webhooks_and_sends() {
    let p = start(woo_store).await;
    let before = metrics_text(&p).await;
    assert_eq!(
        post_paid(&p, "wrong-secret", fixture(WOO_PAID), "x").await,
        401
    );
    assert_eq!(
        post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await,
        200
    );
    p.settled(1).await;
    let text = metrics_text(&p).await;
    for needle in [
        r#"shopbip_jobs{state="done"}"#,
        "shopbip_job_step_seconds_bucket",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from /metrics:\n{text}"
        );
    }
    // The recorder is process-wide and other tests use the same store id: each series must
    // have grown during this test, not merely exist.
    for series in [
        r#"shopbip_webhooks_total{store="acme-woo",outcome="bad_signature"}"#,
        r#"shopbip_webhooks_total{store="acme-woo",outcome="accepted"}"#,
        r#"shopbip_messages_sent_total{store="acme-woo"}"#,
        r#"shopbip_upstream_calls_total{endpoint="send",outcome="success"}"#,
        "shopbip_job_step_seconds_count",
    ] {
        assert!(
            metric(&text, series) > metric(&before, series),
            "{series} did not grow in /metrics:\n{text}"
        );
    }
    let stores: Value = p
        .admin(Method::GET, "/admin/stores")
        .await
        .json()
        .await
        .unwrap();
    assert!(stores[0]["failed_signatures"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn a_rotated_secret_takes_effect_without_restart_and_a_broken_edit_is_refused() {
    let p = start(woo_store).await;
    let stores = p.dir.path().join("plugin-config");
    let rotated = woo_profile(&p.sandbox.handle.base_url()).replace(
        &format!(
            "secrets = [\"{}\", \"{WOO_SECRET}\"]",
            common::app::WOO_OLD_SECRET
        ),
        "secrets = [\"rotated-2027\"]",
    );
    assert!(rotated.contains("rotated-2027"));
    // Editors and Kubernetes replace the file: write elsewhere, rename over it.
    let tmp = stores.join(".acme-woo.toml.tmp");
    std::fs::write(&tmp, &rotated).unwrap();
    std::fs::rename(&tmp, stores.join("acme-woo.toml")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut delivery = 0;
    loop {
        delivery += 1;
        let status = post_paid(&p, "rotated-2027", fixture(WOO_PAID), &delivery.to_string()).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rotated secret was never accepted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "old").await,
        401,
        "the old secret is gone"
    );

    const REFUSED: &str = r#"shopbip_config_reloads_total{outcome="refused"}"#;
    let refused_before = metric(&metrics_text(&p).await, REFUSED);
    std::fs::write(
        stores.join("acme-woo.toml"),
        rotated.replace("platform =", "platfrom ="),
    )
    .unwrap();
    // Waits for the reload to be refused (counted), not for a fixed time.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = metrics_text(&p).await;
        if metric(&metrics, REFUSED) > refused_before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broken edit was never refused:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let eur = fixture("woocommerce/order-updated-paid-eur.json");
    assert_eq!(
        post_paid(&p, "rotated-2027", eur, "e1").await,
        200,
        "the last good config still serves"
    );
}

async fn metrics_text(p: &TestApp) -> String {
    p.http
        .get(format!("{}/metrics", p.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A series' value in Prometheus text (0 when absent); a bare name sums all its label sets.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(name, _)| {
            *name == series || (!series.contains('{') && name.split('{').next() == Some(series))
        })
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}

/// The keys of a JSON object as the text has them, duplicates included (serde_json's `Value`
/// would silently keep one); fails if any object at any depth repeats a key.
fn keys_of(text: &str) -> Vec<String> {
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    struct Unique(Vec<String>);
    struct UniqueVisitor;
    impl<'de> Deserialize<'de> for Unique {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(UniqueVisitor)
        }
    }
    impl<'de> Visitor<'de> for UniqueVisitor {
        type Value = Unique;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_unit<E>(self) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
            while seq.next_element::<Unique>()?.is_some() {}
            Ok(Unique(vec![]))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                if keys.contains(&key) {
                    return Err(de::Error::custom(format!("duplicate key {key:?}")));
                }
                map.next_value::<Unique>()?;
                keys.push(key);
            }
            Ok(Unique(keys))
        }
    }
    serde_json::from_str::<Unique>(text)
        .unwrap_or_else(|e| panic!("{e}: {text}"))
        .0
}

#[test]
fn keys_of_catches_a_repeated_key() {
    assert_eq!(keys_of(r#"{"a": 1, "b": [{"c": null}]}"#), ["a", "b"]);
    let repeated = std::panic::catch_unwind(|| keys_of(r#"{"a": {"e": 1, "e": {}}}"#));
    assert!(repeated.is_err());
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

/// The answer is JSON `{"error": "…"}` and nothing else.
async fn assert_json_error(resp: reqwest::Response, status: u16, what: &str) -> String {
    assert_eq!(resp.status().as_u16(), status, "{what}");
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await.unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: answered {content_type}: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 1, "{what}: {text}");
    let message = body["error"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "{what}: {text}");
    message
}

#[tokio::test]
async fn every_admin_error_is_json_including_bad_paths_and_queries() {
    let p = start(woo_store).await;
    post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await;
    let id = p.settled(1).await[0].id;
    for (method, path, status, needle) in [
        (Method::GET, "/admin/jobs?limit=abc", 400, "limit"),
        (Method::GET, "/admin/jobs?limit=0", 400, "limit"),
        (Method::GET, "/admin/jobs?cursor=later", 400, "cursor"),
        (Method::GET, "/admin/jobs?state=lost", 400, "lost"),
        (Method::GET, "/admin/jobs?stat=dead", 400, "stat"),
        (Method::GET, "/admin/jobs?store=a&store=b", 400, "twice"),
        (Method::GET, "/admin/jobs/abc", 400, "abc"),
        (Method::GET, "/admin/jobs/-3", 400, "-3"),
        (
            Method::GET,
            "/admin/jobs/99999999999999999999",
            400,
            "job id",
        ),
        (Method::POST, "/admin/jobs/abc/replay", 400, "abc"),
        (Method::GET, "/admin/jobs/999999", 404, "no job 999999"),
        (Method::POST, "/admin/jobs/999999/replay", 404, "no job"),
        (Method::GET, "/admin/nope", 404, "no admin route"),
        (Method::GET, "/admin", 404, "no admin route"),
        (
            Method::DELETE,
            &format!("/admin/jobs/{id}"),
            405,
            "allowed: GET",
        ),
        (
            Method::GET,
            &format!("/admin/jobs/{id}/replay"),
            405,
            "allowed: POST",
        ),
        (Method::POST, "/admin/stores", 405, "allowed: GET"),
    ] {
        let what = format!("{method} {path}");
        let resp = p.admin(method, path).await;
        let message = assert_json_error(resp, status, &what).await;
        assert!(message.contains(needle), "{what}: {message}");
    }
    // The one query that still works with empty values (the README's template).
    assert_eq!(
        p.admin(
            Method::GET,
            "/admin/jobs?store=&state=&order=&limit=&cursor="
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let p = start(woo_store).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let resp = p
            .http
            .get(format!("{}/admin/stores", p.base))
            .header("authorization", format!("{scheme} {ADMIN_TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{scheme}");
    }
    for value in [
        format!("Basic {ADMIN_TOKEN}"),
        format!("Bearer{ADMIN_TOKEN}"),
        format!("bearer {ADMIN_TOKEN}x"),
        format!("bearer {}", &ADMIN_TOKEN[1..]),
        ADMIN_TOKEN.to_owned(),
        "bearer".to_owned(),
    ] {
        let resp = p
            .http
            .get(format!("{}/admin/stores", p.base))
            .header("authorization", &value)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer realm=\"shopbip admin\""),
            "{value}"
        );
        assert_json_error(resp, 401, &value).await;
    }
}

#[tokio::test]
async fn an_unauthenticated_request_is_refused_before_its_path_or_query_is_read() {
    let p = start(woo_store).await;
    for (method, path) in [
        (Method::GET, "/admin/jobs?limit=abc"),
        (Method::GET, "/admin/jobs?stat=dead"),
        (Method::GET, "/admin/jobs/abc"),
        (Method::POST, "/admin/jobs/abc/replay"),
        (Method::GET, "/admin/nope"),
        (Method::DELETE, "/admin/jobs/1"),
    ] {
        let what = format!("{method} {path}");
        let none = p
            .http
            .request(method.clone(), format!("{}{path}", p.base))
            .send()
            .await
            .unwrap();
        assert_json_error(none, 401, &format!("{what} without a token")).await;
        let wrong = p
            .http
            .request(method, format!("{}{path}", p.base))
            .bearer_auth("admin-test-tokeN")
            .send()
            .await
            .unwrap();
        assert_json_error(wrong, 401, &format!("{what} with a wrong token")).await;
    }
}

/// The served document, checked by `openapi-spec-validator` (PyPI), the reference validator of
/// OpenAPI 3.0 and 3.1 documents. `.ci/run` installs it and runs this test.
#[tokio::test]
#[ignore = "needs openapi-spec-validator (pip)"]
async fn the_served_openapi_document_passes_openapi_spec_validator() {
    let p = start(woo_store).await;
    let resp = p.admin(Method::GET, "/admin/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    keys_of(&text);
    let file = p.dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let run = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .arg(&file)
            .output()
    };
    let out = run("openapi-spec-validator", &[])
        .or_else(|_| run("python3", &["-m", "openapi_spec_validator"]))
        .expect("openapi-spec-validator runs (pip install openapi-spec-validator)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "openapi-spec-validator is not installed (pip install openapi-spec-validator): {stderr}"
    );
    assert!(
        out.status.success() && stdout.contains("OK"),
        "the OpenAPI document is invalid:\n{stdout}\n{stderr}\n{text}"
    );
}

/// `schema` with its `$ref` resolved and an `allOf` merged into one object schema.
fn resolve(doc: &Value, schema: &Value) -> Value {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {target}"));
        let found = &doc["components"]["schemas"][name];
        assert!(found.is_object(), "$ref {target} points nowhere");
        return resolve(doc, found);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for part in parts {
            let part = resolve(doc, part);
            if let Some(p) = part["properties"].as_object() {
                for (k, v) in p {
                    assert!(
                        properties.insert(k.clone(), v.clone()).is_none(),
                        "property {k} defined twice in an allOf"
                    );
                }
            }
            if let Some(r) = part["required"].as_array() {
                required.extend(r.iter().cloned());
            }
        }
        return serde_json::json!({
            "type": "object", "properties": properties, "required": required
        });
    }
    schema.clone()
}

/// What in `value` does not match the document's `schema` (the keywords utoipa emits). An
/// object schema with `properties` is taken as closed: a field served but not documented is an
/// error.
fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = resolve(doc, schema);
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|o| mismatches(doc, o, value, at).is_empty())
            .count();
        return match matching {
            1 => vec![],
            n => vec![format!("{at}: {value} matches {n} of oneOf {options:?}")],
        };
    }
    if let Some(options) = schema["anyOf"].as_array() {
        return match options
            .iter()
            .any(|o| mismatches(doc, o, value, at).is_empty())
        {
            true => vec![],
            false => vec![format!("{at}: {value} matches none of anyOf {options:?}")],
        };
    }
    let mut errors = Vec::new();
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("{at}: unknown type {other}"),
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        errors.push(format!("{at}: {value} is not {types:?}"));
        return errors;
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for (key, v) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(s) => errors.extend(mismatches(doc, s, v, &format!("{at}.{key}"))),
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => errors.push(format!("{at}.{key} is not allowed")),
                    extra if extra.is_object() => {
                        errors.extend(mismatches(doc, extra, v, &format!("{at}.{key}")))
                    }
                    _ if properties.is_some() => {
                        errors.push(format!("{at}.{key} is served but not documented"))
                    }
                    _ => {}
                },
            }
        }
        for key in schema["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap();
            if !object.contains_key(key) {
                errors.push(format!("{at}.{key} is required but missing"));
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            errors.extend(mismatches(doc, schema, item, &format!("{at}[{i}]")));
        }
    }
    errors
}

#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let p = start(woo_store).await;
    post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await;
    let id = p.settled(1).await[0].id;
    let doc: Value = p
        .admin(Method::GET, "/admin/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    documented.sort_unstable();
    assert_eq!(
        documented,
        [
            "/admin/jobs",
            "/admin/jobs/{id}",
            "/admin/jobs/{id}/replay",
            "/admin/openapi.json",
            "/admin/stores"
        ]
    );

    // Every answer a route gives is documented, and its body matches the documented schema.
    let check = |method: String, path: String, resp: reqwest::Response| {
        let doc = &doc;
        async move {
            let status = resp.status().as_u16().to_string();
            let op = &doc["paths"][&path][method.to_lowercase()];
            let documented = &op["responses"][&status];
            assert!(
                documented.is_object(),
                "{method} {path} answered {status}, not documented"
            );
            assert!(
                documented["description"].is_string(),
                "{method} {path} {status} has no description"
            );
            let schema = &documented["content"]["application/json"]["schema"];
            assert!(
                schema.is_object(),
                "{method} {path} {status}: no JSON schema"
            );
            let body: Value = resp.json().await.unwrap();
            let errors = mismatches(doc, schema, &body, "body");
            assert!(
                errors.is_empty(),
                "{method} {path} {status}: {errors:#?}\n{body:#}"
            );
        }
    };
    let all_methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    for (path, item) in paths {
        let served: Vec<String> = item.as_object().unwrap().keys().cloned().collect();
        let with = |id: &str| path.replace("{id}", id);
        for method in &served {
            let m: Method = method.to_uppercase().parse().unwrap();
            let url = with(&id.to_string());
            // Authenticated, then as the replayed job is queued (a replay gets 409), then
            // without a token, then for an unknown job and a malformed id.
            check(method.clone(), path.clone(), p.admin(m.clone(), &url).await).await;
            check(method.clone(), path.clone(), p.admin(m.clone(), &url).await).await;
            let anonymous = p
                .http
                .request(m.clone(), format!("{}{url}", p.base))
                .send()
                .await
                .unwrap();
            check(method.clone(), path.clone(), anonymous).await;
            if path.contains("{id}") {
                for bad in ["424242", "abc"] {
                    check(
                        method.clone(),
                        path.clone(),
                        p.admin(m.clone(), &with(bad)).await,
                    )
                    .await;
                }
            }
            if path == "/admin/jobs" {
                let bad = p.admin(m.clone(), "/admin/jobs?limit=abc").await;
                check(method.clone(), path.clone(), bad).await;
                let page = p.admin(m.clone(), "/admin/jobs?limit=1").await;
                check(method.clone(), path.clone(), page).await;
            }
        }
        // A method the document does not list is not served.
        for m in &all_methods {
            if served.contains(&m.as_str().to_lowercase()) {
                continue;
            }
            let url = with(&id.to_string());
            let resp = p.admin(m.clone(), &url).await;
            let allow = resp
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_lowercase();
            assert_eq!(allow, served.join(", "), "{m} {path}");
            assert_json_error(resp, 405, &format!("{m} {path}")).await;
        }
    }
    // Nor is any path the document does not list.
    for path in [
        "/admin",
        "/admin/",
        "/admin/job",
        "/admin/jobs/1/run",
        "/admin/stores/acme-woo",
        "/admin/openapi.yaml",
        "/admin/metrics",
    ] {
        for m in &all_methods {
            let resp = p.admin(m.clone(), path).await;
            assert_json_error(resp, 404, &format!("{m} {path}")).await;
        }
    }
}
