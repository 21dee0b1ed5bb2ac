//! A refund's document: `order.refunded` with a rule that attaches one renders a credit note,
//! numbered in the credit-note series and referring to the order's invoice, end to end over the
//! real server, SQLite and the sandbox.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use shopbip::jobs::{Job, JobState};
use shopbip::order::EventKind;

use crate::common::app::{TestApp, WOO_SECRET, start, woo_profile};
use crate::common::sign::*;

const WOO_PAID_EUR: &str = "woocommerce/order-updated-paid-eur.json";

/// The pipeline's WooCommerce store (language fr) with a second rule: a refund's message, its
/// document attached, saying the document's number.
fn refunding_store(dir: &Path, url: &str) {
    let profile = woo_profile(url)
        + r#"
[[notify]]
on = "order.refunded"
template_id = 1289
body_params = ["{customer.first_name}", "{invoice.number}"]
"#;
    std::fs::write(dir.join("acme-woo.toml"), profile).unwrap();
}

/// The paid fixture as WooCommerce sends it once the order is refunded in full.
fn refunded(path: &str) -> Vec<u8> {
    let mut json: Value = serde_json::from_slice(&fixture(path)).unwrap();
    json["status"] = Value::from("refunded");
    serde_json::to_vec(&json).unwrap()
}

async fn post_woo(p: &TestApp, body: Vec<u8>, delivery: &str) {
    let headers = woo_headers(WOO_SECRET, "order.updated", &body, delivery);
    let resp = p.post("acme-woo", &headers, body).await;
    assert_eq!(resp.status(), 200);
}

/// The PDF the sandbox received with the job's latest send, and that send's parameters.
pub(super) async fn sent_document(p: &TestApp, job: &Job) -> (String, Value) {
    let group = job.steps["whatsapp_bulk_group_id"].as_str().unwrap();
    let sends = p
        .sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap();
    let media_id = job.steps["media_id"]
        .as_str()
        .map(str::to_owned)
        .expect("the job uploaded a document");
    let send = sends
        .iter()
        .rev()
        .find(|c| {
            c.json
                .as_ref()
                .is_some_and(|j| j["header_media_id"] == media_id.as_str())
        })
        .unwrap_or_else(|| panic!("no send with media {media_id} (group {group})"));
    let pdf = p.sandbox.control.media_content(&media_id).await.unwrap();
    (
        crate::common::pdf_text(&pdf),
        send.json.as_ref().unwrap()["body_params"].clone(),
    )
}

fn of_kind(jobs: &[Job], kind: EventKind) -> Job {
    jobs.iter()
        .find(|j| j.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} job"))
        .clone()
}

#[tokio::test]
async fn a_refund_sends_a_credit_note_of_its_own_series_referring_to_the_invoice() {
    let p = start(refunding_store).await;

    // The paid order's invoice: the number the platform gave it (an invoice plugin's meta).
    post_woo(&p, fixture(WOO_PAID_EUR), "d1").await;
    let jobs = p.settled(1).await;
    let paid = of_kind(&jobs, EventKind::OrderPaid);
    assert_eq!(paid.state, JobState::Done, "{:?}", paid.last_error);
    let invoice = paid.steps["invoice_number"].as_str().unwrap().to_owned();
    assert_eq!(invoice, "F-2026-0042");
    let (text, _) = sent_document(&p, &paid).await;
    assert!(
        text.contains("FACTURE") && !text.contains("AVOIR"),
        "{text}"
    );

    // The refund: a credit note, numbered in the credit-note series, not the invoice's.
    post_woo(&p, refunded(WOO_PAID_EUR), "d2").await;
    let jobs = p.settled(2).await;
    let refund = of_kind(&jobs, EventKind::OrderRefunded);
    assert_eq!(refund.state, JobState::Done, "{:?}", refund.last_error);
    assert_eq!(refund.steps["invoice_number"], "AV-000001");
    let (text, params) = sent_document(&p, &refund).await;
    assert_eq!(
        params[1], "AV-000001",
        "{{invoice.number}} is the credit note's"
    );
    // Named as a credit note (`credit_note.filename`, default its number), not as the invoice.
    let uploads = p
        .sandbox
        .control
        .calls_to("/api/v2/whatsapp/media")
        .await
        .unwrap();
    let names: Vec<_> = uploads
        .iter()
        .filter_map(|c| c.file.as_ref()?.filename.clone())
        .collect();
    assert_eq!(names, ["Invoice-FA-2026-0042.pdf", "AV-000001.pdf"]);
    let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "AVOIR",
        "AV-000001",
        "Facture d'origine F-2026-0042 du 20 novembre 2026",
        "Total remboursé",
        "Coffret crème brûlée × 6",
        "64,80 €",
    ] {
        assert!(
            squashed.contains(needle),
            "{needle:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains("FACTURE"), "titled as an invoice:\n{text}");
    assert_eq!(
        crate::common::db::scalar(
            &p.db_url,
            "SELECT COUNT(*) FROM invoice_numbers WHERE kind = 'credit_note'"
        )
        .await,
        1
    );

    // Keyed by the refund: the order's id, as the canonical event carries no refund id.
    assert_eq!(
        crate::common::db::text(
            &p.db_url,
            "SELECT order_id FROM invoice_numbers WHERE kind = 'credit_note'"
        )
        .await,
        refund.order_id
    );

    // A replay sends the same credit note again: the same number, none taken.
    let resp = p
        .admin(Method::POST, &format!("/admin/jobs/{}/replay", refund.id))
        .await;
    assert_eq!(resp.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let replayed = loop {
        let job = p.service.jobs.get(refund.id).await.unwrap().unwrap();
        if job.state == JobState::Done && job.replays == 1 {
            break job;
        }
        assert!(Instant::now() < deadline, "replay never finished: {job:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(replayed.steps["invoice_number"], "AV-000001");
    assert_ne!(replayed.steps["media_id"], refund.steps["media_id"]);
    let (text, params) = sent_document(&p, &replayed).await;
    assert_eq!(params[1], "AV-000001");
    assert!(
        text.contains("AVOIR") && text.contains("AV-000001"),
        "{text}"
    );
    assert_eq!(
        crate::common::db::scalar(&p.db_url, "SELECT COUNT(*) FROM invoice_numbers").await,
        1,
        "the replay took no number, and the platform-numbered invoice none either"
    );
}

#[tokio::test]
async fn a_refund_of_an_order_shopbip_numbered_names_its_invoice_and_takes_no_invoice_number() {
    let p = start(refunding_store).await;
    const WOO_PAID_TND: &str = "woocommerce/order-updated-paid-tnd.json";
    post_woo(&p, fixture(WOO_PAID_TND), "d1").await;
    let paid = of_kind(&p.settled(1).await, EventKind::OrderPaid);
    assert_eq!(paid.steps["invoice_number"], "INV-000001");

    post_woo(&p, refunded(WOO_PAID_TND), "d2").await;
    let refund = of_kind(&p.settled(2).await, EventKind::OrderRefunded);
    assert_eq!(refund.state, JobState::Done, "{:?}", refund.last_error);
    assert_eq!(refund.steps["invoice_number"], "AV-000001");
    let (text, params) = sent_document(&p, &refund).await;
    assert_eq!(params[1], "AV-000001");
    let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // shopbip's invoice number of the order is looked up (not taken again): the credit note
    // names INV-000001, and no second invoice number is taken.
    for needle in ["AVOIR", "Facture d'origine INV-000001", "248,570 TND"] {
        assert!(
            squashed.contains(needle),
            "{needle:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains("non émise"), "{text}");
    assert_eq!(
        crate::common::db::scalar(
            &p.db_url,
            "SELECT COUNT(*) FROM invoice_numbers WHERE kind = 'invoice'"
        )
        .await,
        1
    );
}

#[test]
fn the_default_template_titles_a_credit_note_in_each_language() {
    use shopbip::invoice::data::OriginalInvoice;
    use shopbip::invoice::{CreditNoteOf, render_credit_note_for_store};
    let order = super::woo_order("woocommerce/order-updated-paid-tnd.json");
    let of = CreditNoteOf {
        issued_at: Some("2026-12-03T10:00:00Z".into()),
        original: OriginalInvoice {
            number: Some("FA-2026-0042".into()),
            issued_at: Some("2026-11-20T09:00:00Z".into()),
            none_issued: false,
        },
    };
    for (lang, words) in [
        (
            "en",
            vec![
                "CREDIT NOTE",
                "Original invoice FA-2026-0042 of 20 November 2026",
                "Total refunded",
                "3 December 2026",
            ],
        ),
        (
            "fr",
            vec![
                "AVOIR",
                "Facture d'origine FA-2026-0042 du 20 novembre 2026",
                "Total remboursé",
            ],
        ),
        (
            "ar",
            // Word by word: the extractor gives right-to-left runs in its own order.
            vec![
                "إشعار",
                "دائن",
                "المبلغ",
                "المسترد",
                "FA-2026-0042",
                "ديسمبر",
            ],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = super::store_in(dir.path(), lang, "");
        let pdf = render_credit_note_for_store(&store, &order, "AV-000007", &of).unwrap();
        let t = super::text(&pdf);
        let squashed: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        let total = if lang == "fr" { "248,570" } else { "248.570" };
        for word in words.iter().chain(&["AV-000007", total]) {
            let want: String = word.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(
                squashed.contains(&want),
                "{lang}: {word:?} missing from:\n{t}"
            );
        }
        // An invoice's words are not a credit note's.
        for not in ["INVOICE", "FACTURE", "Merci pour votre commande", "Payée"] {
            assert!(!t.contains(not), "{lang}: {not:?} in:\n{t}");
        }
    }
}
