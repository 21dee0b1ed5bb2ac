//! Load generator behind BENCHMARKS.md: posts signed ~5 KB WooCommerce orders over loopback, and
//! serves the "ceiling" (a bare actix-web handler that only reads the body and checks the HMAC).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use serde_json::Value;
use shopbip::platforms::signature::{sign_base64, verify_base64_body};

const FIXTURE: &str = include_str!("../../tests/fixtures/woocommerce/order-updated-paid-tnd.json");

#[derive(Parser)]
#[command(about = "shopbip ingestion benchmark tools")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// A bare handler: read the body, check the WooCommerce HMAC, answer 200.
    Ceiling {
        #[arg(long, default_value_t = 8091)]
        port: u16,
        #[arg(long)]
        secret: String,
    },
    /// Posts signed orders and reports throughput and latency.
    Load {
        #[arg(long)]
        url: String,
        #[arg(long)]
        secret: String,
        /// Closed loop: this many requests in flight at all times.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Open loop instead: this many requests per second, scheduled regardless of answers.
        #[arg(long)]
        rate: Option<u64>,
        /// First order id; use a new range per run so every order is new to the database.
        #[arg(long, default_value_t = 1_000_000)]
        first_id: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Ceiling { port, secret } => ceiling(port, secret).await,
        Cmd::Load {
            url,
            secret,
            concurrency,
            requests,
            rate,
            first_id,
        } => load(url, secret, concurrency, requests, rate, first_id).await,
    }
}

async fn ceiling(port: u16, secret: String) -> anyhow::Result<()> {
    let secrets = web::Data::new(vec![SecretString::from(secret)]);
    println!("ceiling server on 127.0.0.1:{port}");
    HttpServer::new(move || {
        App::new()
            .app_data(secrets.clone())
            .app_data(web::PayloadConfig::new(2 * 1024 * 1024))
            .route("/webhooks/{store}", web::post().to(bare))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}

async fn bare(
    req: HttpRequest,
    body: web::Bytes,
    secrets: web::Data<Vec<SecretString>>,
) -> HttpResponse {
    let sig = req
        .headers()
        .get("x-wc-webhook-signature")
        .and_then(|v| v.to_str().ok());
    match verify_base64_body("X-WC-Webhook-Signature", sig, &body, &secrets) {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "accepted"})),
        Err(_) => HttpResponse::Unauthorized().finish(),
    }
}

/// ~5 KB: the fixture with its own id and enough line items.
fn body(id: u64) -> Vec<u8> {
    let mut order: Value = serde_json::from_str(FIXTURE).expect("fixture parses");
    order["id"] = id.into();
    order["number"] = id.to_string().into();
    let item = order["line_items"][1].clone();
    let items = order["line_items"].as_array_mut().expect("line items");
    while serde_json::to_vec(items).map(|v| v.len()).unwrap_or(0) < 3600 {
        items.push(item.clone());
    }
    serde_json::to_vec(&order).expect("serialises")
}

async fn load(
    url: String,
    secret: String,
    concurrency: usize,
    requests: usize,
    rate: Option<u64>,
    first_id: u64,
) -> anyhow::Result<()> {
    // Signing is the platform's cost: done before the clock starts.
    let prepared: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
        (0..requests as u64)
            .map(|i| {
                let b = body(first_id + i);
                let s = sign_base64(&secret, &b);
                (b, s)
            })
            .collect(),
    );
    let avg = prepared.iter().map(|(b, _)| b.len()).sum::<usize>() / requests.max(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(64))
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    let tasks = if rate.is_some() {
        requests
    } else {
        concurrency
    };
    let interval = rate.map(|r| Duration::from_secs_f64(1.0 / r as f64));
    for t in 0..tasks {
        let http = http.clone();
        let url = url.clone();
        let prepared = prepared.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            let mut results = Vec::new();
            loop {
                let (i, scheduled) = match interval {
                    // Open loop: latency counts from the scheduled time (no coordinated omission).
                    Some(every) => {
                        let at = started + every.mul_f64(t as f64);
                        tokio::time::sleep_until(at.into()).await;
                        (t, at)
                    }
                    None => (next.fetch_add(1, Ordering::Relaxed), Instant::now()),
                };
                if i >= prepared.len() {
                    break;
                }
                let (b, s) = &prepared[i];
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("X-WC-Webhook-Signature", s)
                    .header("X-WC-Webhook-Topic", "order.updated")
                    .header("X-WC-Webhook-Delivery-ID", i.to_string())
                    .body(b.clone())
                    .send()
                    .await;
                let status = match resp {
                    Ok(r) => {
                        let st = r.status().as_u16();
                        let _ = r.bytes().await;
                        st
                    }
                    Err(_) => 0,
                };
                results.push((status, scheduled.elapsed()));
                if interval.is_some() {
                    break;
                }
            }
            results
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for h in handles {
        all.extend(h.await?);
    }
    let elapsed = started.elapsed();
    let ok = all.iter().filter(|(s, _)| *s == 200).count();
    let mut lat: Vec<Duration> = all.iter().map(|(_, d)| *d).collect();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "requests={} ok={} failed={} body_bytes={} elapsed={:.2}s throughput={:.0}/s p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms mode={}",
        all.len(),
        ok,
        all.len() - ok,
        avg,
        elapsed.as_secs_f64(),
        ok as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        match rate {
            Some(r) => format!("open-loop@{r}/s"),
            None => format!("closed-loop@{concurrency}"),
        }
    );
    Ok(())
}
