//! Hostile bodies and clients: compressed bodies refused unread, stalled bodies cut off, and
//! many such clients at once held to a bounded amount of memory, measured on `shopbip serve`
//! as its own process.

use super::{WOO_PAID, post_paid};
use crate::common::app::*;
use crate::common::sign::*;
use serde_json::Value;

/// `shopbip serve` as its own process (so its memory is measured alone), on port 0, with the
/// WooCommerce store and a SQLite file; killed when dropped.
struct ServeChild {
    child: std::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl ServeChild {
    fn start(body_timeout_secs: u64) -> Self {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let stores = dir.path().join("plugin-config");
        std::fs::create_dir_all(&stores).unwrap();
        std::fs::write(
            stores.join("acme-woo.toml"),
            woo_profile("http://127.0.0.1:9"),
        )
        .unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shopbip"))
            .arg("serve")
            .current_dir(dir.path())
            .env("SHOPBIP__SERVER__PORT", "0")
            .env("SHOPBIP__STORES__DIR", &stores)
            .env(
                "SHOPBIP__DATABASE__URL",
                format!("sqlite://{}", dir.path().join("shopbip.db").display()),
            )
            .env(
                "SHOPBIP__SERVER__BODY_TIMEOUT_SECS",
                body_timeout_secs.to_string(),
            )
            .env("SHOPBIP__LOG__FORMAT", "json")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The port it bound, from its start-up line; then its log is drained so it never
        // blocks on a full pipe.
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                let v: Value = serde_json::from_str(&l).ok()?;
                v["message"]
                    .as_str()?
                    .starts_with("shopbip receiving webhooks")
                    .then(|| v["port"].as_u64())?
            })
            .expect("serve never said which port it listens on");
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            addr: format!("127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// Resident memory of the server process, in KiB.
    fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The most the server process has held resident since [`Self::reset_peak`], in KiB.
    fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// Starts the peak over from the current resident memory (Linux: `clear_refs` 5).
    fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").unwrap();
    }

    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// A raw HTTP/1.1 request head for a webhook, with `extra` header lines.
    fn request_head(&self, length: usize, extra: &str) -> String {
        format!(
            "POST /webhooks/acme-woo HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             content-length: {length}\r\n{extra}\r\n",
            self.addr
        )
    }

    /// Waits until the warm-up webhook's job has had its first try (its invoice rendered, its
    /// upload refused: Buzzbip is a closed port here), so the renderer's memory is in the
    /// baseline and not counted against the clients measured after it.
    async fn settle(&self) {
        let client = reqwest::Client::new();
        for _ in 0..400 {
            let text = client
                .get(format!("http://{}/metrics", self.addr))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if text.contains("shopbip_job_retries_total{") {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the warm-up job was never tried");
    }

    async fn post_paid(&self, delivery: &str) -> u16 {
        let body = fixture(WOO_PAID);
        let mut req = reqwest::Client::new()
            .post(format!("http://{}/webhooks/acme-woo", self.addr))
            .body(body.clone());
        for (k, v) in woo_headers(WOO_SECRET, "order.updated", &body, delivery) {
            req = req.header(k, v);
        }
        req.send().await.unwrap().status().as_u16()
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn compressed_bodies_are_refused_unread_and_never_inflated() {
    let serve = ServeChild::start(10);
    assert_eq!(serve.post_paid("warm-up").await, 200);
    serve.settle().await;
    let before = serve.rss_kib();
    // Whatever they claim to hold, compressed bodies are not opened: the signature covers the
    // bytes as sent. 8 MiB stands in for a bomb's payload; it is refused before it is read.
    let bomb = vec![0u8; 8 * 1024 * 1024];
    let http = reqwest::Client::new();
    for encoding in ["gzip", "deflate", "zstd", "br", "x-gzip, identity"] {
        let started = std::time::Instant::now();
        let resp = http
            .post(format!("http://{}/webhooks/acme-woo", serve.addr))
            .header("content-encoding", encoding)
            .header("x-wc-webhook-topic", "order.updated")
            .body(bomb.clone())
            .send()
            .await;
        // The server may close before the client has sent everything: either the answer, or
        // a connection cut short — never an inflated body.
        if let Ok(resp) = resp {
            assert_eq!(resp.status(), 415, "{encoding}");
            let answer: Value = resp.json().await.unwrap();
            assert!(
                answer["error"]
                    .as_str()
                    .unwrap()
                    .contains("Content-Encoding"),
                "{answer}"
            );
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{encoding}"
        );
    }
    let grown_mib = serve.rss_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 50, "RSS grew by {grown_mib} MiB");
}

#[tokio::test]
async fn identity_is_no_encoding_at_all() {
    let app = spawn_app().await;
    let body = fixture(WOO_PAID);
    let mut headers = woo_headers(WOO_SECRET, "order.updated", &body, "d1");
    headers.push(("content-encoding", "identity".to_owned()));
    assert_eq!(app.post("acme-woo", &headers, body).await.status(), 200);
    nothing_but_one_event(&app).await;
}

async fn nothing_but_one_event(app: &TestApp) {
    assert_eq!(app.count("events").await, 1);
}

#[tokio::test]
async fn stalled_bodies_are_cut_off_at_the_deadline_while_webhooks_go_on() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|s| s.server.body_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /webhooks/acme-woo HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 1000\r\n\
             x-wc-webhook-topic: order.updated\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(br#"{"id": 1, "#).await.unwrap();
        stalled.push(conn);
    }
    // Meanwhile a real webhook is answered at once.
    assert_eq!(post_paid(&app, fixture(WOO_PAID)).await.status(), 200);
    let started = std::time::Instant::now();
    for mut conn in stalled {
        let mut answer = Vec::new();
        // The server answers 408 and closes: reading to the end finishes.
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            conn.read_to_end(&mut answer),
        )
        .await
        .expect("the stalled connection is closed by the server")
        .unwrap();
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("not received within 1 s"), "{text}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert_eq!(app.count("events").await, 1);
}

/// A memory measurement: the peak of the server's resident memory over the flood, above what
/// it held once the warm-up webhook's job had rendered its invoice. Beside the other tests of
/// this binary CPU contention changes how many connections buffer at once, so `.ci/run` runs
/// it alone, after the suite (BENCHMARKS.md, "Memory held by hostile webhook clients").
#[tokio::test]
#[ignore = "a memory measurement: run alone (.ci/run does: --ignored --test-threads=1)"]
async fn many_hostile_clients_at_once_hold_a_bounded_amount_of_memory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let serve = ServeChild::start(2);
    assert_eq!(serve.post_paid("warm-up").await, 200);
    serve.settle().await;
    let before = serve.rss_kib();
    serve.reset_peak();
    // 500 clients each announce a body just under the 2 MiB limit, send most of it, and stall;
    // meanwhile others open connections and send nothing at all.
    static CHUNK: [u8; 256 * 1024] = [b' '; 256 * 1024];
    let clients = (0..500).map(|n| {
        let (addr, head) = (serve.addr.clone(), serve.request_head(2_000_000, ""));
        tokio::spawn(async move {
            let mut conn = tokio::net::TcpStream::connect(&addr).await.ok()?;
            conn.write_all(head.as_bytes()).await.ok()?;
            if n % 2 == 0 {
                for _ in 0..7 {
                    if conn.write_all(&CHUNK).await.is_err() {
                        break;
                    }
                }
            }
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                conn.read_to_end(&mut answer),
            )
            .await;
            String::from_utf8_lossy(&answer)
                .split_whitespace()
                .nth(1)
                .map(str::to_owned)
        })
    });
    let clients: Vec<_> = clients.collect();
    // While they stall, a real webhook still gets through: idle connections hold no memory,
    // and while the stalled bodies fill the body budget a webhook gets 503 and is sent again,
    // as platforms do; it must not wait for the stalled ones to time out (2 s).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let during = std::time::Instant::now();
    let mut answers = Vec::new();
    while answers.last() != Some(&200) && during.elapsed() < std::time::Duration::from_millis(1500)
    {
        if !answers.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        answers.push(serve.post_paid(&format!("during-{}", answers.len())).await);
    }
    assert_eq!(
        answers.last(),
        Some(&200),
        "a real webhook during the flood: {answers:?}"
    );
    assert!(
        answers.iter().all(|a| matches!(a, 200 | 503)),
        "{answers:?}"
    );
    let statuses = futures_util::future::join_all(clients).await;
    let peak_kib = serve.peak_kib().saturating_sub(before);
    let peak_mib = peak_kib / 1024;
    let grown_mib = serve.rss_kib().saturating_sub(before) / 1024;
    eprintln!(
        "RSS peaked {peak_mib} MiB above its start with 500 hostile clients; {grown_mib} MiB after"
    );
    let answered: Vec<String> = statuses
        .into_iter()
        .filter_map(|s| s.ok().flatten())
        .collect();
    assert!(
        answered.iter().all(|s| s == "408" || s == "503"),
        "{answered:?}"
    );
    // The issue's bound: less than 100 MB (not MiB) more at the peak.
    assert!(
        peak_kib * 1024 < 100_000_000,
        "RSS peaked {peak_mib} MiB above its start"
    );
    assert_eq!(serve.post_paid("after").await, 200);
}
