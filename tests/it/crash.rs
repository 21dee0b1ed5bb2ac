//! Killing `shopbip serve` with SIGKILL while jobs are in flight loses nothing and, but for a
//! send caught between Buzzbip's answer and our record of it, sends nothing twice.

use crate::common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::app::{WOO_SECRET, woo_profile};
use crate::common::serve::{free_port, serve};
use crate::common::sign::*;
use serde_json::Value;

const ORDERS: u64 = 300;

async fn job_states(db: &str) -> HashMap<String, i64> {
    let mut states = HashMap::new();
    for state in ["queued", "running", "done", "dead", "skipped"] {
        let sql = format!("SELECT COUNT(*) FROM jobs WHERE state = '{state}'");
        states.insert(state.to_owned(), common::db::scalar(db, &sql).await);
    }
    states
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_loses_no_order_and_sends_none_twice() {
    let sandbox = common::spawn_sandbox();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugin-config")).unwrap();
    std::fs::write(
        dir.path().join("plugin-config/acme-woo.toml"),
        woo_profile(&sandbox.handle.base_url()),
    )
    .unwrap();
    let port = free_port();
    let db = common::db::fresh_url(dir.path()).await;

    // Paced so the kill lands mid-run however fast the machine: 300 sends take >= 6 s.
    let mut first = serve(dir.path(), port, &db, 50);
    first.ready().await;
    let template: Value =
        serde_json::from_slice(&fixture("woocommerce/order-updated-paid-tnd.json")).unwrap();
    let http = reqwest::Client::new();
    let ids: Vec<u64> = (0..ORDERS).collect();
    for chunk in ids.chunks(25) {
        let posts = chunk.iter().map(|i| {
            let mut order = template.clone();
            order["id"] = (10_000 + i).into();
            order["number"] = (10_000 + i).to_string().into();
            let body = serde_json::to_vec(&order).unwrap();
            let req = http
                .post(format!("http://127.0.0.1:{port}/webhooks/acme-woo"))
                .headers(
                    woo_headers(WOO_SECRET, "order.updated", &body, &i.to_string())
                        .into_iter()
                        .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
                        .collect(),
                )
                .body(body);
            async move { (*i, req.send().await.unwrap().status().as_u16()) }
        });
        for (i, status) in futures_util::future::join_all(posts).await {
            assert_eq!(status, 200, "order {i} must be accepted");
        }
    }
    // Let the workers get going, then pull the plug while they are busy.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap()
        .len()
        < 40
    {
        assert!(Instant::now() < deadline, "workers never started sending");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();
    let before = job_states(&db).await;
    let sent_before = sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap()
        .len();
    assert!(
        sent_before < ORDERS as usize,
        "the kill came too late to test anything: {before:?}"
    );

    let second = serve(dir.path(), port, &db, 50);
    second.ready().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let states = job_states(&db).await;
        if states.get("done").copied().unwrap_or(0) == ORDERS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all jobs done after the restart: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut per_order: HashMap<String, usize> = HashMap::new();
    for (number, _) in sandbox.accepted_sends(1).await {
        *per_order.entry(number).or_default() += 1;
    }
    let missing: Vec<u64> = (0..ORDERS)
        .filter(|i| !per_order.contains_key(&(10_000 + i).to_string()))
        .collect();
    let twice: Vec<(&String, &usize)> = per_order.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "killed with {sent_before} sends done and jobs {before:?}; after restart: {} orders sent, duplicates {twice:?}",
        per_order.len()
    );
    assert!(
        missing.is_empty(),
        "orders answered 200 but never sent: {missing:?}"
    );
    // A duplicate can only come from a send Buzzbip accepted in the instant before the job
    // recorded it; such a job says so in its steps. Any other duplicate is a bug.
    for (number, _) in &twice {
        let steps = common::db::text(
            &db,
            &format!("SELECT steps_json FROM jobs WHERE order_id = '{number}'"),
        )
        .await;
        assert!(
            steps.contains("possible_duplicate_send_after"),
            "order {number} was sent twice without the crash window to explain it: {steps}"
        );
    }
}
