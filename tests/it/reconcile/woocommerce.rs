//! Reconciliation of WooCommerce stores: see `super`. The stand-in lists REST v3 orders made
//! from the corpus's order 727 (WooCommerce's webhook body is that very order), two a page
//! with `X-WP-TotalPages`, only those modified after `modified_after`, rate-limits page 2
//! once and answers page 3 slowly; and lists the shop's webhooks for the health check.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use shopbip::reconcile::Outcome;

use super::{
    Once, Reply, Seen, StandIn, api_access, assert_48h_back, assert_made_nothing, assert_refused,
    ids_where, job_keys, post_webhook, sent_numbers, stand_in, start_store, start_stores, sweep,
    sweep_again_changes_nothing, sweep_waiting,
};
use crate::common::app::{TestApp, WOO_SECRET, woo_profile};
use crate::common::sign::{fixture, woo_headers};

const STORE: &str = "acme-woo";
const PAID_727: &str = "real/woocommerce/docs_order_727_paid_update.body";
const PAGE: usize = 2;
const ORDERS: &str = "/wp-json/wc/v3/orders";
const KEYS: &[(&str, &str)] = &[("consumer_key", "ck_test"), ("consumer_secret", "cs_test")];

/// Corpus order 727 as order `id`, modified `ago_secs` ago, paid unless `status` says
/// otherwise, with a phone WhatsApp can reach.
fn order(id: u64, ago_secs: i64, status: &str) -> Value {
    let mut o: Value = serde_json::from_slice(&fixture(PAID_727)).unwrap();
    o["id"] = id.into();
    o["number"] = id.to_string().into();
    o["status"] = status.into();
    if status == "pending" {
        o["date_paid"] = Value::Null;
        o["date_paid_gmt"] = Value::Null;
    }
    o["billing"]["phone"] = "+216 96 816 277".into();
    let modified = shopbip::platforms::unix_rfc3339(shopbip::clock::now_ms() / 1000 - ago_secs);
    o["date_modified_gmt"] = modified.trim_end_matches('Z').into();
    o
}

/// The WooCommerce API stand-in over `orders` (oldest change first).
fn woo_api(orders: Vec<Value>) -> StandIn {
    let limited = Once::default();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    stand_in(move |seen: &Seen| {
        if seen.path != ORDERS {
            return Reply::status(404);
        }
        // Keyed on the call, not the page: the sweep asks page 1 of a window that moves.
        let call = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let after = seen.param("modified_after").unwrap_or_default();
        // WooCommerce's own comparison: GMT text, strictly after.
        let listed: Vec<&Value> = orders
            .iter()
            .filter(|o| o["date_modified_gmt"].as_str().unwrap_or_default() > after.as_str())
            .collect();
        let page: usize = seen.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        if call == 2 && limited.first() {
            return Reply::too_many_requests();
        }
        let total = listed.len().div_ceil(PAGE);
        let items: Vec<&Value> = listed
            .iter()
            .skip((page - 1) * PAGE)
            .take(PAGE)
            .copied()
            .collect();
        Reply::json(json!(items))
            .header("X-WP-Total", &listed.len().to_string())
            .header("X-WP-TotalPages", &total.to_string())
            .slow_when(call == 4)
    })
}

async fn woo_store(api: &StandIn) -> TestApp {
    start_store(STORE, |url| {
        woo_profile(url) + &api_access("woocommerce", KEYS, &api.base)
    })
    .await
}

/// The signed `order.updated` webhook carrying `order`: the service's answer.
async fn post(app: &TestApp, order: &Value, delivery: &str) -> Value {
    let body = serde_json::to_vec(order).unwrap();
    let headers = woo_headers(WOO_SECRET, "order.updated", &body, delivery);
    post_webhook(app, STORE, &headers, body).await
}

/// Three pages of two; the second over 1 MiB (a plugin's bulky meta on 9004).
fn paid_orders() -> Vec<Value> {
    let mut bulky = order(9004, 1800, "completed");
    bulky["meta_data"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": 1, "key": "_plugin_log", "value": "x".repeat(1_200_000)}));
    vec![
        order(9001, 3600, "processing"),
        order(9002, 3000, "pending"),
        order(9003, 2400, "processing"),
        bulky,
        order(9005, 1200, "processing"),
        order(9006, 600, "on-hold"),
    ]
}

#[tokio::test]
async fn an_order_whose_webhook_never_came_gets_one_message_after_one_sweep() {
    let orders = paid_orders();
    let api = woo_api(orders.clone());
    let app = woo_store(&api).await;
    let report = sweep_waiting(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    // Each page after the first re-lists its window's boundary order (left out by the cursor).
    assert_eq!(report.pages, 5, "{report:?}");
    assert_eq!(report.recovered(), 5, "{report:?}");
    let skipped = ids_where(&report, |o| matches!(o, Outcome::Skipped(_)));
    assert_eq!(skipped, ["9002"], "unpaid: no event");
    assert_eq!(
        sent_numbers(&app).await,
        ["9001", "9003", "9004", "9005", "9006"]
    );
    let keys = job_keys(&app, STORE).await;
    assert!(
        keys.contains(&("9004".into(), "order.paid".into())),
        "{keys:?}"
    );

    // What the stand-in was asked: page 1 of a window moving forward, the rate-limited call
    // asked again (six calls for five pages), Basic auth, GMT times, the first 48 h back.
    let calls = api.calls(ORDERS);
    let pages: Vec<String> = calls.iter().map(|s| s.param("page").unwrap()).collect();
    assert_eq!(pages, ["1"; 6]);
    let afters: Vec<String> = calls
        .iter()
        .map(|s| s.param("modified_after").unwrap())
        .collect();
    assert!(afters.windows(2).all(|w| w[0] <= w[1]), "{afters:?}");
    assert_eq!(
        afters[1], afters[2],
        "the 429 waited out, the same call again"
    );
    let first = &afters[0];
    assert_48h_back(shopbip::clock::parse_datetime_ms(first).unwrap(), first);
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "ck_test:cs_test"
        )
    );
    for call in &calls {
        assert_eq!(call.header("authorization"), Some(auth.as_str()));
        assert_eq!(call.param("dates_are_gmt").as_deref(), Some("true"));
        assert_eq!(call.param("orderby").as_deref(), Some("modified"));
        assert_eq!(call.param("order").as_deref(), Some("asc"));
        assert_eq!(call.param("status").as_deref(), Some("any"));
        let after = call.param("modified_after").unwrap();
        assert!(!after.ends_with('Z') && !after.contains('+'), "{after}");
    }
    let newest =
        shopbip::clock::parse_datetime_ms(orders[5]["date_modified_gmt"].as_str().unwrap());
    assert_eq!(report.watermark, newest);

    // A second sweep lists from the watermark and finds nothing new.
    sweep_again_changes_nothing(&app, STORE).await;
    assert_eq!(sent_numbers(&app).await.len(), 5);
    let last = api.calls(ORDERS).pop().unwrap();
    let at = shopbip::clock::parse_datetime_ms(&last.param("modified_after").unwrap()).unwrap();
    assert_eq!(Some(at), newest.map(|n| n - 5 * 60 * 1000));
}

#[tokio::test]
async fn an_order_its_webhook_brought_gets_nothing_from_the_sweep() {
    let orders = paid_orders();
    let api = woo_api(orders.clone());
    let app = woo_store(&api).await;
    let answer = post(&app, &orders[2], "w1").await;
    assert_eq!(answer["jobs_created"], 1, "{answer}");
    assert_eq!(sent_numbers(&app).await, ["9003"]);

    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    let handled = ids_where(&report, |o| *o == Outcome::AlreadyHandled);
    assert_eq!(handled, ["9003"]);
    assert_eq!(
        sent_numbers(&app).await,
        ["9001", "9003", "9004", "9005", "9006"]
    );
}

#[tokio::test]
async fn a_webhook_arriving_after_the_sweep_found_its_order_makes_nothing() {
    let orders = paid_orders();
    let api = woo_api(orders.clone());
    let app = woo_store(&api).await;
    let report = sweep(&app, STORE).await;
    assert_eq!(report.recovered(), 5, "{report:?}");
    assert_eq!(sent_numbers(&app).await.len(), 5);

    assert_made_nothing(&post(&app, &orders[4], "late").await, 1);
    let sends = sent_numbers(&app).await;
    assert_eq!(
        sends.iter().filter(|n| *n == "9005").count(),
        1,
        "{sends:?}"
    );
    assert_eq!(sends.len(), 5);
}

const HOOKS: &str = "/wp-json/wc/v3/webhooks";

/// The shop's webhooks: 12 delivers to `woo-health`, 13 to `woo-health-fix`, both disabled
/// by WooCommerce; 14 is another service's, active. A PUT sets the status it carries.
fn webhooks_api() -> StandIn {
    let hooks = Arc::new(Mutex::new(vec![
        json!({"id": 12, "name": "Orders to WhatsApp", "status": "disabled", "topic": "order.updated",
               "delivery_url": "https://hooks.acme.test/webhooks/woo-health", "secret": "wh-secret-12"}),
        json!({"id": 13, "name": "Orders to WhatsApp", "status": "disabled", "topic": "order.updated",
               "delivery_url": "https://hooks.acme.test/webhooks/woo-health-fix", "secret": "wh-secret-13"}),
        json!({"id": 14, "name": "ERP", "status": "active", "topic": "order.updated",
               "delivery_url": "https://erp.acme.test/hooks/woo-health", "secret": "wh-secret-14"}),
    ]));
    stand_in(move |seen: &Seen| {
        let mut hooks = hooks.lock().unwrap();
        match (seen.method.as_str(), seen.path.strip_prefix(HOOKS)) {
            ("GET", Some("")) => Reply::json(json!(*hooks)).header("X-WP-TotalPages", "1"),
            ("PUT", Some(id)) => {
                let id: u64 = id.trim_start_matches('/').parse().unwrap_or(0);
                match hooks.iter_mut().find(|h| h["id"] == id) {
                    Some(hook) => {
                        hook["status"] = seen.json()["status"].clone();
                        Reply::json(hook.clone())
                    }
                    None => Reply::status(404),
                }
            }
            _ => Reply::status(404),
        }
    })
}

fn gauge(text: &str, store: &str) -> Option<f64> {
    let series = format!("shopbip_webhook_subscription_ok{{store=\"{store}\"}}");
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(name, _)| *name == series)
        .and_then(|(_, v)| v.parse().ok())
}

#[tokio::test]
async fn a_disabled_woocommerce_webhook_is_reported_and_when_allowed_reactivated() {
    let api = webhooks_api();
    let app = start_stores(|url| {
        [("woo-health", false), ("woo-health-fix", true)]
            .map(|(store, reactivate)| {
                let access = api_access("woocommerce", KEYS, &api.base);
                let profile = woo_profile(url) + &access + &format!("reactivate = {reactivate}\n");
                (store.to_owned(), profile)
            })
            .into()
    })
    .await;
    let sweeper = app.service.sweeper();
    let check = async |store: &str| {
        let store = sweeper.stores.load().get(store).cloned().unwrap();
        let found = shopbip::reconcile::check_subscription(&sweeper.client, &store)
            .await
            .unwrap()
            .expect("WooCommerce tells");
        shopbip::reconcile::record_subscription(sweeper, &store, &found).await;
        found
    };

    let reported = check("woo-health").await;
    assert!(!reported.ok && !reported.reactivated, "{reported:?}");
    for needle in [
        "webhook 12",
        "disabled",
        "Advanced → Webhooks",
        "reconcile.reactivate",
    ] {
        assert!(
            reported.detail.contains(needle),
            "{needle}: {}",
            reported.detail
        );
    }
    assert!(
        !reported.detail.contains("wh-secret"),
        "{}",
        reported.detail
    );
    assert!(
        api.requests().iter().all(|s| s.method == "GET"),
        "nothing changed in the shop"
    );

    let fixed = check("woo-health-fix").await;
    assert!(fixed.ok && fixed.reactivated, "{fixed:?}");
    assert!(
        fixed.detail.contains("set back to active"),
        "{}",
        fixed.detail
    );
    let puts: Vec<Seen> = api
        .requests()
        .into_iter()
        .filter(|s| s.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0].path, format!("{HOOKS}/13"));
    assert_eq!(puts[0].json(), json!({"status": "active"}));
    assert!(
        puts[0]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))
    );

    // The store left as it was is still reported; the reactivated one now reads active.
    assert!(!check("woo-health").await.ok);
    let again = check("woo-health-fix").await;
    assert!(again.ok && !again.reactivated, "{again:?}");

    let metrics = app
        .admin(reqwest::Method::GET, "/metrics")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(gauge(&metrics, "woo-health"), Some(0.0), "{metrics}");
    assert_eq!(gauge(&metrics, "woo-health-fix"), Some(1.0), "{metrics}");
}

#[tokio::test]
async fn refused_keys_end_the_sweep_with_the_fix_and_never_the_keys() {
    let api = stand_in(|_: &Seen| Reply {
        status: 401,
        ..Reply::json(json!({"code": "woocommerce_rest_cannot_view",
            "message": "Sorry, you cannot list resources.", "data": {"status": 401}}))
    });
    let app = woo_store(&api).await;
    let report = sweep(&app, STORE).await;
    let fix = ["woocommerce.consumer_key", "cannot list resources"];
    assert_refused(&app, &report, &fix, &["ck_test", "cs_test"]).await;
    assert_eq!(report.retry_after, None);
    assert_eq!(
        api.calls(ORDERS).len(),
        1,
        "a refusal is not retried in the sweep"
    );
}

/// The page shift of listings by page number: order 9101 (first of page 1) is paid again
/// between the first page and the next, so it moves to the end and every later order shifts
/// back one place. Asked by page number, 9103 (the first of page 2) would never be listed;
/// the moving window lists everything, and each order is sent once.
#[tokio::test]
async fn an_order_changed_between_two_pages_shifts_no_order_out_of_the_sweep() {
    let shop: Arc<Mutex<Vec<Value>>> = Arc::new(Mutex::new(
        (0..6)
            .map(|n| order(9101 + n, 3600 - n as i64 * 600, "processing"))
            .collect(),
    ));
    let listing = shop.clone();
    let api = stand_in(move |seen: &Seen| {
        if seen.path != ORDERS {
            return Reply::status(404);
        }
        let mut orders = listing.lock().unwrap();
        let after = seen.param("modified_after").unwrap_or_default();
        let mut listed: Vec<Value> = orders
            .iter()
            .filter(|o| o["date_modified_gmt"].as_str().unwrap_or_default() > after.as_str())
            .cloned()
            .collect();
        listed.sort_by_key(|o| {
            o["date_modified_gmt"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
        let page: usize = seen.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let total = listed.len().div_ceil(PAGE);
        let items: Vec<Value> = listed
            .into_iter()
            .skip((page - 1) * PAGE)
            .take(PAGE)
            .collect();
        if orders[0]["status"] == "processing" {
            // The first page is answered; 9101 is then completed: changed now.
            orders[0] = order(9101, 0, "completed");
        }
        Reply::json(json!(items)).header("X-WP-TotalPages", &total.to_string())
    });
    let app = woo_store(&api).await;
    let report = sweep(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    let recovered = ids_where(&report, |o| matches!(o, Outcome::Recovered { .. }));
    for id in 9101..=9106 {
        assert!(
            recovered.contains(&id.to_string().as_str()),
            "{id} listed: {report:?}"
        );
    }
    assert_eq!(
        sent_numbers(&app).await,
        ["9101", "9102", "9103", "9104", "9105", "9106"]
    );
    // Page 1 of a window moved on each time, never page 2 of a shifted list.
    let calls = api.calls(ORDERS);
    let asked: Vec<(String, String)> = calls
        .iter()
        .map(|s| (s.param("modified_after").unwrap(), s.param("page").unwrap()))
        .collect();
    assert!(asked.iter().all(|(_, page)| page == "1"), "{asked:?}");
    assert!(asked.windows(2).all(|w| w[0].0 < w[1].0), "{asked:?}");
}
