//! Reconciliation of Stripe stores: `GET /v1/events` on a stand-in serving invoice events made
//! from the real corpus (`tests/fixtures/real/stripe/`), newest first, paged with
//! `starting_after`; and the webhook endpoint check. See `super`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shopbip::platforms::api::ApiAccess;
use shopbip::platforms::reconcile::{SweepAccess, subscription};
use shopbip::platforms::stripe::{profile::Api, sign};
use shopbip::reconcile::Outcome;

use super::{
    LimitedThenSlow, Reply, StandIn, api_access, assert_made_nothing, assert_refused, job_keys,
    outcomes, post_webhook, sent_with, stand_in, start_store, sweep, sweep_again_changes_nothing,
    sweep_waiting,
};
use crate::common::app::TestApp;
use crate::platforms::{now, profile, rule};

const STORE: &str = "sweep-stripe";
const SECRET: &str = "whsec_stripe_sweep_2026";
const KEY: &str = "rk_test_1";
const PAID_TEMPLATE: u64 = 1290;
/// The sandbox's template with the invoice as document.
const FINALIZED_TEMPLATE: u64 = 1289;
const INVOICE_PDF: &str = "/invoice.pdf";

/// A corpus event: the Nomami invoice (a phone, a Brazilian address) as Stripe sent it.
fn corpus(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/real/stripe/{name}.body",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Invoice `in_sweep_{n}`, numbered `SW-{n}`, paid (or finalized) in event `created`.
fn event(n: u32, created: i64, finalized: bool) -> Value {
    let (name, suffix) = if finalized {
        ("nomami_invoice_as_invoice_finalized_brl", "_fin")
    } else {
        ("nomami_invoice_as_invoice_paid_brl", "")
    };
    let mut e = corpus(name);
    e["id"] = format!("evt_sweep_{n}{suffix}").into();
    e["created"] = created.into();
    e["data"]["object"]["id"] = format!("in_sweep_{n}").into();
    e["data"]["object"]["number"] = format!("SW-{n}").into();
    e
}

fn body(e: &Value) -> Vec<u8> {
    serde_json::to_vec(e).unwrap()
}

/// Stripe's refusal of a key.
fn invalid_key() -> Reply {
    Reply {
        status: 401,
        ..Reply::json(json!({"error": {
            "message": format!("Invalid API Key provided: {KEY}"),
            "type": "invalid_request_error"
        }}))
    }
}

/// Stripe's API: `pages` of events (each newest first), the next one after the last id of
/// the one before. `faults`: page 2 is first refused with a 429 (`Retry-After: 1`), then
/// answered slowly. The invoices' PDFs (the finalized rule attaches them) are served here.
fn stripe_api(pages: Vec<Vec<Value>>, faults: bool) -> StandIn {
    let page_two = LimitedThenSlow::default();
    stand_in(move |seen| {
        if seen.path == INVOICE_PDF {
            return Reply {
                headers: vec![("content-type".into(), "application/pdf".into())],
                body: shopbip::cli::demo::placeholder_pdf("Stripe invoice"),
                ..Reply::status(200)
            };
        }
        if seen.header("authorization") != Some(&format!("Bearer {KEY}")) {
            return invalid_key();
        }
        if seen.path != "/v1/events" {
            return Reply::status(404);
        }
        let index = match seen.param("starting_after") {
            None => 0,
            Some(after) => match pages
                .iter()
                .position(|p| p.last().is_some_and(|e| e["id"] == after.as_str()))
            {
                Some(i) => i + 1,
                None => return Reply::status(400),
            },
        };
        let mut events = pages.get(index).cloned().unwrap_or_default();
        let pdf = format!(
            "http://{}{INVOICE_PDF}",
            seen.header("host").unwrap_or_default()
        );
        for e in &mut events {
            e["data"]["object"]["invoice_pdf"] = pdf.as_str().into();
        }
        let reply = Reply::json(json!({
            "object": "list",
            "url": "/v1/events",
            "has_more": index + 1 < pages.len(),
            "data": events,
        }));
        if faults && index == 1 {
            page_two.answer(reply)
        } else {
            reply
        }
    })
}

async fn stripe_store(api: &StandIn) -> TestApp {
    let extra = api_access("stripe", &[("secret_key", KEY)], &api.base)
        + &rule("invoice.paid", PAID_TEMPLATE, &["{invoice.number}"], false)
        + &rule(
            "invoice.created",
            FINALIZED_TEMPLATE,
            &["{customer.first_name}", "{invoice.number}"],
            true,
        );
    start_store(STORE, |url| profile("stripe", &[SECRET], url, &extra)).await
}

fn numbered(numbers: &[u32]) -> Vec<String> {
    numbers.iter().map(|n| format!("SW-{n}")).collect()
}

/// What the service answers the signed webhook of `e`.
async fn deliver(app: &TestApp, e: &Value) -> Value {
    let b = body(e);
    let headers = [("Stripe-Signature", sign(SECRET, now(), &b))];
    post_webhook(app, STORE, &headers, b).await
}

#[tokio::test]
async fn a_stripe_invoice_no_webhook_brought_is_sent_once_by_the_sweep() {
    let t = now() - 600;
    // Invoice 3 is finalized and paid within one second, as a charged subscription's is.
    let api = stripe_api(
        vec![
            vec![
                event(5, t + 50, false),
                event(4, t + 40, false),
                event(3, t + 30, false),
                event(3, t + 30, true),
            ],
            vec![event(2, t + 20, false), event(1, t + 10, false)],
        ],
        true,
    );
    let app = stripe_store(&api).await;
    let before = shopbip::clock::now_ms();
    // The 429's second and the slow page are waited out within the sweep.
    let report = sweep_waiting(&app, STORE).await;
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!((report.pages, report.recovered()), (2, 6), "{report:?}");
    // Newest first: the watermark is page 1's newest, set once the last page is stored.
    assert_eq!(report.watermark, Some((t + 50) * 1000));

    let calls = api.calls("/v1/events");
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0].param("starting_after"), None);
    for later in &calls[1..] {
        assert_eq!(
            later.param("starting_after").as_deref(),
            Some("evt_sweep_3_fin")
        );
    }
    let types: Vec<String> = url::form_urlencoded::parse(calls[0].query.as_bytes())
        .filter(|(k, _)| k == "types[]")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(types, ["invoice.paid", "invoice.finalized"]);
    assert_eq!(calls[0].param("limit").as_deref(), Some("100"));
    // The first sweep looks back 48 hours, in Stripe's whole seconds.
    let gte: i64 = calls[0].param("created[gte]").unwrap().parse().unwrap();
    let lookback = 48 * 3600;
    assert!(
        (before / 1000 - lookback - 1..=before / 1000 - lookback + 60).contains(&gte),
        "{gte}"
    );

    assert_eq!(
        sent_with(&app, PAID_TEMPLATE).await,
        numbered(&[1, 2, 3, 4, 5])
    );
    assert_eq!(sent_with(&app, FINALIZED_TEMPLATE).await, numbered(&[3]));

    let again = sweep_again_changes_nothing(&app, STORE).await;
    assert_eq!(again.already_handled(), 6, "{again:?}");
    assert_eq!(sent_with(&app, PAID_TEMPLATE).await.len(), 5);
    assert_eq!(sent_with(&app, FINALIZED_TEMPLATE).await.len(), 1);
}

#[tokio::test]
async fn a_stripe_invoice_its_webhook_brought_gets_nothing_from_the_sweep() {
    let t = now() - 600;
    let (one, two, three) = (
        event(1, t + 10, false),
        event(2, t + 20, false),
        event(3, t + 30, false),
    );
    let api = stripe_api(vec![vec![three, two], vec![one.clone()]], false);
    let app = stripe_store(&api).await;
    let answer = deliver(&app, &one).await;
    assert_eq!(answer["jobs_created"], 1, "{answer}");
    assert_eq!(sent_with(&app, PAID_TEMPLATE).await, numbered(&[1]));

    let report = sweep(&app, STORE).await;
    assert_eq!((report.error.as_deref(), report.pages), (None, 2));
    assert_eq!(
        outcomes(&report),
        [
            ("in_sweep_3", &Outcome::Recovered { jobs: 1 }),
            ("in_sweep_2", &Outcome::Recovered { jobs: 1 }),
            ("in_sweep_1", &Outcome::AlreadyHandled),
        ]
    );
    assert_eq!(sent_with(&app, PAID_TEMPLATE).await, numbered(&[1, 2, 3]));
}

#[tokio::test]
async fn a_stripe_webhook_after_the_sweep_found_its_invoice_makes_nothing() {
    let t = now() - 600;
    let one = event(1, t + 10, false);
    let api = stripe_api(
        vec![vec![event(2, t + 20, false)], vec![one.clone()]],
        false,
    );
    let app = stripe_store(&api).await;
    let report = sweep(&app, STORE).await;
    assert_eq!((report.pages, report.recovered()), (2, 2), "{report:?}");

    assert_made_nothing(&deliver(&app, &one).await, 1);
    assert_eq!(sent_with(&app, PAID_TEMPLATE).await, numbered(&[1, 2]));
    assert_eq!(
        job_keys(&app, STORE).await,
        [
            ("in_sweep_1".to_owned(), "invoice.paid".to_owned()),
            ("in_sweep_2".to_owned(), "invoice.paid".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_refused_stripe_key_ends_the_sweep_with_stripe_s_words_and_the_fix() {
    let api = stand_in(|_| invalid_key());
    let app = stripe_store(&api).await;
    let report = sweep(&app, STORE).await;
    let fix = ["stripe.secret_key", "Invalid API Key provided"];
    assert_refused(&app, &report, &fix, &[KEY]).await;
}

#[tokio::test]
async fn the_stripe_endpoint_check_finds_ours_enabled_then_disabled() {
    let enabled = Arc::new(AtomicBool::new(true));
    let flag = enabled.clone();
    let api = stand_in(move |seen| {
        if seen.path != "/v1/webhook_endpoints" {
            return Reply::status(404);
        }
        let status = if flag.load(Ordering::SeqCst) {
            "enabled"
        } else {
            "disabled"
        };
        Reply::json(json!({"object": "list", "has_more": false, "data": [
            {"id": "we_other", "url": "https://elsewhere.example/hooks", "status": "enabled",
             "enabled_events": ["*"], "secret": "whsec_never_shown"},
            {"id": "we_ours", "url": format!("https://hooks.example.com/webhooks/{STORE}"),
             "status": status, "enabled_events": ["invoice.paid", "invoice.finalized"],
             "secret": "whsec_never_shown"},
        ]}))
    });
    let access = SweepAccess::Api(ApiAccess::Stripe(Api {
        base_url: api.base.clone(),
        secret_key: KEY.into(),
    }));
    let client = shopbip::platforms::api::client(Duration::from_secs(5));
    let started = Instant::now();
    let ok = subscription(&client, &access, STORE, false)
        .await
        .unwrap()
        .unwrap();
    assert!(ok.ok, "{ok:?}");
    assert!(ok.detail.contains("we_ours"), "{}", ok.detail);

    enabled.store(false, Ordering::SeqCst);
    let off = subscription(&client, &access, STORE, false)
        .await
        .unwrap()
        .unwrap();
    assert!(!off.ok && !off.reactivated, "{off:?}");
    assert!(off.detail.contains("disabled"), "{}", off.detail);
    assert!(
        off.detail.contains("Developers → Webhooks"),
        "{}",
        off.detail
    );
    assert!(!off.detail.contains("whsec_"), "{}", off.detail);
    let calls = api.calls("/v1/webhook_endpoints");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("authorization"), Some("Bearer rk_test_1"));
    assert!(started.elapsed() < Duration::from_secs(5));
}
