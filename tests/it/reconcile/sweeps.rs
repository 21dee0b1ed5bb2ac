//! What every platform's sweep shares, shown on WooCommerce (its listing is the simplest to
//! stand in for): the watermark kept across restarts, a `kill -9` mid-sweep, one sweep between
//! two replicas, `--dry-run`, and how recovered orders are shown.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use shopbip::app::Application;
use shopbip::reconcile::{Outcome, SweepOptions};
use shopbip::stores::StoreRegistry;

use super::{Reply, Seen, StandIn, job_keys, stand_in, sweep, sweep_with};
use crate::common;
use crate::common::app::{ADMIN_TOKEN, TestApp, WOO_SECRET, start_with, woo_profile};

const STORE: &str = "acme-woo";

/// A paid order of the real corpus (WooCommerce's own documentation order), as order `id`,
/// last changed at `changed` (Unix seconds).
pub fn woo_order(id: u64, changed: i64) -> Value {
    let body =
        std::fs::read("tests/fixtures/real/woocommerce/docs_order_727_paid_update.body").unwrap();
    let mut order: Value = serde_json::from_slice(&body).unwrap();
    order["id"] = id.into();
    order["number"] = id.to_string().into();
    // The documentation's (555) number is fictional: a real one, so the message goes out.
    order["billing"]["phone"] = "+216 96 816 277".into();
    let at = shopbip::platforms::unix_rfc3339(changed);
    let local = at.trim_end_matches('Z').to_owned();
    order["date_modified_gmt"] = local.clone().into();
    order["date_modified"] = local.into();
    order
}

/// The shop's orders and how its API answers, shared with the stand-in.
#[derive(Default)]
pub struct Shop {
    pub orders: Vec<Value>,
    pub per_page: usize,
    /// The Nth listing call (from 1) → a wait before answering it.
    pub slow: Option<(usize, Duration)>,
    /// Listing calls answered so far.
    pub calls: usize,
    /// What `GET /wp-json/wc/v3/webhooks` lists.
    pub webhooks: Vec<Value>,
}

/// WooCommerce's `GET /wp-json/wc/v3/orders` over `shop`: `modified_after` (GMT), oldest
/// change first, `X-WP-TotalPages`.
pub fn woo_api(shop: Arc<Mutex<Shop>>) -> StandIn {
    stand_in(move |req: &Seen| {
        let mut shop = shop.lock().unwrap();
        if req.path.ends_with("/wp-json/wc/v3/webhooks") && req.method == "GET" {
            return Reply::json(Value::from(shop.webhooks.clone())).header("X-WP-TotalPages", "1");
        }
        if !req.path.ends_with("/wp-json/wc/v3/orders") {
            return Reply::status(404);
        }
        shop.calls += 1;
        let after = req
            .param("modified_after")
            .and_then(|t| shopbip::clock::parse_datetime_ms(&t))
            .unwrap_or(0);
        let mut orders: Vec<&Value> = shop
            .orders
            .iter()
            .filter(|o| {
                shopbip::clock::parse_datetime_ms(o["date_modified_gmt"].as_str().unwrap()).unwrap()
                    > after
            })
            .collect();
        orders.sort_by_key(|o| o["date_modified_gmt"].as_str().unwrap().to_owned());
        let per_page = shop.per_page.max(1);
        let page: usize = req.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let pages = orders.len().div_ceil(per_page).max(1);
        let body: Vec<&Value> = orders
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let reply = Reply::json(Value::from(
            body.into_iter().cloned().collect::<Vec<Value>>(),
        ))
        .header("X-WP-TotalPages", &pages.to_string());
        match shop.slow {
            Some((n, wait)) if n == shop.calls => reply.after(wait),
            _ => reply,
        }
    })
}

fn profile(api: &str) -> impl FnOnce(&Path, &str) {
    let api = api.to_owned();
    move |dir: &Path, sandbox: &str| {
        let profile = format!(
            "{}\n[woocommerce]\nconsumer_key = \"ck_test\"\nconsumer_secret = \"cs_test\"\napi_base_url = \"{api}\"\n[reconcile]\nenabled = true\nevery_minutes = 1\n",
            woo_profile(sandbox)
        );
        std::fs::write(dir.join(format!("{STORE}.toml")), profile).unwrap();
    }
}

fn now_secs() -> i64 {
    shopbip::clock::now_ms() / 1000
}

/// A shop of `n` paid orders 7001.., changed over the last hour, `per_page` a page.
fn shop_of(n: u64, per_page: usize) -> Arc<Mutex<Shop>> {
    let now = now_secs();
    Arc::new(Mutex::new(Shop {
        orders: (0..n)
            .map(|i| woo_order(7001 + i, now - 3600 + i as i64 * 60))
            .collect(),
        per_page,
        slow: None,
        calls: 0,
        webhooks: Vec::new(),
    }))
}

async fn watermark(db: &str) -> i64 {
    common::db::scalar(
        db,
        &format!("SELECT COALESCE(watermark, -1) FROM sweeps WHERE store_id = '{STORE}'"),
    )
    .await
}

#[tokio::test]
async fn a_dry_run_lists_what_it_would_send_and_stores_nothing() {
    let shop = shop_of(3, 2);
    let api = woo_api(shop.clone());
    let p = start_with(profile(&api.base), |s| s.worker.concurrency = 0).await;
    let report = sweep_with(
        &p,
        STORE,
        SweepOptions {
            dry_run: true,
            ..SweepOptions::default()
        },
    )
    .await;
    assert_eq!(report.would_send(), 3, "{report:?}");
    assert_eq!(report.pages, 2);
    assert!(
        matches!(&report.orders[0].outcome, Outcome::WouldSend { rules } if rules[0].contains("order.paid"))
    );
    assert_eq!(p.count("events").await, 0);
    assert_eq!(p.count("jobs").await, 0);
    assert_eq!(
        common::db::scalar(
            &p.db_url,
            "SELECT COUNT(*) FROM sweeps WHERE watermark IS NOT NULL"
        )
        .await,
        0,
        "a dry run moves no watermark"
    );
    // The real sweep then finds the same three.
    let report = sweep(&p, STORE).await;
    assert_eq!(report.recovered(), 3, "{report:?}");
}

#[tokio::test]
async fn recovered_orders_are_counted_and_shown_as_recovered() {
    let shop = shop_of(2, 10);
    let api = woo_api(shop.clone());
    let p = start_with(profile(&api.base), |s| s.worker.concurrency = 0).await;
    // Order 7001's webhook came; 7002's never did.
    let body = serde_json::to_vec(&shop.lock().unwrap().orders[0]).unwrap();
    let headers = common::sign::woo_headers(WOO_SECRET, "order.updated", &body, "d-7001");
    assert_eq!(p.post(STORE, &headers, body).await.status(), 200);
    let report = sweep(&p, STORE).await;
    assert_eq!(report.recovered(), 1, "{report:?}");
    assert_eq!(report.already_handled(), 1, "{report:?}");
    let jobs: Value = p
        .admin(reqwest::Method::GET, "/admin/jobs")
        .await
        .json()
        .await
        .unwrap();
    let recovered: Vec<(&str, bool)> = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["order_id"].as_str().unwrap(),
                j["recovered"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(recovered, [("7002", true), ("7001", false)]);
    let stores: Value = p
        .admin(reqwest::Method::GET, "/admin/stores")
        .await
        .json()
        .await
        .unwrap();
    let store = stores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == STORE)
        .unwrap();
    assert_eq!(store["reconcile"]["enabled"], true);
    assert_eq!(store["reconcile"]["recovered"], 1);
    assert!(store["reconcile"]["watermark_at"].is_string(), "{store}");
    let metrics = p
        .http
        .get(format!("{}/metrics", p.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("shopbip_reconcile_recovered_total{") && l.contains(STORE)),
        "{metrics}"
    );
}

/// Builds the service again on `p`'s database and stores, as a restart would.
async fn restart(p: TestApp) -> (Application, tempfile::TempDir, String) {
    let TestApp {
        service,
        dir,
        db_url,
        ..
    } = p;
    service.stop().await;
    let mut settings =
        common::app::test_settings(dir.path(), dir.path().join("plugin-config")).await;
    settings.database.url = db_url.clone();
    settings.worker.concurrency = 0;
    let registry = StoreRegistry::load_dir(&settings.stores.dir).unwrap();
    let service = Application::build(&settings, registry, shopbip::stores::reload::as_loaded())
        .await
        .unwrap();
    (service, dir, db_url)
}

#[tokio::test]
async fn the_watermark_survives_a_restart() {
    let shop = shop_of(3, 2);
    let api = woo_api(shop.clone());
    let p = start_with(profile(&api.base), |s| s.worker.concurrency = 0).await;
    let first = sweep(&p, STORE).await;
    assert_eq!(first.recovered(), 3);
    let newest = shop.lock().unwrap().orders[2]["date_modified_gmt"]
        .as_str()
        .map(|t| shopbip::clock::parse_datetime_ms(t).unwrap())
        .unwrap();
    assert_eq!(
        watermark(&p.db_url).await,
        newest,
        "the newest change listed"
    );
    let first_after = api.calls("/orders")[0].param("modified_after").unwrap();
    let (service, _dir, db) = restart(p).await;
    // One more order changed while shopbip was down.
    shop.lock()
        .unwrap()
        .orders
        .push(woo_order(7100, now_secs() - 10));
    let seen_before = api.requests().len();
    let report = service
        .reconcile_now(STORE, &SweepOptions::default())
        .await
        .unwrap();
    assert_eq!(report.recovered(), 1, "only the new order: {report:?}");
    let asked = api.requests()[seen_before].param("modified_after").unwrap();
    let asked_ms = shopbip::clock::parse_datetime_ms(&asked).unwrap();
    assert_eq!(
        asked_ms,
        newest - 5 * 60 * 1000,
        "resumed from the watermark (less the overlap), not {first_after} again"
    );
    assert_eq!(
        common::db::scalar(&db, "SELECT COUNT(*) FROM jobs").await,
        4
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_killed_in_the_middle_loses_nothing_and_sends_nothing_twice() {
    let sandbox = common::spawn_sandbox();
    let shop = shop_of(6, 3);
    // The second listing call takes long enough for the kill to land while it is made.
    shop.lock().unwrap().slow = Some((2, Duration::from_secs(20)));
    let api = woo_api(shop.clone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugin-config")).unwrap();
    profile(&api.base)(
        &dir.path().join("plugin-config"),
        &sandbox.handle.base_url(),
    );
    let db = common::db::fresh_url(dir.path()).await;
    let port = common::serve::free_port();
    let mut first = common::serve::serve(dir.path(), port, &db, 50);
    first.ready().await;
    // The loop sweeps at start: page 1 is stored (and the watermark moved) before page 2.
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.calls("/orders").len() < 2 || watermark(&db).await < 0 {
        assert!(Instant::now() < deadline, "the sweep never reached page 2");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();
    let orders_before = common::db::scalar(&db, "SELECT COUNT(DISTINCT order_id) FROM jobs").await;
    assert_eq!(orders_before, 3, "killed after page 1, before page 2");
    let mark = watermark(&db).await;
    // The dead process's lease runs out (3 min); here, at once.
    common::db::exec(&db, "UPDATE sweeps SET lease_until = 0").await;
    shop.lock().unwrap().slow = None;
    let second = common::serve::serve(dir.path(), port, &db, 50);
    second.ready().await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let done = common::db::scalar(&db, "SELECT COUNT(*) FROM jobs WHERE state = 'done'").await;
        if done == 6 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every order sent: {done} done"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = api
        .calls("/orders")
        .into_iter()
        .skip(2)
        .find_map(|s| s.param("modified_after"))
        .unwrap();
    assert_eq!(
        shopbip::clock::parse_datetime_ms(&resumed).unwrap(),
        mark - 5 * 60 * 1000,
        "the second process resumed from the first one's watermark"
    );
    let mut per_order = std::collections::HashMap::<String, usize>::new();
    for (number, _) in sandbox.accepted_sends(1).await {
        *per_order.entry(number).or_default() += 1;
    }
    assert_eq!(per_order.len(), 6, "{per_order:?}");
    assert!(per_order.values().all(|n| *n == 1), "{per_order:?}");
    assert_eq!(
        common::db::scalar(&db, "SELECT COUNT(*) FROM jobs").await,
        6,
        "one job per order and rule"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL (SHOPBIP_TEST_POSTGRES); run by .ci/run"]
async fn two_replicas_on_postgres_run_one_sweep_between_them() {
    common::db::require_postgres();
    let shop = shop_of(4, 2);
    shop.lock().unwrap().slow = Some((1, Duration::from_secs(2)));
    let api = woo_api(shop.clone());
    let p = start_with(profile(&api.base), |s| s.worker.concurrency = 0).await;
    assert!(p.db_url.starts_with("postgres"), "{}", p.db_url);
    let mut settings =
        common::app::test_settings(p.dir.path(), p.dir.path().join("plugin-config")).await;
    settings.database.url = p.db_url.clone();
    settings.worker.concurrency = 0;
    let registry = StoreRegistry::load_dir(&settings.stores.dir).unwrap();
    let other = Application::build(&settings, registry, shopbip::stores::reload::as_loaded())
        .await
        .unwrap();
    let options = SweepOptions::default();
    let (a, b) = tokio::join!(
        p.service.reconcile_now(STORE, &options),
        other.reconcile_now(STORE, &options)
    );
    let ran: Vec<_> = [&a, &b].into_iter().filter(|r| r.is_ok()).collect();
    assert_eq!(ran.len(), 1, "exactly one replica sweeps: {a:?} / {b:?}");
    let refused = [a.as_ref().err(), b.as_ref().err()]
        .into_iter()
        .flatten()
        .next()
        .unwrap()
        .to_string();
    assert!(refused.contains("another process is sweeping"), "{refused}");
    assert_eq!(
        common::db::scalar(&p.db_url, "SELECT listed_total FROM sweeps").await,
        4,
        "the four orders listed by one sweep, not by two"
    );
    assert_eq!(job_keys(&p, STORE).await.len(), 4);
    other.stop().await;
}

/// `shopbip reconcile` as an operator runs it, configured by environment.
fn reconcile_cli(dir: &Path, db: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("reconcile")
        .args(args)
        .env("SHOPBIP__STORES__DIR", dir.join("plugin-config"))
        .env("SHOPBIP__DATABASE__URL", db)
        .env("SHOPBIP__LOG__LEVEL", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test]
async fn the_reconcile_command_prints_what_it_found_and_a_dry_run_stores_nothing() {
    let shop = shop_of(3, 2);
    let api = woo_api(shop.clone());
    let p = start_with(profile(&api.base), |s| s.worker.concurrency = 0).await;
    let dir = p.dir.path();
    let (ok, text) = reconcile_cli(dir, &p.db_url, &["--store", STORE, "--dry-run"]);
    assert!(ok, "{text}");
    assert!(text.contains("(dry run: nothing stored)"), "{text}");
    assert!(
        text.contains("order 7001 [order.paid]: would send: order.paid"),
        "{text}"
    );
    assert!(text.contains("3 order(s) listed: 3 would send"), "{text}");
    assert_eq!(p.count("events").await, 0);

    let before = api.calls("/orders").len();
    let (ok, text) = reconcile_cli(
        dir,
        &p.db_url,
        &["--store", STORE, "--since", "2020-01-01T00:00:00Z"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("3 order(s) listed: 3 recovered"), "{text}");
    assert!(text.contains("watermark: "), "{text}");
    let asked = api.calls("/orders")[before]
        .param("modified_after")
        .unwrap();
    assert!(
        asked.starts_with("2020-01-01T00:00:00"),
        "--since is what is asked: {asked}"
    );
    assert_eq!(p.count("jobs").await, 3);
    // Again: the same orders, already handled.
    let (ok, text) = reconcile_cli(dir, &p.db_url, &["--store", STORE]);
    assert!(ok, "{text}");
    assert!(text.contains("0 recovered, 3 already handled"), "{text}");

    let (ok, text) = reconcile_cli(dir, &p.db_url, &["--store", STORE, "--since", "yesterday"]);
    assert!(!ok);
    assert!(
        text.contains("--since \"yesterday\" is not an RFC 3339 time"),
        "{text}"
    );
}

#[tokio::test]
async fn check_online_reports_a_webhook_the_shop_disabled_and_does_not_touch_it() {
    let shop = shop_of(1, 10);
    shop.lock().unwrap().webhooks = vec![serde_json::json!({
        "id": 12, "name": "Order updated", "status": "disabled", "topic": "order.updated",
        "delivery_url": format!("https://hooks.acme.test/webhooks/{STORE}"),
        "secret": "must-not-be-printed"
    })];
    let api = woo_api(shop.clone());
    let p = start_with(profile(&api.base), |s| s.worker.concurrency = 0).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["check", "--online"])
        .env("SHOPBIP__STORES__DIR", p.dir.path().join("plugin-config"))
        .env("SHOPBIP__LOG__LEVEL", "warn")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a shop not delivering fails the check: {text}"
    );
    assert!(text.contains(&format!("webhooks: {STORE}  FAIL")), "{text}");
    assert!(text.contains("disabled"), "{text}");
    assert!(!text.contains("must-not-be-printed"), "{text}");
    assert!(
        api.requests().iter().all(|r| r.method == "GET"),
        "a check only looks, even with reconcile.reactivate"
    );
    // Active again: the check passes.
    shop.lock().unwrap().webhooks[0]["status"] = "active".into();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["check", "--online"])
        .env("SHOPBIP__STORES__DIR", p.dir.path().join("plugin-config"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("webhooks: {STORE}  OK")), "{text}");
}
