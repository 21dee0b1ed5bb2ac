//! The logs of a full run (JSON, debug level for shopbip) hold no phone number, password, API
//! key, webhook secret, admin token or Buzzbip token, and do hold one line per request and per
//! job step.
//!
//! One file past 400 lines for one idea: the full run is one test that drives every path a
//! secret or a phone could leak through and then reads the whole log once.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::app::{WOO_SECRET, woo_profile};
use crate::common::sign::*;
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
    let _kill = KillOnDrop(child.id());
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

/// `shopbip serve` as a child process whose stderr (the logs) is read as it comes.
/// The port of serve's start-up line, in either log format (`port=8080`, `"port":8080`).
fn listening_port(logs: &str) -> Option<u16> {
    let line = logs
        .lines()
        .find(|l| l.contains("shopbip receiving webhooks"))?;
    let at = line
        .find("port=")
        .map(|i| i + 5)
        .or_else(|| line.find("\"port\":").map(|i| i + 7))?;
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Kills a spawned `serve` when a test ends, also by a failed assertion: a server left running
/// would hold its PostgreSQL test database open and keep CI from dropping it.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(self.0.to_string())
            .stderr(Stdio::null())
            .status();
    }
}

struct Serve {
    _kill: KillOnDrop,
    child: std::process::Child,
    base: String,
    logs: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    stores: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

const ADMIN_TOKEN: &str = "admin-0a9f7c1e55";

impl Serve {
    async fn start(profile: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stores = dir.path().join("plugin-config");
        std::fs::create_dir_all(&stores).unwrap();
        std::fs::write(stores.join("acme-woo.toml"), profile).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shopbip"));
        // Port 0: the port it bound is read from its start-up line, so no other test can take
        // it in between.
        cmd.arg("serve")
            .current_dir(dir.path())
            .env("SHOPBIP__SERVER__PORT", "0")
            .env("SHOPBIP__STORES__DIR", &stores)
            .env(
                "SHOPBIP__DATABASE__URL",
                common::db::fresh_url(dir.path()).await,
            )
            .env("SHOPBIP__ADMIN__TOKEN", ADMIN_TOKEN)
            .env("SHOPBIP__WORKER__POLL_INTERVAL_MS", "20")
            .env_remove("RUST_LOG")
            .env_remove("SHOPBIP__LOG__FORMAT")
            .env_remove("SHOPBIP__LOG__LEVEL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = std::io::Read::read(&mut stderr, &mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
            if let Some(port) = listening_port(&text) {
                break port;
            }
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                panic!("serve never started:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let base = format!("http://127.0.0.1:{port}");
        let serve = Self {
            _kill: KillOnDrop(child.id()),
            child,
            base,
            logs,
            reader: Some(reader),
            stores,
            _dir: dir,
        };
        // /readyz answers before serve listens for SIGTERM: its last start-up line says it does.
        serve
            .wait_for_logs("serve never finished starting", |l| {
                l.contains("shopbip receiving webhooks")
            })
            .await;
        serve
    }

    fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap()).into_owned()
    }

    /// Waits until the logs so far satisfy `done`.
    async fn wait_for_logs(&self, what: &str, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.logs()) {
            assert!(Instant::now() < deadline, "{what}:\n{}", self.logs());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then everything the process wrote, as raw bytes.
    fn stop(mut self) -> Vec<u8> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        // Bounded: a serve that never stops fails the test instead of hanging the run.
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "serve did not stop within 30 s of SIGTERM:\n{}",
                    String::from_utf8_lossy(&self.logs.lock().unwrap())
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.reader.take().unwrap().join().unwrap();
        let logs = self.logs.lock().unwrap().clone();
        assert!(
            status.success(),
            "serve did not stop cleanly:\n{}",
            String::from_utf8_lossy(&logs)
        );
        logs
    }

    async fn post_woo(&self, store: &str, body: &[u8], delivery: &str) -> u16 {
        reqwest::Client::new()
            .post(format!("{}/webhooks/{store}", self.base))
            .headers(
                woo_headers(WOO_SECRET, "order.updated", body, delivery)
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
                    .collect(),
            )
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn wait_jobs_finished(&self, count: usize) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let page: Value = http
                .get(format!("{}/admin/jobs", self.base))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let jobs = page["jobs"].as_array().unwrap();
            if jobs.len() == count
                && jobs
                    .iter()
                    .all(|j| j["state"] == "done" || j["state"] == "skipped")
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "jobs never finished: {page}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The full numbers of the fixture order, in every form they could be printed in.
const FULL_NUMBERS: [&str; 5] = [
    "21696816277",
    "96816277",
    "96 816 277",
    "+216 96 816 277",
    "9681627",
];

/// At `trace`, the phone library, the HTTP client and the SQL driver would print numbers,
/// bodies and statements: they are capped at `info` whatever `log.level` says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_at_trace_hold_no_phone_number() {
    let sandbox = common::spawn_sandbox();
    for format in ["json", "pretty"] {
        let serve = Serve::start(
            &woo_profile(&sandbox.handle.base_url()),
            &[
                ("SHOPBIP__LOG__LEVEL", "trace"),
                ("SHOPBIP__LOG__FORMAT", format),
            ],
        )
        .await;
        let order = fixture("woocommerce/order-updated-paid-tnd.json");
        assert_eq!(serve.post_woo("acme-woo", &order, format).await, 200);
        serve.wait_jobs_finished(1).await;
        let logs = String::from_utf8_lossy(&serve.stop()).into_owned();
        for number in FULL_NUMBERS {
            assert!(
                !logs.contains(number),
                "{format}: the logs contain {number:?}"
            );
        }
        // shopbip's own debug lines are there: the level did apply to shopbip.
        assert!(logs.contains("DEBUG"), "{format}: no debug line:\n{logs}");
        for line in logs.lines() {
            let third_party = [
                "rlibphonenumber",
                "sqlx",
                "hyper",
                "reqwest",
                "h2",
                "actix",
                "rustls",
            ]
            .iter()
            .any(|t| {
                line.contains(&format!("{t}::")) || line.contains(&format!("\"target\":\"{t}"))
            });
            let verbose = line.contains("DEBUG") || line.contains("TRACE");
            assert!(
                !(third_party && verbose),
                "{format}: a third-party line above info: {line}"
            );
        }
    }
}

/// A store id from the URL may hold a newline or ESC once percent-decoded: the default (pretty)
/// format escapes them, so no line is forged and nothing reaches the terminal raw. Nor does any
/// colour code: stderr here is a pipe, not a terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_strings_cannot_forge_log_lines_and_pipes_get_no_colour() {
    let sandbox = common::spawn_sandbox();
    let serve = Serve::start(&woo_profile(&sandbox.handle.base_url()), &[]).await;
    let forged = "acme%0A2026-01-01T00:00:00Z%20ERROR%20forged%1B%5B31m%0D";
    let order = fixture("woocommerce/order-updated-paid-tnd.json");
    assert_eq!(serve.post_woo(forged, &order, "1").await, 404);
    let long = "a".repeat(1000);
    serve.post_woo(&long, &order, "2").await;
    serve
        .wait_for_logs("no webhook line for both store ids", |l| {
            l.contains("forged") && l.contains(&"a".repeat(125))
        })
        .await;
    let bytes = serve.stop();
    let logs = String::from_utf8_lossy(&bytes).into_owned();
    assert!(!bytes.contains(&0x1b), "a raw ESC in the logs:\n{logs:?}");
    assert!(!bytes.contains(&b'\r'), "a raw CR in the logs:\n{logs:?}");
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("forged") && !l.contains("webhook")),
        "a forged line:\n{logs}"
    );
    assert!(
        logs.contains(r"acme\n2026-01-01T00:00:00Z ERROR forged\u{1b}[31m\r"),
        "{logs}"
    );
    // Cut to 128 bytes.
    assert!(!logs.contains(&"a".repeat(128)), "{logs}");
    assert!(logs.contains(&format!("{}…", "a".repeat(125))), "{logs}");
}

/// A profile broken while serve runs is refused with its file, key and line in the ERROR log,
/// and without the secret on the broken line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reload_logs_no_secret() {
    let sandbox = common::spawn_sandbox();
    let good = woo_profile(&sandbox.handle.base_url());
    for format in ["pretty", "json"] {
        let serve = Serve::start(&good, &[("SHOPBIP__LOG__FORMAT", format)]).await;
        let file = serve.stores.join("acme-woo.toml");
        let cases = [
            // A string never closed: toml would quote the line.
            (
                "password = \"demo-password\"",
                "password = \"hunter2-in-reload",
                "buzzbip.password: line 9: not valid TOML",
            ),
            // A value of the wrong type: serde would quote the value.
            (
                "secrets = [\"woo-secret-2025\", \"woo-secret-2026\"]",
                "secrets = \"hunter2-in-reload\"",
                "webhook.secrets: line 5: expected a sequence (the value is not shown)",
            ),
        ];
        for (i, (line, broken, _)) in cases.into_iter().enumerate() {
            assert!(good.contains(line), "{line}");
            std::fs::write(&file, good.replace(line, broken)).unwrap();
            serve
                .wait_for_logs("the broken profile was never refused", |l| {
                    l.matches("not reloaded").count() > i
                })
                .await;
        }
        let logs = String::from_utf8_lossy(&serve.stop()).into_owned();
        assert!(!logs.contains("hunter2"), "{format}: {logs}");
        for (_, _, expected) in cases {
            assert!(logs.contains(expected), "{format}: {expected:?} in\n{logs}");
        }
    }
}
