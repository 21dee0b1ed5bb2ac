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
        /// Also do what shopbip's handler does before storage (parse into the canonical event,
        /// serialise the order for the store), then answer without storing: what durable
        /// storage costs is the gap between this and `shopbip serve`.
        #[arg(long)]
        parse: bool,
    },
    /// The CPU cost of each step a webhook request takes before storage, in-process on one
    /// thread: the HMAC check, parsing into the canonical order (with the delivery key), and
    /// serialising the order for the job store.
    Stages {
        #[arg(long, default_value_t = 20_000)]
        iterations: usize,
    },
    /// Renders invoices in-process: time per 1-page and 3-page invoice, PDF size, peak RSS.
    Render {
        #[arg(long, default_value_t = 1000)]
        renders: usize,
    },
    /// The whole service in-process against the sandbox: orders/s from webhook to recorded
    /// send, with PDFs and text-only, and webhook-to-send latency at a steady rate.
    E2e {
        #[arg(long, default_value_t = 1000)]
        orders: usize,
        /// Steady rate for the latency run (orders/s) and its length in seconds.
        #[arg(long, default_value_t = 50)]
        rate: u64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// A PostgreSQL server (`postgres://user@host:port`) to run on instead of SQLite; each
        /// run gets a fresh database on it.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// End to end with several `shopbip serve` replicas (child processes of the binary next to
    /// this one) on one PostgreSQL database, against an in-process sandbox.
    Replicas {
        #[arg(long, default_value_t = 2)]
        replicas: usize,
        #[arg(long, default_value_t = 1000)]
        orders: usize,
        #[arg(long)]
        postgres: String,
        /// With the invoice PDF rule (else text-only).
        #[arg(long)]
        pdf: bool,
    },
    /// Posts signed orders and reports throughput and latency.
    Load {
        /// Webhook URL; several, comma-separated, are used in turn (replicas).
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
        /// The server's process id: its CPU time over the run is reported per request too.
        #[arg(long)]
        server_pid: Option<u32>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Ceiling {
            port,
            secret,
            parse,
        } => ceiling(port, secret, parse).await,
        Cmd::Stages { iterations } => stages(iterations),
        Cmd::Render { renders } => render(renders),
        Cmd::Replicas {
            replicas,
            orders,
            postgres,
            pdf,
        } => e2e::replicas(replicas, orders, postgres.trim_end_matches('/'), pdf).await,
        Cmd::E2e {
            orders,
            rate,
            seconds,
            concurrency,
            postgres,
        } => e2e::run(orders, rate, seconds, concurrency, postgres).await,
        Cmd::Load {
            url,
            secret,
            concurrency,
            requests,
            rate,
            first_id,
            server_pid,
        } => {
            let run = LoadRun {
                concurrency,
                requests,
                rate,
                first_id,
                server_pid,
            };
            load(url, secret, run).await
        }
    }
}

async fn ceiling(port: u16, secret: String, parse: bool) -> anyhow::Result<()> {
    let secrets = web::Data::new(vec![SecretString::from(secret)]);
    println!("ceiling server on 127.0.0.1:{port}");
    HttpServer::new(move || {
        let app = App::new()
            .app_data(secrets.clone())
            .app_data(web::PayloadConfig::new(2 * 1024 * 1024));
        if parse {
            app.route("/webhooks/{store}", web::post().to(parsed))
        } else {
            app.route("/webhooks/{store}", web::post().to(bare))
        }
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

/// The webhook handler's work up to the hand-off to the job store: verify, parse into the
/// canonical event, serialise the order as the store would.
async fn parsed(
    req: HttpRequest,
    body: web::Bytes,
    secrets: web::Data<Vec<SecretString>>,
) -> HttpResponse {
    use shopbip::platforms::woocommerce::WooCommerce;
    use shopbip::platforms::{Parsed, WebhookPlatform};
    let headers = shopbip::http::request_headers(&req);
    if WooCommerce
        .verify(&headers, &body, &secrets, Duration::from_secs(300))
        .is_err()
    {
        return HttpResponse::Unauthorized().finish();
    }
    match WooCommerce.parse(&headers, &body) {
        Ok(Parsed::Event(event)) => {
            let order = serde_json::to_string(&event.order).unwrap_or_default();
            HttpResponse::Ok().json(serde_json::json!({
                "status": "accepted",
                "order_bytes": order.len(),
            }))
        }
        Ok(Parsed::Ignored { .. }) => HttpResponse::Ok().finish(),
        Err(_) => HttpResponse::BadRequest().finish(),
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

struct LoadRun {
    concurrency: usize,
    requests: usize,
    rate: Option<u64>,
    first_id: u64,
    server_pid: Option<u32>,
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`: the only way
/// to tell, with both sides sharing two cores, how much of each request is the server's and
/// how much the load generator's.
fn cpu_time(process: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis((utime + stime) * 10))
}

async fn load(url: String, secret: String, run: LoadRun) -> anyhow::Result<()> {
    let LoadRun {
        concurrency,
        requests,
        rate,
        first_id,
        server_pid,
    } = run;
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
    let urls: Arc<Vec<String>> = Arc::new(url.split(',').map(str::to_owned).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let server = server_pid.map(|p| p.to_string());
    let server_cpu = || server.as_deref().and_then(cpu_time);
    let cpu_before = (cpu_time("self"), server_cpu());
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
        let urls = urls.clone();
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
                    .post(&urls[i % urls.len()])
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
    let cpu_after = (cpu_time("self"), server_cpu());
    let per_request = |before: Option<Duration>, after: Option<Duration>| match (before, after) {
        (Some(b), Some(a)) => format!("{:.1}us/req", (a - b).as_secs_f64() * 1e6 / requests as f64),
        _ => "n/a".to_owned(),
    };
    let ok = all.iter().filter(|(s, _)| *s == 200).count();
    let mut lat: Vec<Duration> = all.iter().map(|(_, d)| *d).collect();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "requests={} ok={} failed={} body_bytes={} elapsed={:.2}s throughput={:.0}/s p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms mode={} client_cpu={} server_cpu={}",
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
        },
        per_request(cpu_before.0, cpu_after.0),
        per_request(cpu_before.1, cpu_after.1),
    );
    Ok(())
}

/// µs per call of `f` over `iterations` calls (after a warm-up tenth).
fn per_call(iterations: usize, mut f: impl FnMut(usize)) -> f64 {
    for i in 0..iterations / 10 {
        f(i);
    }
    let started = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    started.elapsed().as_secs_f64() * 1e6 / iterations as f64
}

fn stages(iterations: usize) -> anyhow::Result<()> {
    use shopbip::platforms::woocommerce::{SIGNATURE, TOPIC, WooCommerce};
    use shopbip::platforms::{Headers, Parsed, WebhookPlatform};
    let secret = "bench-secret";
    let secrets = [SecretString::from(secret)];
    let b = body(1_000_000);
    let headers = Headers::new([
        (TOPIC.to_owned(), "order.updated".to_owned()),
        (SIGNATURE.to_owned(), sign_base64(secret, &b)),
    ]);
    let tolerance = Duration::from_secs(300);
    let verify = per_call(iterations, |_| {
        let v = WooCommerce.verify(&headers, &b, &secrets, tolerance);
        assert!(v.is_ok());
    });
    let parse = per_call(iterations, |_| {
        let p = WooCommerce.parse(&headers, &b);
        assert!(matches!(p, Ok(Parsed::Event(_))));
    });
    let Ok(Parsed::Event(event)) = WooCommerce.parse(&headers, &b) else {
        anyhow::bail!("the bench body does not parse into an event");
    };
    let mut json_len = 0;
    let serialise = per_call(iterations, |_| {
        json_len = serde_json::to_string(&event.order).map_or(0, |j| j.len());
    });
    println!(
        "body_bytes={} verify={verify:.2}us parse={parse:.2}us serialise_order={serialise:.2}us order_json_bytes={json_len} iterations={iterations}",
        b.len()
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn render(renders: usize) -> anyhow::Result<()> {
    use shopbip::invoice::data::{SellerInfo, build};
    use shopbip::invoice::{DEFAULT_TEMPLATE, Renderer};
    let order = shopbip::platforms::Platform::Woocommerce
        .adapter()
        .parse_order(FIXTURE.as_bytes())?;
    let seller = SellerInfo {
        name: "Acme SARL".into(),
        address: "12 rue de Marseille, 1001 Tunis".into(),
        tax_id: "1234567/A/M/000".into(),
        language: "fr".into(),
    };
    let renderer = Renderer::shared();
    let mut long = order.clone();
    let line = long.lines[1].clone();
    long.lines = (0..60)
        .map(|i| shopbip::order::LineItem {
            name: format!("{} #{i}", line.name),
            ..line.clone()
        })
        .collect();
    let started = Instant::now();
    let first = renderer.render(
        DEFAULT_TEMPLATE,
        &build(&order, &seller, "INV-000001", None),
        None,
    )?;
    println!(
        "first render (fonts and library load): {:.1} ms, PDF {} bytes",
        started.elapsed().as_secs_f64() * 1e3,
        first.len()
    );
    let mut one = Vec::with_capacity(renders);
    let mut sizes = 0usize;
    for i in 0..renders {
        // A new number each time, as in production: nothing is served from a whole-document cache.
        let data = build(&order, &seller, &format!("INV-{i:06}"), None);
        let t = Instant::now();
        let pdf = renderer.render(DEFAULT_TEMPLATE, &data, None)?;
        one.push(t.elapsed());
        sizes = sizes.max(pdf.len());
    }
    one.sort_unstable();
    let mut three = Vec::new();
    let mut pages_pdf = Vec::new();
    for i in 0..50 {
        let data = build(&long, &seller, &format!("INV-L{i:05}"), None);
        let t = Instant::now();
        pages_pdf = renderer.render(DEFAULT_TEMPLATE, &data, None)?;
        three.push(t.elapsed());
    }
    three.sort_unstable();
    println!(
        "1-page invoice x{renders}: p50={:.1}ms p90={:.1}ms p99={:.1}ms max PDF {} bytes",
        percentile(&one, 0.5),
        percentile(&one, 0.9),
        percentile(&one, 0.99),
        sizes
    );
    println!(
        "3-page invoice (60 lines) x50: p50={:.1}ms p99={:.1}ms PDF {} bytes",
        percentile(&three, 0.5),
        percentile(&three, 0.99),
        pages_pdf.len()
    );
    println!(
        "peak RSS after {} renders: {:.0} MB",
        renders + 51,
        peak_rss_mb()
    );
    Ok(())
}

mod e2e {
    use std::time::{Duration, Instant};

    use shopbip::jobs::{JobFilter, JobState};
    use shopbip::platforms::signature::sign_base64;
    use shopbip::serve::{Service, pointed_at, with_sandbox};
    use shopbip::settings::Settings;
    use shopbip::stores::StoreRegistry;

    const SECRET: &str = "bench-secret";

    fn profile(attach: bool) -> String {
        format!(
            r#"platform = "woocommerce"
base_uri = "https://shop.bench.test"
default_country = "TN"
[webhook]
secrets = ["{SECRET}"]
[buzzbip]
base_url = "http://127.0.0.1:9"
username = "demo@shopbip.test"
password = "demo-password"
api_key = "demo-api-key"
[invoice]
language = "fr"
seller_name = "Acme SARL"
[[notify]]
on = "order.paid"
template_id = {}
body_params = ["{{customer.first_name}}", "{{order.number}}"]
attach_invoice = {attach}
"#,
            if attach { 1289 } else { 1400 }
        )
    }

    struct Run {
        service: Service,
        sandbox: shopbip::sandbox::SandboxHandle,
        http: reqwest::Client,
        _dir: tempfile::TempDir,
    }

    async fn database(dir: &std::path::Path, postgres: Option<&str>) -> anyhow::Result<String> {
        let Some(server) = postgres else {
            return Ok(format!("sqlite://{}", dir.join("shopbip.db").display()));
        };
        use sqlx::Connection;
        let name = format!(
            "shopbip_bench_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        );
        let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        Ok(format!("{server}/{name}"))
    }

    async fn start(
        attach: bool,
        concurrency: usize,
        postgres: Option<&str>,
    ) -> anyhow::Result<Run> {
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
        let service = Service::start(&settings, registry, pointed_at(sandbox.base_url())).await?;
        Ok(Run {
            service,
            sandbox,
            http: reqwest::Client::new(),
            _dir: dir,
        })
    }

    impl Run {
        async fn post(&self, id: u64) -> anyhow::Result<()> {
            let body = super::body(id);
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
            super::percentile(&lat, 0.5),
            super::percentile(&lat, 0.9),
            super::percentile(&lat, 0.99),
            lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            lat.len(),
            jobs.first().map(|j| j.state)
        );
        run.stop().await;
        Ok(())
    }

    pub async fn replicas(
        count: usize,
        orders: usize,
        postgres: &str,
        attach: bool,
    ) -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let stores = dir.path().join("plugin-config");
        std::fs::create_dir_all(&stores)?;
        std::fs::write(stores.join("bench.toml"), profile(attach))?;
        let registry = StoreRegistry::load_dir(&stores).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let (sandbox, registry) = with_sandbox(&registry)?;
        // The children read the profile from disk: point it at the sandbox there too.
        let url = registry
            .iter()
            .next()
            .map(|s| s.buzzbip.base_url.clone())
            .unwrap_or_default();
        std::fs::write(
            stores.join("bench.toml"),
            profile(attach).replace("http://127.0.0.1:9", &url),
        )?;
        let db = database(dir.path(), Some(postgres)).await?;
        let exe = std::env::current_exe()?.with_file_name("shopbip");
        let mut children = Vec::new();
        let mut ports = Vec::new();
        for _ in 0..count {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            children.push(
                std::process::Command::new(&exe)
                    .arg("serve")
                    .env("SHOPBIP__SERVER__PORT", port.to_string())
                    .env("SHOPBIP__STORES__DIR", &stores)
                    .env("SHOPBIP__DATABASE__URL", &db)
                    .env("SHOPBIP__WORKER__POLL_INTERVAL_MS", "10")
                    .env("SHOPBIP__WORKER__RATE_PER_SECOND", "100000")
                    .env("SHOPBIP__LOG__LEVEL", "warn")
                    .spawn()?,
            );
            ports.push(port);
        }
        let http = reqwest::Client::new();
        for port in &ports {
            while http
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .send()
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let started = Instant::now();
        let ids: Vec<u64> = (0..orders as u64).collect();
        for chunk in ids.chunks(32) {
            let posts = chunk.iter().map(|i| {
                let body = super::body(4_000_000 + i);
                http.post(format!(
                    "http://127.0.0.1:{}/webhooks/bench",
                    ports[*i as usize % ports.len()]
                ))
                .header("content-type", "application/json")
                .header("X-WC-Webhook-Signature", sign_base64(SECRET, &body))
                .header("X-WC-Webhook-Topic", "order.updated")
                .body(body)
                .send()
            });
            for r in futures_util::future::join_all(posts).await {
                anyhow::ensure!(r?.status() == 200, "a webhook was refused");
            }
        }
        let control = sandbox.control();
        loop {
            let sent = control
                .calls_to("/api/v2/whatsapp/templates")
                .await?
                .iter()
                .filter(|c| c.status == 200)
                .count();
            if sent >= orders {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(300),
                "only {sent} sent"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = started.elapsed();
        println!(
            "{count} replica(s) on PostgreSQL, {}: {orders} orders in {:.2}s = {:.0} orders/s",
            if attach {
                "with invoice PDF"
            } else {
                "text-only"
            },
            elapsed.as_secs_f64(),
            orders as f64 / elapsed.as_secs_f64()
        );
        for mut c in children {
            let _ = c.kill();
            let _ = c.wait();
        }
        sandbox.stop().await;
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
        println!("peak RSS: {:.0} MB", super::peak_rss_mb());
        Ok(())
    }
}
