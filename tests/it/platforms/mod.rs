//! Each platform's webhooks, one module per platform, and the real bodies of every platform
//! (`real`). Stripe, Standard Webhooks, Shopware 6 and BigCommerce end to end: signed fixtures
//! posted to the real server over loopback, a real SQLite file, the workers, the sandbox as Buzzbip, and
//! small real HTTP servers standing in for Stripe's `invoice_pdf` and BigCommerce's REST API.

use crate::common;

mod bigcommerce;
mod real;
mod shopify;
mod shopware;
mod standard;
mod stripe;
mod woocommerce;
mod writeback;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::common::app::TestApp;
use shopbip::jobs::Job;

pub fn now() -> i64 {
    shopbip::platforms::signature::unix_now()
}

/// A store profile for `platform`, with `extra` TOML before the rules (e.g. `[bigcommerce]`).
/// Standard Webhooks headers (Standard and BigCommerce): id, timestamp and the signature of
/// `id.timestamp.body` under `secret` read as `form`.
pub fn standard_webhooks_headers(
    secret: &str,
    form: shopbip::platforms::standard_webhooks::KeyForm,
    id: &str,
    ts: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", ts.to_string()),
        (
            "webhook-signature",
            shopbip::platforms::standard_webhooks::sign(secret, form, id, ts, body),
        ),
    ]
}

pub fn profile(platform: &str, secrets: &[&str], buzzbip_url: &str, extra: &str) -> String {
    let secrets: Vec<String> = secrets.iter().map(|s| format!("{s:?}")).collect();
    format!(
        r#"platform = "{platform}"
base_uri = "https://{platform}.shop.test"
default_country = "FR"
[webhook]
secrets = [{}]
[buzzbip]
base_url = "{buzzbip_url}"
username = "demo@shopbip.test"
password = "demo-password"
api_key = "demo-api-key"
{extra}
"#,
        secrets.join(", ")
    )
}

pub fn rule(on: &str, template_id: u64, params: &[&str], attach: bool) -> String {
    let params: Vec<String> = params.iter().map(|p| format!("{p:?}")).collect();
    format!(
        "[[notify]]\non = \"{on}\"\ntemplate_id = {template_id}\nbody_params = [{}]\nattach_invoice = {attach}\n",
        params.join(", ")
    )
}

/// Posts and returns the status with the JSON answer.
pub async fn post(
    p: &TestApp,
    store: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let resp = p.post(store, headers, body).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// Nothing stored: no job (an event is only stored with its jobs).
pub async fn nothing_stored(p: &TestApp) {
    let jobs: Vec<Job> = p.jobs().await;
    assert!(jobs.is_empty(), "{jobs:?}");
}

/// One request a stand-in received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
}

/// A minimal HTTP/1.1 server on a loopback port, answering GETs from a fixed table of
/// path → (status, content type, body) and recording what it was asked.
pub struct StandIn {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    pub fn start(routes: Vec<(&str, u16, &str, Vec<u8>)>) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: HashMap<String, (u16, String, Vec<u8>)> = routes
            .into_iter()
            .map(|(p, s, t, b)| (p.to_owned(), (s, t.to_owned(), b)))
            .collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&buf).into_owned();
                let mut lines = text.lines();
                let target = lines
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .unwrap_or("/")
                    .to_owned();
                let headers = lines
                    .take_while(|l| !l.is_empty())
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let path = target.split('?').next().unwrap_or("/").to_owned();
                log.lock().unwrap().push(Seen {
                    path: path.clone(),
                    headers,
                });
                let (status, ctype, body) = routes.get(&path).cloned().unwrap_or((
                    404,
                    "text/plain".into(),
                    b"not found".to_vec(),
                ));
                // A 3xx route's body is its `location`.
                let (location, body) = if (300..400).contains(&status) {
                    let to = String::from_utf8_lossy(&body).into_owned();
                    (format!("location: {to}\r\n"), Vec::new())
                } else {
                    (String::new(), body)
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n{location}connection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        StandIn { base, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// The one send the sandbox received for `template`, and the bytes of the uploaded document
/// it carries (if any).
pub async fn the_send(p: &TestApp, template: u64) -> (serde_json::Value, Option<Vec<u8>>) {
    let sends = p
        .sandbox
        .control
        .calls_to(&format!("/api/v2/whatsapp/templates/{template}/send"))
        .await
        .unwrap();
    assert_eq!(sends.len(), 1, "{sends:?}");
    let json = sends[0].json.clone().unwrap();
    let media = match json["header_media_id"].as_str() {
        Some(id) => Some(p.sandbox.control.media_content(id).await.unwrap().to_vec()),
        None => None,
    };
    (json, media)
}
