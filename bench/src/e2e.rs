//! The whole service in-process against the sandbox: orders/s from webhook to recorded send,
//! with PDFs and text-only, and webhook-to-send latency at a steady rate.

use std::time::{Duration, Instant};

use shopbip::app::Application;
use shopbip::jobs::{JobFilter, JobState};
use shopbip::platforms::signature::sign_base64;
use shopbip::sandbox::stores::{pointed_at, with_sandbox};
use shopbip::settings::Settings;
use shopbip::stores::StoreRegistry;

use crate::support::{SECRET, body, database, peak_rss_mb, percentile, profile};

struct Run {
    service: Application,
    sandbox: shopbip::sandbox::SandboxHandle,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start(attach: bool, concurrency: usize, postgres: Option<&str>) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let stores = dir.path().join("plugin-config");
    std::fs::create_dir_all(&stores)?;
    std::fs::write(stores.join("bench.toml"), profile(attach))?;
    let mut settings = Settings::default();
    settings.server.port = 0;
    settings.stores.dir = stores.clone();
    settings.database.url = database(dir.path(), postgres).await?;
    settings.worker.concurrency = concurrency;
    settings.worker.poll_interval_ms = 10;
    settings.worker.rate_per_second = 100_000;
    settings.log.level = "warn".into();
    let registry = StoreRegistry::load_dir(&stores).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (sandbox, registry) = with_sandbox(&registry)?;
    let service = Application::build(&settings, registry, pointed_at(sandbox.base_url())).await?;
    Ok(Run {
        service,
        sandbox,
        http: reqwest::Client::new(),
        _dir: dir,
    })
}

impl Run {
    async fn post(&self, id: u64) -> anyhow::Result<()> {
        let body = body(id);
        let resp = self
            .http
            .post(format!(
                "http://127.0.0.1:{}/webhooks/bench",
                self.service.port
            ))
            .header("content-type", "application/json")
            .header("X-WC-Webhook-Signature", sign_base64(SECRET, &body))
            .header("X-WC-Webhook-Topic", "order.updated")
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "HTTP {}", resp.status());
        Ok(())
    }

    async fn done(&self) -> anyhow::Result<usize> {
        let counts = self.service.jobs.count_by_state().await?;
        let bad = counts
            .iter()
            .filter(|(s, _)| matches!(s, JobState::Dead | JobState::Skipped))
            .map(|(_, n)| *n)
            .sum::<u64>();
        anyhow::ensure!(bad == 0, "jobs failed: {counts:?}");
        let done = counts
            .iter()
            .find(|(s, _)| *s == JobState::Done)
            .map(|(_, n)| *n)
            .unwrap_or(0);
        Ok(done as usize)
    }

    async fn stop(self) {
        self.service.stop().await;
        self.sandbox.stop().await;
    }
}

async fn throughput(
    attach: bool,
    orders: usize,
    concurrency: usize,
    postgres: Option<&str>,
) -> anyhow::Result<()> {
    let run = start(attach, concurrency, postgres).await?;
    let started = Instant::now();
    for chunk in (0..orders as u64).collect::<Vec<_>>().chunks(32) {
        let posts = chunk.iter().map(|i| run.post(2_000_000 + i));
        for r in futures_util::future::join_all(posts).await {
            r?;
        }
    }
    let posted = started.elapsed();
    loop {
        if run.done().await? >= orders {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let sends = run
        .sandbox
        .control()
        .calls_to("/api/v2/whatsapp/templates")
        .await?
        .len();
    println!(
        "{}: {orders} orders in {:.2}s (webhooks posted in {:.2}s) = {:.0} orders/s, {sends} sends, worker concurrency {concurrency}",
        if attach {
            "with invoice PDF"
        } else {
            "text-only"
        },
        elapsed.as_secs_f64(),
        posted.as_secs_f64(),
        orders as f64 / elapsed.as_secs_f64()
    );
    run.stop().await;
    Ok(())
}

async fn latency(
    rate: u64,
    seconds: u64,
    concurrency: usize,
    postgres: Option<&str>,
) -> anyhow::Result<()> {
    let run = start(true, concurrency, postgres).await?;
    let total = rate * seconds;
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let mut posted_at = std::collections::HashMap::new();
    for i in 0..total {
        tokio::time::sleep_until((started + every.mul_f64(i as f64)).into()).await;
        posted_at.insert((3_000_000 + i).to_string(), shopbip::clock::now_ms());
        run.post(3_000_000 + i).await?;
    }
    while run.done().await? < total as usize {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut lat: Vec<Duration> = run
        .sandbox
        .control()
        .calls_to("/api/v2/whatsapp/templates")
        .await?
        .into_iter()
        .filter_map(|c| {
            let n = c.json?["body_params"][1].as_str()?.to_owned();
            Some(Duration::from_millis(
                (c.at_ms - posted_at.get(&n)?).max(0) as u64
            ))
        })
        .collect();
    lat.sort_unstable();
    let jobs = run
        .service
        .jobs
        .list(&JobFilter {
            limit: 5,
            ..Default::default()
        })
        .await?;
    println!(
        "webhook-to-send at {rate} orders/s for {seconds}s (with PDFs): p50={:.0}ms p90={:.0}ms p99={:.0}ms max={:.0}ms ({} sends, last job {:?})",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        lat.len(),
        jobs.first().map(|j| j.state)
    );
    run.stop().await;
    Ok(())
}

pub async fn run(
    orders: usize,
    rate: u64,
    seconds: u64,
    concurrency: usize,
    postgres: Option<String>,
) -> anyhow::Result<()> {
    let pg = postgres.as_deref().map(|s| s.trim_end_matches('/'));
    println!(
        "== machine: {} cores, database: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if pg.is_some() { "PostgreSQL" } else { "SQLite" }
    );
    throughput(true, orders, concurrency, pg).await?;
    throughput(false, orders, concurrency, pg).await?;
    latency(rate, seconds, concurrency, pg).await?;
    println!("peak RSS: {:.0} MB", peak_rss_mb());
    Ok(())
}
