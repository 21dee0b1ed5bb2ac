//! BigCommerce: Standard Webhooks signing keyed by the client secret, a thin payload, and the
//! order fetched by the worker from (a local stand-in of) the REST API.

use shopbip::jobs::JobState;
use shopbip::order::EventKind;
use shopbip::platforms::standard_webhooks::KeyForm;
use shopbip::sandbox::{Fault, FaultKind, FaultTarget};

use super::common::app::{TestApp, start};
use super::common::sign::fixture;
use super::{
    StandIn, nothing_stored, now, post, profile, rule, standard_webhooks_headers, the_send,
};

const CLIENT_SECRET: &str = "bc-client-secret-9f8e7d6c";
const OLD_CLIENT_SECRET: &str = "bc-client-secret-previous";
const TOKEN: &str = "bc-api-token-1a2b3c";
const STORE: &str = "merino-bc";
const CREATED: &str = "bigcommerce/store-order-created.json";
const PAID: &str = "bigcommerce/store-order-status-updated-paid.json";
const ORDER_PATH: &str = "/stores/k7xq2m9p4a/v2/orders/250";

fn headers(secret: &str, id: &str, ts: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    standard_webhooks_headers(secret, KeyForm::RawOrWhsec, id, ts, body)
}

/// The API stand-in with order 250, its products and its shipping addresses.
fn bigcommerce_api() -> StandIn {
    StandIn::start(vec![
        (
            ORDER_PATH,
            200,
            "application/json",
            fixture("bigcommerce/api-order-250.json"),
        ),
        (
            &format!("{ORDER_PATH}/products"),
            200,
            "application/json",
            fixture("bigcommerce/api-order-250-products.json"),
        ),
        (
            &format!("{ORDER_PATH}/shipping_addresses"),
            200,
            "application/json",
            fixture("bigcommerce/api-order-250-shipping-addresses.json"),
        ),
    ])
}

async fn bigcommerce_store(api_base: &str) -> TestApp {
    let api = format!(
        "[bigcommerce]\nstore_hash = \"k7xq2m9p4a\"\naccess_token = \"{TOKEN}\"\napi_base_url = \"{api_base}\"\n"
    );
    start(move |dir, url| {
        let extra =
            api + &rule(
                "order.paid",
                1289,
                &["{customer.first_name}", "{order.total}"],
                true,
            ) + &rule("order.created", 1290, &["{order.number}"], false);
        std::fs::write(
            dir.join(format!("{STORE}.toml")),
            profile(
                "bigcommerce",
                &[OLD_CLIENT_SECRET, CLIENT_SECRET],
                url,
                &extra,
            ),
        )
        .unwrap();
    })
    .await
}

#[tokio::test]
async fn bigcommerce_signatures_valid_rotated_tampered_and_stale() {
    let api = bigcommerce_api();
    let p = bigcommerce_store(&api.base).await;
    let body = fixture(CREATED);
    let t = now();
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'2').unwrap();
    tampered[at] = b'3';
    for (what, h, b) in [
        (
            "tampered body",
            headers(CLIENT_SECRET, "bc-1", t, &body),
            tampered,
        ),
        (
            "stale",
            headers(CLIENT_SECRET, "bc-1", t - 301, &body),
            body.clone(),
        ),
        (
            "unknown secret",
            headers("not-ours", "bc-1", t, &body),
            body.clone(),
        ),
        ("no headers", vec![], body.clone()),
    ] {
        let (status, answer) = post(&p, STORE, &h, b).await;
        assert_eq!(status, 401, "{what}: {answer}");
    }
    nothing_stored(&p).await;
    let (status, answer) = post(
        &p,
        STORE,
        &headers(OLD_CLIENT_SECRET, "bc-1", t, &body),
        body.clone(),
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let (status, answer) = post(&p, STORE, &headers(CLIENT_SECRET, "bc-1", t, &body), body).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
    assert_eq!(p.settled(1).await.len(), 1);
}

#[tokio::test]
async fn bigcommerce_scopes_map_to_events() {
    let api = bigcommerce_api();
    let p = bigcommerce_store(&api.base).await;
    let t = now();
    let mut pending: serde_json::Value = serde_json::from_slice(&fixture(PAID)).unwrap();
    pending["data"]["status"]["new_status_id"] = 7.into();
    let pending = serde_json::to_vec(&pending).unwrap();
    let mut product: serde_json::Value = serde_json::from_slice(&fixture(CREATED)).unwrap();
    product["scope"] = "store/product/updated".into();
    let product = serde_json::to_vec(&product).unwrap();
    for (id, body) in [("s-pending", pending), ("s-product", product)] {
        let (status, answer) = post(&p, STORE, &headers(CLIENT_SECRET, id, t, &body), body).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("ignored")),
            "{id}"
        );
    }
    for (id, path) in [("s-created", CREATED), ("s-paid", PAID)] {
        let body = fixture(path);
        let (status, answer) = post(&p, STORE, &headers(CLIENT_SECRET, id, t, &body), body).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some("accepted")),
            "{id}"
        );
    }
    let jobs = p.settled(2).await;
    let mut kinds: Vec<EventKind> = jobs.iter().map(|j| j.kind).collect();
    kinds.sort_by_key(|k| k.as_str());
    assert_eq!(kinds, [EventKind::OrderCreated, EventKind::OrderPaid]);
    assert!(jobs.iter().all(|j| j.order_id == "250"));
}

#[tokio::test]
async fn a_paid_bigcommerce_order_is_fetched_by_the_worker_and_sent() {
    let api = bigcommerce_api();
    let p = bigcommerce_store(&api.base).await;
    // One failed upload: the retry must reuse the order fetched the first time.
    p.sandbox
        .control
        .add_fault(&Fault {
            on: FaultTarget::Upload,
            kind: FaultKind::ServerError { status: 503 },
            times: 1,
        })
        .await
        .unwrap();
    let body = fixture(PAID);
    let (status, _) = post(
        &p,
        STORE,
        &headers(CLIENT_SECRET, "bc-paid", now(), &body),
        body,
    )
    .await;
    assert_eq!(status, 200);
    let jobs = p.settled(1).await;
    let job = &jobs[0];
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    assert_eq!(job.kind, EventKind::OrderPaid);
    assert!(job.attempts >= 1, "the upload failed once");

    let seen = api.seen();
    let paths: Vec<String> = seen.iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        paths,
        [
            ORDER_PATH.to_owned(),
            format!("{ORDER_PATH}/products"),
            format!("{ORDER_PATH}/shipping_addresses")
        ],
        "fetched once, not again on the retry"
    );
    for s in &seen {
        assert_eq!(
            s.headers.get("x-auth-token").map(String::as_str),
            Some(TOKEN)
        );
        assert_eq!(
            s.headers.get("accept").map(String::as_str),
            Some("application/json")
        );
    }

    let fetched = &job.steps["order"];
    assert_eq!(fetched["currency"], "AUD");
    assert_eq!(fetched["lines"].as_array().unwrap().len(), 2);
    let (send, media) = the_send(&p, 1289).await;
    assert_eq!(send["to"], "61412345678");
    assert_eq!(send["country_code"], "AU");
    assert_eq!(
        send["body_params"],
        serde_json::json!(["Mia", "AUD 107.80"])
    );
    assert!(media.expect("invoice attached").starts_with(b"%PDF-"));

    // The fetched order is kept on the job; operators see its phones masked.
    let shown = p
        .admin(reqwest::Method::GET, &format!("/admin/jobs/{}", job.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(shown.contains("Fitzroy"), "{shown}");
    assert!(
        !shown.contains("0412 345 678") && !shown.contains("61412345678"),
        "{shown}"
    );
}

/// Posts the paid webhook to a store whose API is `api`; the one job must die: its reason.
async fn dead_job_reason(api: &StandIn, delivery: &str) -> String {
    let p = bigcommerce_store(&api.base).await;
    let body = fixture(PAID);
    let (status, _) = post(
        &p,
        STORE,
        &headers(CLIENT_SECRET, delivery, now(), &body),
        body,
    )
    .await;
    assert_eq!(status, 200);
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].state, JobState::Dead);
    jobs[0].last_error.clone().unwrap()
}

#[tokio::test]
async fn a_refused_api_token_kills_the_job_with_the_reason() {
    let api = StandIn::start(vec![(
        ORDER_PATH,
        401,
        "application/json",
        br#"[{"status":401,"message":"You are not authorized"}]"#.to_vec(),
    )]);
    let reason = dead_job_reason(&api, "bc-401").await;
    assert!(reason.contains("bigcommerce.access_token"), "{reason}");
    assert!(!reason.contains(TOKEN), "never the token itself: {reason}");
}

/// A redirect from the API is not followed: reqwest would send `X-Auth-Token` to the other
/// host. The job dies naming the status, and the other host never hears from shopbip.
#[tokio::test]
async fn a_redirecting_api_kills_the_job_and_the_token_stays_home() {
    let elsewhere = bigcommerce_api();
    let api = StandIn::start(vec![(
        ORDER_PATH,
        302,
        "text/plain",
        format!("{}{ORDER_PATH}?sig=s3cret", elsewhere.base).into_bytes(),
    )]);
    let reason = dead_job_reason(&api, "bc-302").await;
    assert!(reason.contains("HTTP 302"), "{reason}");
    assert!(reason.contains("bigcommerce.api_base_url"), "{reason}");
    assert!(!reason.contains(TOKEN), "never the token itself: {reason}");
    assert!(
        !reason.contains("s3cret"),
        "no query of the location: {reason}"
    );
    assert_eq!(api.seen().len(), 1);
    assert!(
        elsewhere.seen().is_empty(),
        "the redirect target was called: {:?}",
        elsewhere.seen()
    );
}
