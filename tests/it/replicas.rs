//! Several `shopbip serve` replicas on one PostgreSQL database: ignored unless asked for
//! (`.ci/run` runs them with SHOPBIP_TEST_POSTGRES); SQLite is one machine by design.

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::app::WOO_SECRET;
use crate::common::serve::{Serve, free_port, serve};
use crate::common::sign::*;
use serde_json::Value;

fn text_only_profile(buzzbip_url: &str) -> String {
    common::app::woo_profile(buzzbip_url)
        .replace("template_id = 1289", "template_id = 1290")
        .replace(
            "body_params = [\"{customer.first_name}\", \"{order.number}\"]",
            "body_params = [\"{order.number}\"]\nattach_invoice = false",
        )
}

fn replica(dir: &std::path::Path, db: &str, rate: u32) -> Serve {
    serve(dir, free_port(), db, rate)
}

async fn post_orders(replicas: &[&Serve], first: u64, count: u64) {
    let template: Value =
        serde_json::from_slice(&fixture("woocommerce/order-updated-paid-tnd.json")).unwrap();
    let http = reqwest::Client::new();
    let ids: Vec<u64> = (first..first + count).collect();
    for chunk in ids.chunks(50) {
        let posts = chunk.iter().map(|i| {
            let mut order = template.clone();
            order["id"] = (*i).into();
            order["number"] = i.to_string().into();
            let body = serde_json::to_vec(&order).unwrap();
            let port = replicas[*i as usize % replicas.len()].port;
            let req = http
                .post(format!("http://127.0.0.1:{port}/webhooks/acme-woo"))
                .headers(
                    woo_headers(WOO_SECRET, "order.updated", &body, &i.to_string())
                        .into_iter()
                        .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
                        .collect(),
                )
                .body(body);
            async move { req.send().await.unwrap().status().as_u16() }
        });
        for status in futures_util::future::join_all(posts).await {
            assert_eq!(status, 200);
        }
    }
}

async fn sends_per_order(sandbox: &common::TestSandbox) -> (HashMap<String, usize>, Vec<i64>) {
    let mut per_order = HashMap::new();
    let mut times = Vec::new();
    for (number, at_ms) in sandbox.accepted_sends(0).await {
        *per_order.entry(number).or_default() += 1;
        times.push(at_ms);
    }
    (per_order, times)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: SHOPBIP_TEST_POSTGRES"]
async fn two_replicas_send_2000_orders_once_each_even_when_one_is_killed() {
    common::db::require_postgres();
    const ORDERS: u64 = 2000;
    let sandbox = common::spawn_sandbox();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugin-config")).unwrap();
    std::fs::write(
        dir.path().join("plugin-config/acme-woo.toml"),
        text_only_profile(&sandbox.handle.base_url()),
    )
    .unwrap();
    let db = common::db::fresh_url(dir.path()).await;
    // Paced (shared budget) so the kill lands mid-run: 2,000 sends take >= 5 s.
    let a = replica(dir.path(), &db, 400);
    a.ready().await;
    let b = replica(dir.path(), &db, 400);
    b.ready().await;

    post_orders(&[&a, &b], 100_000, ORDERS).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while sends_per_order(&sandbox).await.0.len() < ORDERS as usize / 2 {
        assert!(Instant::now() < deadline, "replicas never got halfway");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut a = a;
    a.kill();

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = common::db::scalar(&db, "SELECT COUNT(*) FROM jobs WHERE state = 'done'").await;
        if done == ORDERS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {done} of {ORDERS} jobs done after the kill"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (per_order, _) = sends_per_order(&sandbox).await;
    let missing = (100_000..100_000 + ORDERS)
        .filter(|i| !per_order.contains_key(&i.to_string()))
        .count();
    assert_eq!(missing, 0, "orders never sent");
    let twice: Vec<_> = per_order.iter().filter(|(_, n)| **n > 1).collect();
    println!("2000 orders over two replicas, one killed: duplicates {twice:?}");
    for (number, _) in &twice {
        let steps = common::db::text(
            &db,
            &format!("SELECT steps_json FROM jobs WHERE order_id = '{number}'"),
        )
        .await;
        assert!(
            steps.contains("possible_duplicate_send_after"),
            "order {number} sent twice without the crash window to explain it"
        );
    }
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: SHOPBIP_TEST_POSTGRES"]
async fn pacing_holds_across_two_replicas() {
    common::db::require_postgres();
    const ORDERS: u64 = 100;
    let sandbox = common::spawn_sandbox();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugin-config")).unwrap();
    std::fs::write(
        dir.path().join("plugin-config/acme-woo.toml"),
        text_only_profile(&sandbox.handle.base_url()),
    )
    .unwrap();
    let db = common::db::fresh_url(dir.path()).await;
    let a = replica(dir.path(), &db, 20);
    let b = replica(dir.path(), &db, 20);
    a.ready().await;
    b.ready().await;
    post_orders(&[&a, &b], 500_000, ORDERS).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = common::db::scalar(&db, "SELECT COUNT(*) FROM jobs WHERE state = 'done'").await;
        if done == ORDERS as i64 {
            break;
        }
        assert!(Instant::now() < deadline, "only {done} sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, mut times) = sends_per_order(&sandbox).await;
    times.sort_unstable();
    let busiest = times
        .iter()
        .map(|t| times.iter().filter(|u| **u >= *t && **u < t + 1000).count())
        .max()
        .unwrap();
    let span = (times.last().unwrap() - times[0]) as f64 / 1000.0;
    let rate = (times.len() - 1) as f64 / span;
    println!(
        "two replicas at 20/s: busiest second {busiest} sends, average {rate:.1}/s over {span:.1}s"
    );
    // Timestamps are taken at the answer, not at the reservation: allow a little jitter.
    assert!(
        busiest <= 25,
        "the sandbox saw {busiest} sends in one second (limit 20/s)"
    );
    assert!(rate <= 21.0, "average {rate:.1}/s over the limit");
}
