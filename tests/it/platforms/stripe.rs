//! Stripe: `Stripe-Signature` over `t.body`, invoice events, the PDF fetched from `invoice_pdf`.

use sha2::Digest;
use shopbip::jobs::JobState;
use shopbip::order::EventKind;
use shopbip::platforms::stripe::sign;

use super::common::app::{TestApp, start};
use super::common::sign::fixture;
use super::{StandIn, nothing_stored, now, post, profile, rule, the_send};

const SECRET: &str = "whsec_stripe_endpoint_2026";
const OLD_SECRET: &str = "whsec_stripe_endpoint_2025";
const STORE: &str = "atelier-stripe";
const FINALIZED: &str = "stripe/invoice-finalized-eur.json";
const PAID: &str = "stripe/invoice-paid-eur.json";

fn headers(secret: &str, t: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![("Stripe-Signature", sign(secret, t, body))]
}

/// A Stripe store whose profile names no invoice source: `fetch` is Stripe's default.
async fn stripe_store(extra_rules: &str) -> TestApp {
    let rules = format!(
        "{}{extra_rules}",
        rule(
            "invoice.created",
            1289,
            &["{customer.first_name}", "{invoice.number}"],
            true
        )
    );
    start(move |dir, url| {
        std::fs::write(
            dir.join(format!("{STORE}.toml")),
            profile("stripe", &[OLD_SECRET, SECRET], url, &rules),
        )
        .unwrap();
    })
    .await
}

/// The fixture with its `invoice_pdf` pointing at `pdf_url`.
fn finalized_with_pdf(pdf_url: &str) -> Vec<u8> {
    let text = String::from_utf8(fixture(FINALIZED)).unwrap();
    text.replace(
        "https://pay.stripe.com/invoice/acct_1Kx/test_YWNjdF8xS3gs/pdf?s=ap",
        pdf_url,
    )
    .into_bytes()
}

#[tokio::test]
async fn stripe_signatures_valid_rotated_tampered_and_stale() {
    let p = stripe_store(&rule("invoice.paid", 1290, &["{invoice.number}"], false)).await;
    let body = fixture(PAID);
    let t = now();

    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'4').unwrap();
    tampered[at] = b'5';
    let roll = {
        // Stripe sends one v1 per active secret while a secret is rolled.
        let old = sign("whsec_retired", t, &body);
        let new = sign(SECRET, t, &body);
        format!("{old},{}", new.split_once(',').unwrap().1)
    };
    for (what, h, b) in [
        ("tampered body", headers(SECRET, t, &body), tampered),
        ("stale t", headers(SECRET, t - 301, &body), body.clone()),
        // Well past the 300 s window: the clock moves on while the cases before it run.
        ("future t", headers(SECRET, t + 330, &body), body.clone()),
        (
            "unknown secret",
            headers("whsec_other", t, &body),
            body.clone(),
        ),
        ("no header", vec![], body.clone()),
        (
            "t moved after signing",
            vec![(
                "Stripe-Signature",
                sign(SECRET, t - 400, &body).replace(&format!("t={}", t - 400), &format!("t={t}")),
            )],
            body.clone(),
        ),
    ] {
        let (status, answer) = post(&p, STORE, &h, b).await;
        assert_eq!(status, 401, "{what}: {answer}");
        assert!(answer["error"].is_string(), "{what}");
    }
    nothing_stored(&p).await;

    let (status, answer) = post(&p, STORE, &[("Stripe-Signature", roll)], body.clone()).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    // The endpoint's previous secret still verifies during the roll.
    let (status, answer) = post(&p, STORE, &headers(OLD_SECRET, t, &body), body.clone()).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
}

#[tokio::test]
async fn stripe_events_map_and_repeat_deliveries_dedupe_on_the_event_id() {
    let p = stripe_store(&rule("invoice.paid", 1290, &["{invoice.number}"], false)).await;
    let t = now();
    let paid = fixture(PAID);
    for _ in 0..2 {
        let (status, _) = post(&p, STORE, &headers(SECRET, t, &paid), paid.clone()).await;
        assert_eq!(status, 200);
    }
    let mut other = serde_json::from_slice::<serde_json::Value>(&paid).unwrap();
    other["type"] = "invoice.payment_failed".into();
    other["id"] = "evt_other".into();
    let other = serde_json::to_vec(&other).unwrap();
    let (status, answer) = post(&p, STORE, &headers(SECRET, t, &other), other).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("ignored")));

    let jobs = p.settled(1).await;
    assert_eq!(jobs.len(), 1, "one delivery, one job");
    let job = &jobs[0];
    assert_eq!(job.kind, EventKind::InvoicePaid);
    assert_eq!(job.order_id, "in_1SXq4tLkdIwHu7ixa9R3bC1d");
    let o = &job.order;
    assert_eq!(o.number, "AS-2026-0042");
    assert_eq!(o.invoice_number.as_deref(), Some("AS-2026-0042"));
    assert_eq!(o.currency, "EUR");
    // Minor units: 14280 cents.
    assert_eq!(o.total.to_string(), "142.80");
    assert_eq!(o.subtotal.to_string(), "119.00");
    assert_eq!(o.tax_total.to_string(), "23.80");
    assert_eq!(o.lines.len(), 2);
    assert_eq!(o.lines[0].unit_price, rust_decimal::Decimal::from(30));
    assert_eq!(o.lines[0].total.to_string(), "90.00");
    assert_eq!(o.lines[1].unit_price.to_string(), "29.00");
    assert_eq!(
        (
            o.customer.first_name.as_str(),
            o.customer.last_name.as_str()
        ),
        ("Camille", "Roux")
    );
    let billing = o.billing.as_ref().unwrap();
    assert_eq!(
        (billing.country.as_deref(), billing.postcode.as_deref()),
        (Some("FR"), Some("33000"))
    );
    assert_eq!(o.paid_at.as_deref(), Some("2025-11-25T10:20:18Z"));
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    let (send, media) = the_send(&p, 1290).await;
    assert_eq!(send["to"], "33645781290");
    assert_eq!(send["body_params"], serde_json::json!(["AS-2026-0042"]));
    assert!(media.is_none());
}

#[tokio::test]
async fn a_finalized_stripe_invoice_is_sent_with_the_pdf_fetched_from_invoice_pdf() {
    let pdf = super::common::pdf("Stripe invoice AS-2026-0042").to_vec();
    let stripe_files = StandIn::start(vec![(
        "/invoice/acct_1Kx/test_YWNjdF8xS3gs/pdf",
        200,
        "application/pdf",
        pdf.clone(),
    )]);
    let p = stripe_store("").await;
    let body = finalized_with_pdf(&format!(
        "{}/invoice/acct_1Kx/test_YWNjdF8xS3gs/pdf?s=ap",
        stripe_files.base
    ));
    let (status, answer) = post(&p, STORE, &headers(SECRET, now(), &body), body).await;
    assert_eq!(status, 200, "{answer}");

    let jobs = p.settled(1).await;
    let job = &jobs[0];
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    assert_eq!(job.kind, EventKind::InvoiceCreated);
    assert_eq!(stripe_files.seen().len(), 1, "the PDF is fetched once");

    let (send, media) = the_send(&p, 1289).await;
    assert_eq!(send["to"], "33645781290");
    assert_eq!(send["country_code"], "FR");
    assert_eq!(
        send["body_params"],
        serde_json::json!(["Camille", "AS-2026-0042"])
    );
    let uploaded = media.expect("the invoice is attached");
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&uploaded)),
        hex::encode(sha2::Sha256::digest(&pdf)),
        "the bytes sent are Stripe's PDF, not a rendered one"
    );
    let upload = p
        .sandbox
        .control
        .calls_to("/api/v2/whatsapp/media")
        .await
        .unwrap();
    assert_eq!(
        upload[0].file.as_ref().unwrap().filename.as_deref(),
        Some("Invoice-AS-2026-0042.pdf")
    );
}

#[tokio::test]
async fn a_stripe_invoice_without_its_pdf_fails_for_good_with_the_reason() {
    let stripe_files = StandIn::start(vec![(
        "/invoice/gone/pdf",
        200,
        "text/html",
        b"<html>Sign in</html>".to_vec(),
    )]);
    let p = stripe_store("").await;
    let body = finalized_with_pdf(&format!("{}/invoice/gone/pdf", stripe_files.base));
    let (status, _) = post(&p, STORE, &headers(SECRET, now(), &body), body).await;
    assert_eq!(status, 200);
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].state, JobState::Dead);
    assert!(
        jobs[0].last_error.as_deref().unwrap().contains("HTML page"),
        "{:?}",
        jobs[0].last_error
    );
    assert!(
        p.sandbox
            .control
            .calls_to("/api/v2/whatsapp/templates")
            .await
            .unwrap()
            .is_empty()
    );
}

/// The store's `webhook.tolerance_secs` is the window the receiver applies, not the default.
#[tokio::test]
async fn the_store_s_tolerance_widens_the_window_over_http() {
    let rules = rule("invoice.paid", 1290, &["{invoice.number}"], false);
    let p = start(move |dir, url| {
        let toml = profile("stripe", &[SECRET], url, &rules)
            .replace("[webhook]\n", "[webhook]\ntolerance_secs = 900\n");
        std::fs::write(dir.join(format!("{STORE}.toml")), toml).unwrap();
    })
    .await;
    let body = fixture(PAID);
    let t = now();
    let (status, answer) = post(&p, STORE, &headers(SECRET, t - 1000, &body), body.clone()).await;
    assert_eq!(status, 401, "outside 900 s: {answer}");
    nothing_stored(&p).await;
    // Ten minutes old: stale under the 300 s default, inside this store's 900 s.
    let (status, answer) = post(&p, STORE, &headers(SECRET, t - 600, &body), body).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
}

/// Unlike Shopware's, Stripe's default window stays Stripe's own 5 minutes.
#[tokio::test]
async fn an_hour_old_delivery_is_stale_by_default() {
    let rules = rule("invoice.paid", 1290, &["{invoice.number}"], false);
    let p = start(move |dir, url| {
        std::fs::write(
            dir.join(format!("{STORE}.toml")),
            profile("stripe", &[SECRET], url, &rules),
        )
        .unwrap();
    })
    .await;
    let body = fixture(PAID);
    let (status, answer) = post(&p, STORE, &headers(SECRET, now() - 3600, &body), body).await;
    assert_eq!(status, 401, "{answer}");
    nothing_stored(&p).await;
}
