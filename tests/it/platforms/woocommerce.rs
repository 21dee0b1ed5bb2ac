//! WooCommerce webhooks taken in by the real server (port 0, real SQLite file): the paid order,
//! the creation ping, repeated updates. Signatures, rotation and bad input, which every platform
//! goes through the same way, are in `ingest` with WooCommerce as the example.

use serde_json::Value;
use shopbip::jobs::JobState;
use shopbip::order::EventKind;

use crate::common::app::*;
use crate::common::sign::*;
use crate::ingest::{WOO_PAID, nothing_stored};

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
