//! Partial refunds (issue 21): each refund Shopify sends with its lines is its own credit note,
//! numbered once, stating what that refund gave back — end to end over the real server,
//! SQLite and the sandbox, from Shopify's `refunds/create` (which names its order only) and
//! its `orders/updated` (which lists the order's refunds).

use std::path::Path;

use serde_json::{Value, json};
use shopbip::jobs::{Job, JobState};
use shopbip::order::EventKind;

use super::credit_notes::sent_document;
use crate::common::app::{SHOPIFY_SECRET, TestApp, shopify_profile, start};
use crate::common::sign::*;

const ORDER: &str = "5870143729876";

/// The pipeline's Shopify store with a refund rule: the credit note attached, its number and
/// the money given back in the message.
fn refunding_shop(dir: &Path, url: &str) {
    let profile = shopify_profile(url)
        + r#"
[[notify]]
on = "order.refunded"
template_id = 1289
body_params = ["{invoice.number}", "{refund.amount}"]
"#;
    std::fs::write(dir.join("atlas-shopify.toml"), profile).unwrap();
}

/// The first refund: one of the two bottles of argan oil, with its VAT (504.00 MAD back).
fn first_refund() -> Value {
    serde_json::from_slice(&fixture("shopify/refunds-create-partial-mad.json")).unwrap()
}

/// A second refund of the same order: the black soap and the shipping (525.00 MAD back), the
/// shipping given back as the older API versions record it (a negative adjustment).
fn second_refund() -> Value {
    let mut r = first_refund();
    r["id"] = json!(929361502);
    r["admin_graphql_api_id"] = json!("gid://shopify/Refund/929361502");
    let line = &mut r["refund_line_items"][0];
    line["subtotal_set"]["shop_money"]["amount"] = json!("400.00");
    line["total_tax_set"]["shop_money"]["amount"] = json!("80.00");
    line["line_item"]["name"] = json!("صابون أسود بلدي");
    line["line_item"]["sku"] = json!("SAV-NOIR");
    line["line_item"]["tax_lines"][0]["price"] = json!("80.00");
    r["order_adjustments"] = json!([{
        "id": 335599927644_u64, "kind": "shipping_refund", "reason": "Shipping refund",
        "amount": "-45.00", "tax_amount": "0.00", "refund_id": 929361502
    }]);
    r["transactions"][0]["amount"] = json!("525.00");
    r
}

async fn post(p: &TestApp, topic: &str, body: &Value, webhook_id: &str) -> Value {
    let body = serde_json::to_vec(body).unwrap();
    let headers = shopify_headers(SHOPIFY_SECRET, topic, &body, webhook_id);
    let resp = p.post("atlas-shopify", &headers, body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn refunds(jobs: &[Job]) -> Vec<Job> {
    let mut refunds: Vec<Job> = jobs
        .iter()
        .filter(|j| j.kind == EventKind::OrderRefunded)
        .cloned()
        .collect();
    refunds.sort_by_key(|j| j.id);
    refunds
}

fn squashed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn sends(p: &TestApp) -> usize {
    p.sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn each_partial_refund_gets_its_own_credit_note_stating_what_it_gave_back() {
    let p = start(refunding_shop).await;
    let paid: Value = serde_json::from_slice(&fixture("shopify/orders-paid-mad.json")).unwrap();
    post(&p, "orders/paid", &paid, "w-paid").await;
    let invoice = p.settled(1).await;
    assert_eq!(
        invoice[0].state,
        JobState::Done,
        "{:?}",
        invoice[0].last_error
    );

    // refunds/create names the order only: the worker completes it from the order shopbip
    // stored with the payment, and the credit note states the one bottle given back.
    post(&p, "refunds/create", &first_refund(), "w-r1").await;
    let first = refunds(&p.settled(2).await).remove(0);
    assert_eq!(first.state, JobState::Done, "{:?}", first.last_error);
    assert_eq!(first.steps["invoice_number"], "AV-000001");
    let (text, params) = sent_document(&p, &first).await;
    assert_eq!(params, json!(["AV-000001", "MAD 504.00"]));
    let text = squashed(&text);
    for needle in [
        "CREDIT NOTE",
        "AV-000001",
        "Huile d'argan bio — 250 ml",
        "504.00",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    for not in ["1,533.00", "1533.00", "ARG-250 2", "SAV-NOIR"] {
        assert!(!text.contains(not), "{not:?}: the whole order in:\n{text}");
    }
    // To the customer of the order: the stored order's billing phone.
    let to = p
        .sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap()
        .last()
        .and_then(|c| c.json.as_ref().map(|j| j.to_string()))
        .unwrap_or_default();
    assert!(to.contains("212612345678"), "{to}");

    // The second refund: its own credit note and number, the soap and the shipping.
    post(&p, "refunds/create", &second_refund(), "w-r2").await;
    let both = refunds(&p.settled(3).await);
    assert_eq!(both.len(), 2);
    let second = &both[1];
    assert_eq!(second.state, JobState::Done, "{:?}", second.last_error);
    assert_eq!(second.steps["invoice_number"], "AV-000002");
    let (text, params) = sent_document(&p, second).await;
    assert_eq!(params, json!(["AV-000002", "MAD 525.00"]));
    let text = squashed(&text);
    for needle in ["AV-000002", "SAV-NOIR", "45.00", "525.00"] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(
        !text.contains("ARG-250"),
        "the first refund's line in:\n{text}"
    );
    assert_eq!(sends(&p).await, 3);

    // The same refunds seen again — the order's update listing both (its event is the newest),
    // the first refund's webhook sent anew — make nothing more.
    let mut updated = paid.clone();
    updated["financial_status"] = json!("partially_refunded");
    updated["refunds"] = json!([first_refund(), second_refund()]);
    post(&p, "orders/updated", &updated, "w-upd").await;
    post(&p, "refunds/create", &first_refund(), "w-r1-again").await;
    let jobs = p.settled(3).await;
    assert_eq!(refunds(&jobs).len(), 2, "{jobs:#?}");
    assert_eq!(sends(&p).await, 3);
    for (number, refund) in [(1, "929361501"), (2, "929361502")] {
        let key = crate::common::db::text(
            &p.db_url,
            &format!(
                "SELECT order_id FROM invoice_numbers WHERE kind = 'credit_note' AND number = {number}"
            ),
        )
        .await;
        assert_eq!(key, format!("{ORDER}:{refund}"), "credit note {number}");
    }
}

#[tokio::test]
async fn a_refund_of_an_order_shopbip_never_saw_without_api_access_says_what_to_set() {
    let p = start(refunding_shop).await;
    let mut refund = first_refund();
    refund["order_id"] = json!(450790);
    post(&p, "refunds/create", &refund, "w-r1").await;
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].state, JobState::Dead, "{jobs:#?}");
    let error = jobs[0].last_error.clone().unwrap_or_default();
    for needle in ["450790", "admin_token", "orders/create"] {
        assert!(error.contains(needle), "{needle:?} missing from {error:?}");
    }
    assert_eq!(p.count("invoice_numbers").await, 0, "no number taken");
    assert_eq!(sends(&p).await, 0);
}

#[tokio::test]
async fn a_refund_the_whole_orders_credit_note_already_covered_gets_none_of_its_own() {
    let p = start(refunding_shop).await;
    let paid: Value = serde_json::from_slice(&fixture("shopify/orders-paid-mad.json")).unwrap();
    post(&p, "orders/paid", &paid, "w-paid").await;
    p.settled(1).await;
    // Refunded, the update without its refunds (a subscription trimmed with include_fields,
    // or handled before refunds were told apart): the whole order's credit note.
    let mut refunded = paid.clone();
    refunded["financial_status"] = json!("refunded");
    post(&p, "orders/updated", &refunded, "w-upd").await;
    let whole = refunds(&p.settled(2).await).remove(0);
    assert_eq!(whole.state, JobState::Done, "{:?}", whole.last_error);
    assert!(whole.order.refund.is_none());
    let (_, params) = sent_document(&p, &whole).await;
    assert_eq!(params, json!(["AV-000001", "MAD 1,533.00"]));

    // The refund's own webhook, late: it was made before that credit note, which covered it.
    post(&p, "refunds/create", &first_refund(), "w-r1").await;
    let jobs = p.settled(3).await;
    let late = refunds(&jobs).remove(1);
    assert_eq!(late.state, JobState::Skipped, "{late:#?}");
    let reason = late.last_error.clone().unwrap_or_default();
    assert!(
        reason.contains("929361501") && reason.contains(&whole.id.to_string()),
        "{reason}"
    );
    assert_eq!(sends(&p).await, 2);
    assert_eq!(
        p.count("invoice_numbers").await,
        2,
        "INV and AV-000001 only"
    );
}
