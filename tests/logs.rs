//! The logs of a full run (JSON, debug level for shopbip) hold no phone number, password, API
//! key, webhook secret, admin token or Buzzbip token, and do hold one line per request and per
//! job step.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::app::{WOO_SECRET, woo_profile};
use common::sign::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_run_logs_no_secret_and_no_phone_number() {
    let sandbox = common::spawn_sandbox();
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("plugin-config");
    std::fs::create_dir_all(&stores).unwrap();
    std::fs::write(
        stores.join("acme-woo.toml"),
        woo_profile(&sandbox.handle.base_url()),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let admin_token = "admin-0a9f7c1e55";
    let child = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("serve")
        .env("SHOPBIP__SERVER__PORT", port.to_string())
        .env("SHOPBIP__STORES__DIR", &stores)
        .env(
            "SHOPBIP__DATABASE__URL",
            common::db::fresh_url(dir.path()).await,
        )
        .env("SHOPBIP__ADMIN__TOKEN", admin_token)
        .env("SHOPBIP__LOG__FORMAT", "json")
        .env("SHOPBIP__LOG__LEVEL", "info,shopbip=debug")
        .env("SHOPBIP__WORKER__POLL_INTERVAL_MS", "20")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "serve never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let good = fixture("woocommerce/order-updated-paid-tnd.json");
    let mut no_phone: Value = serde_json::from_slice(&good).unwrap();
    no_phone["id"] = 777.into();
    no_phone["billing"]["phone"] = "+216 96 816 27".into();
    let no_phone = serde_json::to_vec(&no_phone).unwrap();
    for (secret, body, d) in [
        (WOO_SECRET, good.clone(), "1"),
        (WOO_SECRET, no_phone, "2"),
        ("wrong", good.clone(), "3"),
    ] {
        http.post(format!("{base}/webhooks/acme-woo"))
            .headers(
                woo_headers(secret, "order.updated", &body, d)
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
                    .collect(),
            )
            .body(body)
            .send()
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page: Value = http
            .get(format!("{base}/admin/jobs"))
            .bearer_auth(admin_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let jobs = page["jobs"].as_array().unwrap();
        if jobs.len() == 2
            && jobs
                .iter()
                .all(|j| j["state"] == "done" || j["state"] == "skipped")
        {
            break;
        }
        assert!(Instant::now() < deadline, "jobs never finished: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = sandbox.control.calls_to("/api/v2").await.unwrap()[0]
        .header("authorization")
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_owned();

    // SIGTERM, as an orchestrator would, then read everything it wrote.
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let logs =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "serve did not stop cleanly on SIGTERM:\n{logs}"
    );

    for secret in [
        "21696816277",
        "96816277",
        "96 816 277",
        "9681627",
        "96 816 27",
        "demo-password",
        "demo-api-key",
        WOO_SECRET,
        admin_token,
        token.as_str(),
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(lines.len() >= 10, "JSON log lines expected:\n{logs}");
    let has = |message: &str, fields: &[&str]| {
        lines
            .iter()
            .any(|l| l["message"] == message && fields.iter().all(|f| !l[*f].is_null()))
    };
    assert!(
        has("webhook", &["store", "outcome", "order", "elapsed_us"]),
        "{logs}"
    );
    assert!(
        has("request", &["method", "path", "status", "elapsed_us"]),
        "{logs}"
    );
    assert!(
        has(
            "job step",
            &["job", "store", "order", "step", "outcome", "elapsed_ms"]
        ),
        "{logs}"
    );
    assert!(
        has("job", &["job", "store", "order", "outcome", "elapsed_ms"]),
        "{logs}"
    );
    assert!(
        logs.contains("skipped") && logs.contains("216•••"),
        "the skip reason is logged, masked:\n{logs}"
    );
}
