//! Webhook ingestion end to end: real server on port 0, real SQLite file, signed fixtures.
//! Hostile bodies and clients (compression, stalls, many at once, memory) against `shopbip
//! serve` as its own process are in `hostile`.

mod hostile;

use crate::common::app::*;
use crate::common::sign::*;
use serde_json::Value;
use shopbip::order::EventKind;

type Headers = Vec<(&'static str, String)>;

pub(crate) const WOO_PAID: &str = "woocommerce/order-updated-paid-tnd.json";

/// `body` posted to the WooCommerce store as a signed `order.updated`.
async fn post_paid(app: &TestApp, body: Vec<u8>) -> reqwest::Response {
    let headers = woo_headers(WOO_SECRET, "order.updated", &body, "d1");
    app.post("acme-woo", &headers, body).await
}

pub(crate) async fn nothing_stored(app: &TestApp) {
    assert_eq!(app.count("events").await, 0, "no event stored");
    assert_eq!(app.count("jobs").await, 0, "no job stored");
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

#[tokio::test]
async fn amounts_beyond_any_shop_are_refused_with_400() {
    let app = spawn_app().await;
    let mut order: Value = serde_json::from_slice(&fixture(WOO_PAID)).unwrap();
    order["total"] = "10000000000000000000000000000".into();
    let resp = post_paid(&app, serde_json::to_vec(&order).unwrap()).await;
    assert_eq!(resp.status(), 400);
    let answer: Value = resp.json().await.unwrap();
    assert!(
        answer["error"].as_str().unwrap().contains("out of range"),
        "{answer}"
    );
    nothing_stored(&app).await;
}

#[tokio::test]
async fn a_job_holding_a_huge_amount_is_shown_by_the_admin_api_and_the_cli() {
    const TOKEN: &str = "admin-token-for-huge-amounts";
    let app = spawn_app_with(|s| s.admin.token = secrecy::SecretString::from(TOKEN)).await;
    // Stored before amounts were bounded at parse time: formatting it must not panic.
    let huge: rust_decimal::Decimal = "10000000000000000000000000000".parse().unwrap();
    let stored = app
        .service
        .jobs
        .ingest(shopbip::jobs::NewEvent {
            store_id: "acme-woo".into(),
            platform: "woocommerce".into(),
            delivery_key: "huge".into(),
            topic: "order.updated".into(),
            kind: EventKind::OrderPaid,
            order: shopbip::order::Order {
                id: "1".into(),
                number: "1".into(),
                currency: "TND".into(),
                total: huge,
                ..Default::default()
            },
            rules: vec![shopbip::stores::NotifyRule {
                on: EventKind::OrderPaid,
                template_id: 1289,
                template_ids: Default::default(),
                body_params: vec![],
                attach_invoice: false,
                buttons: vec![],
                payment: vec![],
            }],
        })
        .await
        .unwrap();
    assert!(matches!(
        stored,
        shopbip::jobs::IngestOutcome::Stored { .. }
    ));
    let id = app.jobs().await[0].id;
    let resp = app
        .http
        .get(format!("{}/admin/jobs/{id}", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let shown: Value = resp.json().await.unwrap();
    assert_eq!(
        shown["order"]["total"],
        "TND 10,000,000,000,000,000,000,000,000,000.000"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["jobs", "show", &id.to_string()])
        .env("SHOPBIP__DATABASE__URL", &app.db_url)
        .env("SHOPBIP__STORES__DIR", app.dir.path().join("plugin-config"))
        .current_dir(app.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("10,000,000,000"));
}
