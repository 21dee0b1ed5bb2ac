//! Shopware 6: hex HMAC of the raw body, the body's signed `timestamp` as replay window.

use shopbip::jobs::JobState;
use shopbip::order::EventKind;
use shopbip::platforms::signature::hmac_sha256;

use super::common::app::{TestApp, start};
use super::common::sign::fixture;
use super::{nothing_stored, now, post, profile, rule, the_send};

const SECRET: &str = "sw-shop-secret-Tq3sW9pLx2Va";
const OLD_SECRET: &str = "sw-shop-secret-previous";
const STORE: &str = "kaffee-shopware";
const PLACED: &str = "shopware/checkout-order-placed-eur.json";
const PAID: &str = "shopware/order-transaction-paid-eur.json";

/// The fixture sent at `ts` (the send time is inside the signed body).
fn at(path: &str, ts: i64) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_slice(&fixture(path)).unwrap();
    json["timestamp"] = ts.into();
    serde_json::to_vec_pretty(&json).unwrap()
}

fn headers(secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![(
        "shopware-shop-signature",
        hex::encode(hmac_sha256(secret.as_bytes(), &[body])),
    )]
}

async fn shopware_store() -> TestApp {
    start(|dir, url| {
        let rules = rule("order.created", 1290, &["{order.number}"], false)
            + &rule(
                "order.paid",
                1289,
                &["{customer.first_name}", "{order.total}"],
                true,
            );
        std::fs::write(
            dir.join(format!("{STORE}.toml")),
            profile("shopware", &[OLD_SECRET, SECRET], url, &rules),
        )
        .unwrap();
    })
    .await
}

#[tokio::test]
async fn shopware_signatures_valid_rotated_tampered_and_stale() {
    let p = shopware_store().await;
    let body = at(PLACED, now());
    let mut tampered = body.clone();
    let at_byte = tampered.iter().position(|b| *b == b'7').unwrap();
    tampered[at_byte] = b'8';
    // Past Shopware's default window, which covers its retry schedule.
    let stale = at(PLACED, now() - 6 * 3600 - 1);
    for (what, h, b) in [
        ("tampered body", headers(SECRET, &body), tampered),
        ("stale timestamp", headers(SECRET, &stale), stale.clone()),
        (
            "unknown secret",
            headers("someone-else", &body),
            body.clone(),
        ),
        ("no header", vec![], body.clone()),
        (
            "base64 instead of hex",
            vec![("shopware-shop-signature", "q83vEjRWeJA=".to_owned())],
            body.clone(),
        ),
    ] {
        let (status, answer) = post(&p, STORE, &h, b).await;
        assert_eq!(status, 401, "{what}: {answer}");
    }
    nothing_stored(&p).await;
    let (status, answer) = post(&p, STORE, &headers(OLD_SECRET, &body), body.clone()).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    // A retry is signed afresh, maybe with the new secret: same event id, no second job.
    let again = at(PLACED, now());
    let (status, answer) = post(&p, STORE, &headers(SECRET, &again), again).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
}

#[tokio::test]
async fn shopware_events_map_and_the_signed_body_event_id_wins() {
    let p = shopware_store().await;
    let t = now();
    let placed = at(PLACED, t);
    let (status, _) = post(&p, STORE, &headers(SECRET, &placed), placed).await;
    assert_eq!(status, 200);

    let mut written: serde_json::Value = serde_json::from_slice(&at(PLACED, t)).unwrap();
    written["data"]["event"] = "order.written".into();
    let written = serde_json::to_vec(&written).unwrap();
    let (status, answer) = post(&p, STORE, &headers(SECRET, &written), written).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("ignored")));

    // The same signed body replayed under two unsigned X-Shopware-Event-Id headers: one job.
    let paid = at(PAID, t);
    for (header_id, expected) in [("evt-a", "accepted"), ("evt-b", "duplicate")] {
        let mut h = headers(SECRET, &paid);
        h.push(("X-Shopware-Event-Id", header_id.to_owned()));
        let (status, answer) = post(&p, STORE, &h, paid.clone()).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some(expected)),
            "{answer}"
        );
    }

    let jobs = p.settled(2).await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let created = jobs
        .iter()
        .find(|j| j.kind == EventKind::OrderCreated)
        .unwrap();
    let paid = jobs
        .iter()
        .find(|j| j.kind == EventKind::OrderPaid)
        .unwrap();
    for job in [created, paid] {
        assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
        assert_eq!(job.order_id, "0194f3c2a8b87a2c9d1e5f60718293a4");
    }
    let o = &paid.order;
    assert_eq!((o.number.as_str(), o.currency.as_str()), ("10087", "EUR"));
    assert_eq!(o.total.to_string(), "87.5");
    assert_eq!(o.tax_total.to_string(), "13.97");
    assert_eq!(o.lines.len(), 2);
    assert_eq!(o.lines[0].sku.as_deref(), Some("KAF-HOCH-500"));
    assert_eq!(
        o.billing.as_ref().unwrap().country.as_deref(),
        Some("DE"),
        "the billing address found among `addresses`"
    );

    let (send, media) = the_send(&p, 1289).await;
    assert_eq!(send["to"], "4915123456789");
    assert_eq!(send["country_code"], "DE");
    assert_eq!(
        send["body_params"],
        serde_json::json!(["Jonas", "EUR 87.50"])
    );
    assert!(media.expect("invoice attached").starts_with(b"%PDF-"));
    let (created_send, _) = the_send(&p, 1290).await;
    assert_eq!(created_send["body_params"], serde_json::json!(["10087"]));
}

/// Shopware retries with the first attempt's payload, send time included, up to 4 h later: by
/// default those retries are inside the window (a Stripe delivery as old is not, see
/// `stripe::an_hour_old_delivery_is_stale_by_default`).
#[tokio::test]
async fn an_hour_old_retry_is_accepted_by_default() {
    let p = shopware_store().await;
    let body = at(PLACED, now() - 3600);
    let (status, answer) = post(&p, STORE, &headers(SECRET, &body), body.clone()).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
}
