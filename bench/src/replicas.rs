//! End to end with several `shopbip serve` replicas (child processes of the `shopbip` binary
//! next to this one) on one PostgreSQL database, against an in-process sandbox.

use std::time::{Duration, Instant};

use shopbip::platforms::signature::sign_base64;
use shopbip::sandbox::stores::with_sandbox;
use shopbip::stores::StoreRegistry;

use crate::support::{SECRET, body, database, profile};

pub async fn run(count: usize, orders: usize, postgres: &str, attach: bool) -> anyhow::Result<()> {
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
            let body = body(4_000_000 + i);
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
