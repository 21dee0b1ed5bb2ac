//! Shopify webhooks taken in by the real server (port 0, real SQLite file): both header
//! spellings, and one job per rule when orders/paid follows orders/create.

use serde_json::Value;
use shopbip::order::EventKind;
use shopbip::platforms::signature::sign_base64;

use crate::common::app::*;
use crate::common::sign::*;

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
