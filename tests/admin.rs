//! Operations: the admin API and its OpenAPI document, replay, /metrics, hot reload.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::app::{WOO_SECRET, woo_profile};
use common::pipeline::{ADMIN_TOKEN, Pipeline, start};
use common::sign::*;
use reqwest::Method;
use serde_json::Value;
use shopbip::jobs::JobState;

const WOO_PAID: &str = "woocommerce/order-updated-paid-tnd.json";

fn woo_store(dir: &Path, url: &str) {
    std::fs::write(dir.join("acme-woo.toml"), woo_profile(url)).unwrap();
}

async fn post_paid(p: &Pipeline, secret: &str, body: Vec<u8>, delivery: &str) -> u16 {
    p.post(
        "acme-woo",
        &woo_headers(secret, "order.updated", &body, delivery),
        body,
    )
    .await
    .status()
    .as_u16()
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
        stores[0]["last_webhook_at"].as_i64().unwrap() > 0
            && stores[0]["last_send_at"].as_i64().unwrap() > 0
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
    assert_eq!(json["event"]["topic"], "order.updated");
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
    let mut settings = common::pipeline::test_settings(dir.path(), stores.clone()).await;
    settings.admin.token = secrecy::SecretString::from("");
    let registry = shopbip::stores::StoreRegistry::load_dir(&stores).unwrap();
    let service = shopbip::serve::Service::start(&settings, registry, shopbip::serve::as_loaded())
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
    let first: Value = p
        .admin(Method::GET, &format!("/admin/jobs/{id}"))
        .await
        .json()
        .await
        .unwrap();
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
    let after: Value = p
        .admin(Method::GET, &format!("/admin/jobs/{id}"))
        .await
        .json()
        .await
        .unwrap();
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
    assert_eq!(
        post_paid(&p, "wrong-secret", fixture(WOO_PAID), "x").await,
        401
    );
    assert_eq!(
        post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await,
        200
    );
    p.settled(1).await;
    let text = p
        .http
        .get(format!("{}/metrics", p.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        r#"shopbip_webhooks_total{store="acme-woo",outcome="bad_signature"}"#,
        r#"shopbip_webhooks_total{store="acme-woo",outcome="accepted"}"#,
        r#"shopbip_messages_sent_total{store="acme-woo"}"#,
        r#"shopbip_jobs{state="done"}"#,
        r#"shopbip_upstream_calls_total{endpoint="send",outcome="success"}"#,
        "shopbip_job_step_seconds_bucket",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from /metrics:\n{text}"
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

    std::fs::write(
        stores.join("acme-woo.toml"),
        rotated.replace("platform =", "platfrom ="),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let eur = fixture("woocommerce/order-updated-paid-eur.json");
    assert_eq!(
        post_paid(&p, "rotated-2027", eur, "e1").await,
        200,
        "the last good config still serves"
    );
    let metrics = p
        .http
        .get(format!("{}/metrics", p.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"shopbip_config_reloads_total{outcome="refused"}"#),
        "{metrics}"
    );
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
            "/admin/stores"
        ]
    );
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let url = path.replace("{id}", &id.to_string());
            let resp = p.admin(method.to_uppercase().parse().unwrap(), &url).await;
            let status = resp.status().as_u16().to_string();
            assert!(
                op["responses"].get(&status).is_some(),
                "{method} {path} answered {status}, not documented"
            );
            let body: Value = resp.json().await.unwrap();
            // Every field served is a documented property of the response schema.
            let schema_ref =
                op["responses"][&status]["content"]["application/json"]["schema"].clone();
            let item_ref = schema_ref
                .get("items")
                .cloned()
                .unwrap_or(schema_ref.clone());
            let name = item_ref["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            let schema = &doc["components"]["schemas"][name];
            let props: Vec<String> = schema["properties"]
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            let all_of: Vec<String> = schema["allOf"]
                .as_array()
                .map(|parts| {
                    parts
                        .iter()
                        .flat_map(|part| {
                            let target = part
                                .get("$ref")
                                .and_then(Value::as_str)
                                .map(|r| {
                                    doc["components"]["schemas"][r.rsplit('/').next().unwrap()]
                                        .clone()
                                })
                                .unwrap_or(part.clone());
                            target["properties"]
                                .as_object()
                                .map(|o| o.keys().cloned().collect::<Vec<_>>())
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .unwrap_or_default();
            let known: Vec<String> = props.into_iter().chain(all_of).collect();
            let sample = if body.is_array() {
                body[0].clone()
            } else {
                body.clone()
            };
            for key in sample.as_object().unwrap().keys() {
                assert!(
                    known.contains(key),
                    "{method} {path}: field {key} is not in the {name} schema ({known:?})"
                );
            }
        }
    }
    let _ = ADMIN_TOKEN;
}
