//! Webhook ingestion end to end: real server on port 0, real SQLite file, signed fixtures.

mod common;

use common::app::*;
use common::sign::*;
use serde_json::Value;
use shopbip::jobs::JobState;
use shopbip::order::EventKind;
use shopbip::platforms::signature::sign_base64;

type Headers = Vec<(&'static str, String)>;

const WOO_PAID: &str = "woocommerce/order-updated-paid-tnd.json";

async fn nothing_stored(app: &TestApp) {
    assert_eq!(app.count("events").await, 0, "no event stored");
    assert_eq!(app.count("jobs").await, 0, "no job stored");
}

#[tokio::test]
async fn woocommerce_paid_order_is_accepted_as_one_order_paid_job() {
    let app = spawn_app().await;
    let body = fixture(WOO_PAID);
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &body, "d1"),
            body,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["status"], "accepted");
    assert_eq!(answer["jobs_created"], 1);
    let jobs = app.jobs().await;
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(
        (job.store_id.as_str(), job.order_id.as_str()),
        ("acme-woo", "5120")
    );
    assert_eq!(job.kind, EventKind::OrderPaid);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.rule.template_id, 1289);
    assert_eq!(job.order.customer.first_name, "أميرة");
    assert_eq!(job.order.currency, "TND");
    assert_eq!(job.order.total.to_string(), "248.570");
    assert_eq!(
        job.order.billing.as_ref().unwrap().country.as_deref(),
        Some("TN")
    );
}

#[tokio::test]
async fn every_configured_secret_verifies_during_a_rotation() {
    let app = spawn_app().await;
    let paid = fixture(WOO_PAID);
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_OLD_SECRET, "order.updated", &paid, "d1"),
            paid,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let eur = fixture("woocommerce/order-updated-paid-eur.json");
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &eur, "d2"),
            eur,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.jobs().await.len(), 2);
}

#[tokio::test]
async fn bad_signatures_get_401_and_store_nothing() {
    let app = spawn_app().await;
    let body = fixture(WOO_PAID);
    let good = woo_headers(WOO_SECRET, "order.updated", &body, "d1");

    let mut flipped = body.clone();
    let at = flipped.iter().position(|b| *b == b'5').unwrap();
    flipped[at] = b'6';
    let cases: Vec<(&str, Headers, Vec<u8>)> = vec![
        ("flipped byte", good.clone(), flipped),
        (
            "missing header",
            good.iter()
                .filter(|(k, _)| *k != "X-WC-Webhook-Signature")
                .cloned()
                .collect(),
            body.clone(),
        ),
        ("re-serialised body", good.clone(), {
            let v: Value = serde_json::from_slice(&body).unwrap();
            serde_json::to_vec(&v).unwrap()
        }),
        (
            "wrong secret",
            woo_headers("not-the-secret", "order.updated", &body, "d1"),
            body.clone(),
        ),
        (
            "garbage signature",
            {
                let mut h = good.clone();
                h[0].1 = "not base64!".into();
                h
            },
            body.clone(),
        ),
    ];
    for (what, headers, payload) in cases {
        let resp = app.post("acme-woo", &headers, payload).await;
        assert_eq!(resp.status(), 401, "{what}");
        let answer: Value = resp.json().await.unwrap();
        assert!(answer["error"].is_string(), "{what}: one-line reason");
    }
    nothing_stored(&app).await;
}

#[tokio::test]
async fn shopify_signatures_verify_with_either_header_spelling() {
    let app = spawn_app().await;
    let body = fixture("shopify/orders-paid-mad.json");
    let resp = app
        .post(
            "atlas-shopify",
            &shopify_headers(SHOPIFY_SECRET, "orders/paid", &body, "w1"),
            body.clone(),
        )
        .await;
    assert_eq!(resp.status(), 200);

    let usd = fixture("shopify/orders-paid-usd.json");
    let new_style = vec![
        ("Shopify-Hmac-Sha256", sign_base64(SHOPIFY_SECRET, &usd)),
        ("Shopify-Topic", "orders/paid".to_owned()),
        ("Shopify-Webhook-Id", "w2".to_owned()),
    ];
    let resp = app.post("atlas-shopify", &new_style, usd).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.jobs().await.len(), 2);

    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'1').unwrap();
    tampered[at] = b'2';
    let resp = app
        .post(
            "atlas-shopify",
            &shopify_headers(SHOPIFY_SECRET, "orders/paid", &body, "w3"),
            tampered,
        )
        .await;
    assert_eq!(resp.status(), 401);
    let resp = app
        .post(
            "atlas-shopify",
            &shopify_headers("wrong", "orders/paid", &body, "w4"),
            body,
        )
        .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(app.jobs().await.len(), 2);
}

#[tokio::test]
async fn bad_input_gets_its_documented_answer_and_never_a_5xx() {
    let app = spawn_app_with(|s| s.server.max_body_bytes = 64 * 1024).await;

    let body = fixture(WOO_PAID);
    let resp = app
        .post(
            "no-such-store",
            &woo_headers(WOO_SECRET, "order.updated", &body, "d"),
            body.clone(),
        )
        .await;
    assert_eq!(resp.status(), 404, "unknown store");
    let resp = app.post("Not_A_Store", &[], body.clone()).await;
    assert_eq!(resp.status(), 404, "invalid store id");

    let huge = vec![b' '; 100 * 1024];
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &huge, "d"),
            huge,
        )
        .await;
    assert_eq!(resp.status(), 413, "body too large");

    let not_json = b"{\"id\": 12, oops".to_vec();
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &not_json, "d"),
            not_json,
        )
        .await;
    assert_eq!(resp.status(), 400, "JSON that does not parse");
    let reason = resp.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("JSON") && !reason.contains('\n'),
        "{reason}"
    );

    let no_id = br#"{"status":"processing","date_paid_gmt":"2026-11-20T09:04:40"}"#.to_vec();
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &no_id, "d"),
            no_id,
        )
        .await;
    assert_eq!(resp.status(), 400, "order without an id");
    assert!(resp.text().await.unwrap().contains("without an id"));

    // WooCommerce's REST error object (webhook owner deleted) is not an order either.
    let rest_error =
        br#"{"code":"woocommerce_rest_cannot_view","message":"Sorry","data":{"status":401}}"#
            .to_vec();
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &rest_error, "d"),
            rest_error,
        )
        .await;
    assert_eq!(resp.status(), 400);

    nothing_stored(&app).await;
}

#[tokio::test]
async fn the_woocommerce_creation_ping_gets_exactly_200() {
    let app = spawn_app().await;
    let resp = app
        .http
        .post(format!("{}/webhooks/acme-woo", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("webhook_id=15")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    nothing_stored(&app).await;
}

#[tokio::test]
async fn unknown_topics_and_unused_events_are_acknowledged_and_ignored() {
    let app = spawn_app().await;
    let product = br#"{"id": 77, "name": "Harissa"}"#.to_vec();
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "product.updated", &product, "d"),
            product,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ignored");

    let on_hold = fixture("woocommerce/order-updated-on-hold-tnd.json");
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &on_hold, "d"),
            on_hold,
        )
        .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ignored");

    // order.created is a canonical event, but this store has no rule for it.
    let created = fixture("woocommerce/order-created-tnd.json");
    let resp = app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.created", &created, "d"),
            created,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ignored");

    let refund = fixture("shopify/refunds-create-mad.json");
    let resp = app
        .post(
            "atlas-shopify",
            &shopify_headers(SHOPIFY_SECRET, "refunds/create", &refund, "r1"),
            refund,
        )
        .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ignored");
    let topic = br#"{"id": 1}"#.to_vec();
    let resp = app
        .post(
            "atlas-shopify",
            &shopify_headers(SHOPIFY_SECRET, "customers/create", &topic, "c1"),
            topic,
        )
        .await;
    assert_eq!(resp.status(), 200);
    nothing_stored(&app).await;
}

#[tokio::test]
async fn the_same_delivery_posted_five_times_makes_one_job() {
    let app = spawn_app().await;
    let body = fixture("shopify/orders-paid-mad.json");
    let headers = shopify_headers(SHOPIFY_SECRET, "orders/paid", &body, "same-webhook-id");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let resp = app.post("atlas-shopify", &headers, body.clone()).await;
        statuses.push((
            resp.status().as_u16(),
            resp.json::<Value>().await.unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        ));
    }
    assert_eq!(statuses[0], (200, "accepted".to_owned()));
    assert!(
        statuses[1..]
            .iter()
            .all(|s| *s == (200, "duplicate".to_owned())),
        "{statuses:?}"
    );
    assert_eq!(app.jobs().await.len(), 1);
    assert_eq!(app.count("events").await, 1);

    // WooCommerce: the identical body resent (new delivery id each time) is the same delivery.
    let woo = fixture(WOO_PAID);
    for d in ["a", "b", "c", "d", "e"] {
        let resp = app
            .post(
                "acme-woo",
                &woo_headers(WOO_SECRET, "order.updated", &woo, d),
                woo.clone(),
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(app.jobs().await.len(), 2);
}

#[tokio::test]
async fn repeated_woocommerce_updates_of_a_paid_order_make_one_order_paid_job() {
    let app = spawn_app().await;
    let mut order: Value = serde_json::from_slice(&fixture(WOO_PAID)).unwrap();
    for (i, delivery) in ["5f0e1c", "a81b22", "c9d7e4"].iter().enumerate() {
        // Each edit of the order fires order.updated with a new modification time.
        order["date_modified_gmt"] = format!("2026-11-20T09:1{i}:00").into();
        let body = serde_json::to_vec_pretty(&order).unwrap();
        let resp = app
            .post(
                "acme-woo",
                &woo_headers(WOO_SECRET, "order.updated", &body, delivery),
                body,
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    let jobs = app.jobs().await;
    assert_eq!(jobs.len(), 1, "one order.paid job for one paid order");
    assert_eq!(jobs[0].kind, EventKind::OrderPaid);
    assert_eq!(
        app.count("events").await,
        3,
        "each distinct delivery is kept as received"
    );
}

#[tokio::test]
async fn shopify_paid_after_create_makes_one_job_per_rule_that_wants_it() {
    let app = spawn_app().await;
    let created = fixture("shopify/orders-create-mad.json");
    let resp = app
        .post(
            "atlas-shopify",
            &shopify_headers(SHOPIFY_SECRET, "orders/create", &created, "w1"),
            created,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let paid = fixture("shopify/orders-paid-mad.json");
    let resp = app
        .post(
            "atlas-shopify",
            &shopify_headers(SHOPIFY_SECRET, "orders/paid", &paid, "w2"),
            paid.clone(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // Shopify retrying the paid webhook with a new delivery id still makes no second job.
    let resp = app
        .post(
            "atlas-shopify",
            &shopify_headers(SHOPIFY_SECRET, "orders/paid", &paid, "w3"),
            paid,
        )
        .await;
    assert_eq!(resp.json::<Value>().await.unwrap()["jobs_existing"], 1);

    let mut jobs = app.jobs().await;
    jobs.sort_by_key(|j| j.id);
    let summary: Vec<(EventKind, u64)> =
        jobs.iter().map(|j| (j.kind, j.rule.template_id)).collect();
    assert_eq!(
        summary,
        [
            (EventKind::OrderCreated, 1290),
            (EventKind::OrderPaid, 1289)
        ]
    );
    let paid_job = &jobs[1];
    assert_eq!(paid_job.order.number, "1042");
    assert_eq!(paid_job.order.customer.first_name, "يوسف");
    assert_eq!(paid_job.order.shipping_total.to_string(), "45.00");
    assert_eq!(paid_job.order.taxes[0].rate.unwrap().to_string(), "20");
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["stores"], 2);
}
