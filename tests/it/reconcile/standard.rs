//! Reconciliation of Standard Webhooks stores: the shop's own `reconcile.url`, stood in by a
//! server that checks the request's Standard Webhooks signature as a shop's library would
//! (`plugin-config/README.md`, "Reconciliation endpoint of a standard store"), and pages with
//! `next_cursor`. See `super`.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use shopbip::platforms::standard_webhooks::{self as sw, KeyForm};
use shopbip::platforms::unix_rfc3339;
use shopbip::reconcile::Outcome;

use super::{
    LimitedThenSlow, Reply, Seen, StandIn, assert_made_nothing, assert_refused, ids_where,
    outcomes, post_webhook, sent_with, stand_in, start_store, sweep, sweep_again_changes_nothing,
    sweep_waiting,
};
use crate::common::app::TestApp;
use crate::common::sign::fixture;
use crate::platforms::{now, profile, rule, standard_webhooks_headers};

const STORE: &str = "sweep-standard";
/// The Standard Webhooks spec's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The sandbox's text-only template of one parameter.
const TEMPLATE: u64 = 1290;

/// Order `PS-SW-{n}` numbered `SW-{n}`, paid, as a delivery's body (`{"type", "data"}`).
fn delivery(n: u32) -> Value {
    let mut d: Value = serde_json::from_slice(&fixture("standard/order-paid-eur.json")).unwrap();
    d.as_object_mut().unwrap().remove("timestamp");
    d["data"]["id"] = format!("PS-SW-{n}").into();
    d["data"]["number"] = format!("SW-{n}").into();
    d
}

/// A listing element: the delivery's body changed at `secs`.
fn element(mut body: Value, secs: i64) -> Value {
    body["changed_at"] = unix_rfc3339(secs).into();
    body
}

/// The real corpus's only Standard Webhooks bodies are the spec's `contact.created`: listed
/// among orders, it is skipped, not fatal to its page.
fn contact(secs: i64) -> Value {
    let body = fixture("real/standard/spec_contact_created_full.body");
    element(serde_json::from_slice(&body).unwrap(), secs)
}

/// Whether `seen` is signed with `SECRET` over its path and query, as the README says.
fn verified(seen: &Seen) -> bool {
    let target = format!("{}?{}", seen.path, seen.query);
    let signed = sw::Signed {
        id: seen.header(sw::ID),
        timestamp: seen.header(sw::TIMESTAMP),
        signature: seen.header(sw::SIGNATURE),
    };
    sw::verify(
        &signed,
        target.as_bytes(),
        &[SecretString::from(SECRET)],
        KeyForm::Whsec,
        Duration::from_secs(300),
    )
    .is_ok()
}

/// The shop's endpoint: `pages` of elements, cursors `p1`, `p2`…; unsigned or wrongly signed
/// requests get 401. `faults`: page 2 is first refused with a 429 (`Retry-After: 1`), then
/// answered slowly.
fn shop(pages: Vec<Vec<Value>>, faults: bool) -> StandIn {
    let page_two = LimitedThenSlow::default();
    stand_in(move |seen| {
        if seen.path != "/orders" {
            return Reply::status(404);
        }
        if !verified(seen) {
            return Reply {
                status: 401,
                ..Reply::json(json!({"error": "bad signature"}))
            };
        }
        let index = match seen.param("cursor") {
            None => 0,
            Some(c) => match c.strip_prefix('p').and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => n,
                None => return Reply::status(400),
            },
        };
        let next = (index + 1 < pages.len()).then(|| format!("p{}", index + 1));
        let reply = Reply::json(json!({
            "orders": pages.get(index).cloned().unwrap_or_default(),
            "next_cursor": next,
        }));
        if faults && index == 1 {
            page_two.answer(reply)
        } else {
            reply
        }
    })
}

async fn standard_store(shop: &StandIn, secret: &str) -> TestApp {
    let extra = format!(
        "[reconcile]\nenabled = true\nurl = \"{}/orders\"\n{}",
        shop.base,
        rule("order.paid", TEMPLATE, &["{order.number}"], false),
    );
    start_store(STORE, |url| profile("standard", &[secret], url, &extra)).await
}

fn numbered(numbers: &[u32]) -> Vec<String> {
    numbers.iter().map(|n| format!("SW-{n}")).collect()
}

/// What the service answers the signed delivery of order `n`.
async fn deliver(app: &TestApp, n: u32) -> Value {
    let body = serde_json::to_vec(&delivery(n)).unwrap();
    let headers =
        standard_webhooks_headers(SECRET, KeyForm::Whsec, &format!("msg_{n}"), now(), &body);
    post_webhook(app, STORE, &headers, body).await
}

/// Orders 1 and 2, a page each, changed ten minutes ago; no faults.
async fn orders_one_and_two() -> (StandIn, TestApp) {
    let t = now() - 600;
    let api = shop(
        vec![
            vec![element(delivery(1), t + 10)],
            vec![element(delivery(2), t + 20)],
        ],
        false,
    );
    let app = standard_store(&api, SECRET).await;
    (api, app)
}

#[tokio::test]
async fn a_standard_order_no_webhook_brought_is_sent_once_by_the_sweep() {
    let t = now() - 600;
    let api = shop(
        vec![
            vec![
                element(delivery(1), t + 10),
                element(delivery(2), t + 20),
                contact(t + 25),
            ],
            vec![element(delivery(3), t + 30), element(delivery(4), t + 40)],
        ],
        true,
    );
    let app = standard_store(&api, SECRET).await;
    let before = shopbip::clock::now_ms();
    let report = sweep_waiting(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!((report.pages, report.recovered()), (2, 4), "{report:?}");
    let skipped = ids_where(&report, |o| matches!(o, Outcome::Skipped(_)));
    assert_eq!(skipped, ["1f81eb52-5198-4599-803e-771906343485"]);
    assert_eq!(report.watermark, Some((t + 40) * 1000));

    let calls = api.calls("/orders");
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(calls.iter().all(verified));
    assert_eq!(calls[0].param("cursor"), None);
    assert!(
        calls[1..]
            .iter()
            .all(|c| c.param("cursor").as_deref() == Some("p1"))
    );
    let ids: std::collections::HashSet<_> = calls.iter().map(|c| c.header(sw::ID)).collect();
    assert_eq!(ids.len(), 3, "a fresh webhook-id per request");
    // The first sweep looks back 48 hours, in whole seconds of UTC.
    let since = calls[0].param("since").unwrap();
    assert!(since.ends_with('Z'), "{since}");
    let since_ms = shopbip::clock::parse_datetime_ms(&since).unwrap();
    let lookback = 48 * 3600 * 1000;
    assert!(
        (before - lookback - 1000..=before - lookback + 60_000).contains(&since_ms),
        "{since}"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.param("since").as_deref() == Some(since.as_str()))
    );

    assert_eq!(sent_with(&app, TEMPLATE).await, numbered(&[1, 2, 3, 4]));

    let again = sweep_again_changes_nothing(&app, STORE).await;
    assert_eq!(again.already_handled(), 4, "{again:?}");
    assert_eq!(sent_with(&app, TEMPLATE).await.len(), 4);
}

#[tokio::test]
async fn a_standard_order_its_webhook_brought_gets_nothing_from_the_sweep() {
    let (_api, app) = orders_one_and_two().await;
    assert_eq!(deliver(&app, 1).await["jobs_created"], 1);
    assert_eq!(sent_with(&app, TEMPLATE).await, numbered(&[1]));

    let report = sweep(&app, STORE).await;
    assert_eq!((report.error.as_deref(), report.pages), (None, 2));
    assert_eq!(
        outcomes(&report),
        [
            ("PS-SW-1", &Outcome::AlreadyHandled),
            ("PS-SW-2", &Outcome::Recovered { jobs: 1 }),
        ]
    );
    assert_eq!(sent_with(&app, TEMPLATE).await, numbered(&[1, 2]));
}

#[tokio::test]
async fn a_standard_webhook_after_the_sweep_found_its_order_makes_nothing() {
    let (_api, app) = orders_one_and_two().await;
    let report = sweep(&app, STORE).await;
    assert_eq!((report.pages, report.recovered()), (2, 2), "{report:?}");

    assert_made_nothing(&deliver(&app, 1).await, 1);
    assert_eq!(sent_with(&app, TEMPLATE).await, numbered(&[1, 2]));
}

#[tokio::test]
async fn a_sweep_signed_with_another_secret_is_refused_and_names_the_fix() {
    let api = shop(vec![vec![element(delivery(1), now() - 60)]], false);
    // Another valid secret than the one the shop checks with.
    let app = standard_store(&api, "whsec_YW5vdGhlci1zZWNyZXQta2V5").await;
    let report = sweep(&app, STORE).await;
    let fix = ["HTTP 401", "webhook.secrets", "plugin-config/README.md"];
    assert_refused(&app, &report, &fix, &["YW5vdGhlci1zZWNyZXQta2V5"]).await;
    // Refused, not waited on: a permanent error is not retried within the sweep.
    assert_eq!(api.calls("/orders").len(), 1);
}
