//! `standard`: Standard Webhooks signing around the canonical order JSON.

use shopbip::jobs::JobState;
use shopbip::order::EventKind;
use shopbip::platforms::standard_webhooks::KeyForm;

use super::common::app::{TestApp, start};
use super::common::sign::fixture;
use super::{nothing_stored, now, post, profile, rule, standard_webhooks_headers, the_send};

/// The Standard Webhooks spec's example secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET: &str = "whsec_b2xkLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM=";
const STORE: &str = "boutique-std";
const PAID: &str = "standard/order-paid-eur.json";

fn headers(secret: &str, id: &str, ts: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    standard_webhooks_headers(secret, KeyForm::Whsec, id, ts, body)
}

async fn standard_store() -> TestApp {
    start(|dir, url| {
        let rules = rule(
            "order.paid",
            1289,
            &["{customer.first_name}", "{order.total}"],
            true,
        ) + &rule("order.created", 1290, &["{order.number}"], false);
        std::fs::write(
            dir.join(format!("{STORE}.toml")),
            profile("standard", &[OLD_SECRET, SECRET], url, &rules),
        )
        .unwrap();
    })
    .await
}

#[tokio::test]
async fn standard_webhooks_signatures_valid_rotated_tampered_and_stale() {
    let p = standard_store().await;
    let body = fixture(PAID);
    let t = now();
    let good = headers(SECRET, "msg_1", t, &body);

    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'5').unwrap();
    tampered[at] = b'6';
    let mut other_id = good.clone();
    other_id[0].1 = "msg_2".into();
    for (what, h, b) in [
        ("tampered body", good.clone(), tampered),
        (
            "stale timestamp",
            headers(SECRET, "msg_1", t - 301, &body),
            body.clone(),
        ),
        (
            "future timestamp",
            // Well past the 300 s window: the clock moves on while the cases before it run.
            headers(SECRET, "msg_1", t + 330, &body),
            body.clone(),
        ),
        ("id changed after signing", other_id, body.clone()),
        (
            "unknown secret",
            headers("whsec_dW5rbm93bi1zZWNyZXQtMTIzNDU2Nzg=", "msg_1", t, &body),
            body.clone(),
        ),
        ("no signature", good[..2].to_vec(), body.clone()),
    ] {
        let (status, answer) = post(&p, STORE, &h, b).await;
        assert_eq!(status, 401, "{what}: {answer}");
    }
    nothing_stored(&p).await;

    // Rotation: the header carries one signature per active secret; either verifies.
    let mut rotated = headers(OLD_SECRET, "msg_1", t, &body);
    rotated[2].1 = format!(
        "v1,c29tZXRoaW5nIGVsc2UgZW50aXJlbHkgMzJieXRlcyE= {}",
        rotated[2].1
    );
    let (status, answer) = post(&p, STORE, &rotated, body.clone()).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let (status, answer) = post(&p, STORE, &good, body.clone()).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "same webhook-id: {answer}"
    );
}

#[tokio::test]
async fn the_canonical_order_json_maps_and_bad_bodies_get_400() {
    let p = standard_store().await;
    let t = now();
    let mut created: serde_json::Value = serde_json::from_slice(&fixture(PAID)).unwrap();
    created["type"] = "order.created".into();
    let created = serde_json::to_vec(&created).unwrap();
    let (status, answer) = post(&p, STORE, &headers(SECRET, "msg_c", t, &created), created).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );

    for (what, body, expected) in [
        (
            "unknown type",
            br#"{"type":"order.shipped","data":{"id":"1"}}"#.to_vec(),
            200,
        ),
        ("no data", br#"{"type":"order.paid"}"#.to_vec(), 400),
        (
            "order without id",
            br#"{"type":"order.paid","data":{"number":"1"}}"#.to_vec(),
            400,
        ),
        ("not JSON", b"type=order.paid".to_vec(), 400),
        (
            "amount out of range",
            br#"{"type":"order.paid","data":{"id":"1","lines":[{"quantity":"79000000000000000000000000000","unit_price":"7.9"}]}}"#.to_vec(),
            400,
        ),
    ] {
        let (status, answer) = post(
            &p,
            STORE,
            &headers(SECRET, what.replace(' ', "_").as_str(), t, &body),
            body,
        )
        .await;
        assert_eq!(status, expected, "{what}: {answer}");
    }
    let jobs = p.settled(1).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, EventKind::OrderCreated);
    assert_eq!(jobs[0].order.number, "XKBKNABJK");
}

#[tokio::test]
async fn a_standard_paid_order_is_sent_with_its_rendered_invoice() {
    let p = standard_store().await;
    let body = fixture(PAID);
    let (status, _) = post(&p, STORE, &headers(SECRET, "msg_paid", now(), &body), body).await;
    assert_eq!(status, 200);
    let jobs = p.settled(1).await;
    let job = &jobs[0];
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    assert_eq!(job.kind, EventKind::OrderPaid);
    assert_eq!(job.steps["invoice_number"], "FA-2026-000412");
    let (send, media) = the_send(&p, 1289).await;
    assert_eq!(send["to"], "33612345678");
    assert_eq!(send["country_code"], "FR");
    assert_eq!(send["body_params"], serde_json::json!(["Léa", "EUR 59.90"]));
    let pdf = media.expect("the invoice is attached");
    assert!(pdf.starts_with(b"%PDF-"));
}
