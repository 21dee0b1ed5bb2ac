//! One message over loopback: its timeline and parameters, its invoice PDF made again and equal
//! to the one sent, the operator's actions (replay, retry now, retry all shown) doing what
//! they say, and who may do what: another store's message is a 404 by every URL, a viewer's
//! POST a 403, a POST without the CSRF token a 403.

use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use super::messages::{job_ids, shopify_order, woo_order};
use super::{Console, OPERATOR, VIEWER, csrf_of, start};
use crate::common::db;
use crate::common::read_pdf;

/// A signed-in client and its CSRF token (from the layout's logout form).
async fn session(c: &Console, who: (&str, &str)) -> (reqwest::Client, String) {
    let client = c.signed_in(who).await;
    let page = c.page(&client, "/console", StatusCode::OK).await;
    (client, csrf_of(&page))
}

async fn post(
    c: &Console,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client.post(c.url(path)).form(form).send().await.unwrap()
}

async fn state_of(c: &Console, id: i64) -> String {
    db::text(
        &c.app.db_url,
        &format!("SELECT state FROM jobs WHERE id = {id}"),
    )
    .await
}

#[tokio::test]
async fn the_message_shows_its_timeline_and_the_invoice_that_was_sent() {
    let c = start(|_| {}).await;
    woo_order(&c, "5120", None).await;
    assert_eq!(c.app.service.run_pending_jobs().await.unwrap(), 1);
    let job = c.app.jobs().await.into_iter().next().unwrap();
    let (client, _) = session(&c, OPERATOR).await;
    let page = c
        .page(
            &client,
            &format!("/console/messages/{}", job.id),
            StatusCode::OK,
        )
        .await;
    for step in [
        "Webhook received",
        "Phone",
        "Invoice",
        "Upload",
        "Send",
        "Closed",
    ] {
        assert!(
            page.contains(&format!("<strong>{step}</strong>")),
            "{step}: {page}"
        );
    }
    assert!(!page.contains("not yet"), "every step done: {page}");
    let number = job.steps["invoice_number"].as_str().unwrap();
    assert!(page.contains(number), "the invoice number: {page}");
    // The parameters sent: the customer's first name and the order number.
    assert!(
        page.contains("<li><code>أميرة</code></li><li><code>5120</code></li>"),
        "{page}"
    );
    assert!(page.contains("Identical to the document sent."), "{page}");
    let pdf_link = format!(r#"src="/console/messages/{}/invoice.pdf""#, job.id);
    assert!(page.contains(&pdf_link), "{page}");
    // The event as received, phones masked.
    assert!(
        page.contains("<code>order.updated</code>") && page.contains("<dt>Delivery</dt>"),
        "{page}"
    );
    assert!(
        !page.contains("96 816 277") && !page.contains("96816277"),
        "{page}"
    );
    assert!(page.contains(r#"action="/console/messages/"#) && page.contains("/replay\""));

    let res = c
        .get(
            &client,
            &format!("/console/messages/{}/invoice.pdf", job.id),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(
        res.headers()["x-frame-options"],
        "SAMEORIGIN",
        "framed by the page"
    );
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        hex::encode(Sha256::digest(&pdf)),
        job.steps["pdf_sha256"].as_str().unwrap(),
        "the same bytes as the PDF uploaded"
    );
    assert!(
        read_pdf::text(&pdf).contains("5120"),
        "the order's number in the PDF"
    );
    // Recorded for another document: the page says they differ.
    let sent = job.steps["pdf_sha256"].as_str().unwrap();
    db::exec(
        &c.app.db_url,
        &format!(
            "UPDATE jobs SET steps_json = replace(steps_json, '{sent}', '{}') WHERE id = {}",
            "0".repeat(64),
            job.id
        ),
    )
    .await;
    let page = c
        .page(
            &client,
            &format!("/console/messages/{}", job.id),
            StatusCode::OK,
        )
        .await;
    assert!(page.contains("Differs from the document sent"), "{page}");
    let res = c
        .get(
            &client,
            &format!("/console/messages/{}/invoice.pdf?download=1", job.id),
        )
        .await;
    let disposition = res.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
}

#[tokio::test]
async fn replay_on_a_dead_job_runs_it_again_and_sends_once_more() {
    let c = start(|_| {}).await;
    woo_order(&c, "5120", None).await;
    c.app.service.run_pending_jobs().await.unwrap();
    assert_eq!(c.app.sandbox.accepted_sends(1).await.len(), 1);
    let id = job_ids(&c, "acme-woo").await[0];
    db::exec(
        &c.app.db_url,
        &format!("UPDATE jobs SET state = 'dead', last_error = 'gave up' WHERE id = {id}"),
    )
    .await;
    let (client, csrf) = session(&c, OPERATOR).await;
    let page = c
        .page(&client, &format!("/console/messages/{id}"), StatusCode::OK)
        .await;
    assert!(page.contains("gave up"), "the last error in full");
    let res = post(
        &c,
        &client,
        &format!("/console/messages/{id}/replay"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        format!("/console/messages/{id}?note=replayed").as_str()
    );
    assert_eq!(state_of(&c, id).await, "queued");
    assert_eq!(c.app.service.run_pending_jobs().await.unwrap(), 1);
    assert_eq!(state_of(&c, id).await, "done");
    let sends = c.app.sandbox.accepted_sends(1).await;
    assert_eq!(sends.len(), 2, "one more send: {sends:?}");
    let page = c
        .page(&client, &format!("/console/messages/{id}"), StatusCode::OK)
        .await;
    assert!(page.contains("Previous runs"), "the first run kept: {page}");
}

#[tokio::test]
async fn retry_now_makes_a_waiting_job_due_and_retry_all_shown_replays_the_dead() {
    let c = start(|_| {}).await;
    woo_order(&c, "5120", None).await;
    woo_order(&c, "5121", None).await;
    let ids = job_ids(&c, "acme-woo").await;
    let later = shopbip::clock::now_ms() + 3_600_000;
    db::exec(
        &c.app.db_url,
        &format!(
            "UPDATE jobs SET run_at = {later}, attempts = 1 WHERE id = {}",
            ids[0]
        ),
    )
    .await;
    let (client, csrf) = session(&c, OPERATOR).await;
    let page = c
        .page(
            &client,
            &format!("/console/messages/{}", ids[0]),
            StatusCode::OK,
        )
        .await;
    assert!(page.contains("/retry-now\""), "the button: {page}");
    let res = post(
        &c,
        &client,
        &format!("/console/messages/{}/retry-now", ids[0]),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let run_at = db::scalar(
        &c.app.db_url,
        &format!("SELECT run_at FROM jobs WHERE id = {}", ids[0]),
    )
    .await;
    assert!(run_at <= shopbip::clock::now_ms(), "due now: {run_at}");

    db::exec(&c.app.db_url, "UPDATE jobs SET state = 'dead'").await;
    let list = c
        .page(
            &client,
            "/console/messages?state=dead&store=acme-woo",
            StatusCode::OK,
        )
        .await;
    assert!(
        list.contains("/console/messages/retry-dead"),
        "the button: {list}"
    );
    let res = post(
        &c,
        &client,
        "/console/messages/retry-dead",
        &[("csrf", &csrf), ("store", "acme-woo"), ("q", "5121")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap();
    assert!(to.contains("note=replayed-shown&n=1"), "{to}");
    assert_eq!(state_of(&c, ids[0]).await, "queued", "the one shown");
    assert_eq!(state_of(&c, ids[1]).await, "dead", "not shown: untouched");
}

#[tokio::test]
async fn another_stores_message_is_a_404_by_every_url_and_viewers_cannot_act() {
    let c = start(|_| {}).await;
    woo_order(&c, "5120", None).await;
    shopify_order(&c).await;
    c.app.service.run_pending_jobs().await.unwrap();
    let atlas = job_ids(&c, "atlas-shopify").await[0];
    let acme = job_ids(&c, "acme-woo").await[0];
    let sent = c.app.sandbox.accepted_sends(0).await.len();
    let (viewer, csrf) = session(&c, VIEWER).await;
    for path in [
        format!("/console/messages/{atlas}"),
        format!("/console/messages/{atlas}/invoice.pdf"),
        format!("/console/messages/{atlas}/invoice.pdf?download=1"),
        format!("/console/preview.pdf?job={atlas}"),
        "/console/preview?store=atlas-shopify".to_owned(),
        format!("/console/preview?store=acme-woo&job={atlas}"),
        "/console/messages/999999".to_owned(),
        "/console/messages/not-a-number".to_owned(),
    ] {
        let res = c.get(&viewer, &path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "GET {path}");
    }
    for path in [
        format!("/console/messages/{atlas}/replay"),
        format!("/console/messages/{atlas}/retry-now"),
    ] {
        let res = post(&c, &viewer, &path, &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "POST {path}");
    }
    let res = post(
        &c,
        &viewer,
        "/console/messages/retry-dead",
        &[("csrf", &csrf), ("store", "atlas-shopify")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Their own store's message: visible, without buttons, and a POST is refused.
    let page = c
        .page(
            &viewer,
            &format!("/console/messages/{acme}"),
            StatusCode::OK,
        )
        .await;
    assert!(
        !page.contains("/replay\""),
        "no replay button for a viewer: {page}"
    );
    for path in [
        format!("/console/messages/{acme}/replay"),
        format!("/console/messages/{acme}/retry-now"),
        "/console/messages/retry-dead".to_owned(),
    ] {
        let res = post(&c, &viewer, &path, &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    assert_eq!(state_of(&c, acme).await, "done", "nothing was done");
    // An operator without the CSRF token: refused, nothing done.
    let (operator, _) = session(&c, OPERATOR).await;
    for form in [vec![], vec![("csrf", "forged")]] {
        let res = post(
            &c,
            &operator,
            &format!("/console/messages/{acme}/replay"),
            &form,
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(state_of(&c, acme).await, "done");
    assert_eq!(
        c.app.sandbox.accepted_sends(0).await.len(),
        sent,
        "no extra send"
    );
}

#[tokio::test]
async fn the_timeline_shows_the_delivery_and_the_note_written_back() {
    let c = start(|_| {}).await;
    woo_order(&c, "5120", None).await;
    assert_eq!(c.app.service.run_pending_jobs().await.unwrap(), 1);
    let job = c.app.jobs().await.into_iter().next().unwrap();
    assert_eq!(job.delivery.state.as_deref(), Some("accepted"));
    let (client, _) = session(&c, OPERATOR).await;
    let page = c
        .page(
            &client,
            &format!("/console/messages/{}", job.id),
            StatusCode::OK,
        )
        .await;
    assert!(page.contains(r#"data-delivery="accepted""#), "{page}");
    assert!(page.contains("next lookup"), "{page}");
    assert!(!page.contains("data-writeback"), "nothing written back yet");

    // What the lookups and the write-back record (their own tests drive them for real).
    db::exec(
        &c.app.db_url,
        &format!(
            "UPDATE jobs SET delivery_state = 'failed', delivery_poll_at = NULL, \
             delivery_json = '{{\"raw\":\"undelivered\",\"reason\":\"131026: +21696816277 is not on WhatsApp\"}}', \
             writeback_json = '{{\"state\":\"failed\",\"attempts\":1,\"text\":\"WhatsApp invoice sent\",\"last_error\":\"WooCommerce refused the API keys\"}}' \
             WHERE id = {}",
            job.id
        ),
    )
    .await;
    let page = c
        .page(
            &client,
            &format!("/console/messages/{}", job.id),
            StatusCode::OK,
        )
        .await;
    assert!(page.contains(r#"data-delivery="failed""#), "{page}");
    assert!(
        page.contains("undelivered") && page.contains("not on WhatsApp"),
        "{page}"
    );
    assert!(
        !page.contains("816277"),
        "the reason's phone is masked: {page}"
    );
    assert!(page.contains(r#"data-writeback="failed""#), "{page}");
    assert!(page.contains("WooCommerce refused the API keys"), "{page}");
}

/// Adds a refund rule to `store`'s profile (hot reload, as a merchant would) and waits until
/// the running service has it.
async fn add_refund_rule(c: &Console, store: &str, body_params: &str) {
    let file = c
        .app
        .dir
        .path()
        .join("plugin-config")
        .join(format!("{store}.toml"));
    let profile = std::fs::read_to_string(&file).unwrap()
        + &format!(
            "\n[[notify]]\non = \"order.refunded\"\ntemplate_id = 1289\nbody_params = {body_params}\n"
        );
    std::fs::write(&file, profile).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while c
        .app
        .service
        .stores
        .load()
        .get(store)
        .unwrap()
        .rules
        .iter()
        .all(|r| r.on != shopbip::order::EventKind::OrderRefunded)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the profile was not reloaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Once both jobs ran: the refund's credit note as the console makes it again (its text),
/// after checking its number and that the page finds it identical to the one sent.
async fn credit_note_made_again(c: &Console) -> String {
    assert_eq!(c.app.service.run_pending_jobs().await.unwrap(), 2);
    let job = c
        .app
        .jobs()
        .await
        .into_iter()
        .find(|j| j.kind == shopbip::order::EventKind::OrderRefunded)
        .unwrap();
    assert_eq!(
        job.steps["invoice_number"], "AV-000001",
        "{:?}",
        job.last_error
    );
    let (client, _) = session(c, OPERATOR).await;
    let page = c
        .page(
            &client,
            &format!("/console/messages/{}", job.id),
            StatusCode::OK,
        )
        .await;
    assert!(page.contains("Identical to the document sent."), "{page}");
    let pdf = c
        .get(
            &client,
            &format!("/console/messages/{}/invoice.pdf", job.id),
        )
        .await
        .bytes()
        .await
        .unwrap();
    crate::common::read_pdf::text(&pdf)
}

/// A refund's document is a credit note: the console makes it again as one (not an invoice
/// carrying the credit note's number) and finds it identical to the one sent.
#[tokio::test]
async fn a_refunds_credit_note_is_made_again_as_a_credit_note() {
    let c = start(|_| {}).await;
    add_refund_rule(
        &c,
        "acme-woo",
        r#"["{customer.first_name}", "{invoice.number}"]"#,
    )
    .await;
    woo_order(&c, "5120", None).await;
    let mut refund: serde_json::Value = serde_json::from_slice(&crate::common::sign::fixture(
        "woocommerce/order-updated-paid-tnd.json",
    ))
    .unwrap();
    refund["id"] = 5120.into();
    refund["number"] = "5120".into();
    refund["status"] = "refunded".into();
    let body = serde_json::to_vec(&refund).unwrap();
    let headers = crate::common::sign::woo_headers(
        crate::common::app::WOO_SECRET,
        "order.updated",
        &body,
        "d-refund",
    );
    assert_eq!(c.app.post("acme-woo", &headers, body).await.status(), 200);
    let text = credit_note_made_again(&c).await;
    assert!(
        text.contains("AVOIR") && text.contains("INV-000001"),
        "{text}"
    );
}

/// A partial refund's credit note is made again from the order the worker completed (Shopify's
/// `refunds/create` names its order only), stating that refund, identical to the one sent.
#[tokio::test]
async fn a_partial_refunds_credit_note_is_made_again_from_the_order_it_was_completed_with() {
    let c = start(|_| {}).await;
    add_refund_rule(
        &c,
        "atlas-shopify",
        r#"["{invoice.number}", "{refund.amount}"]"#,
    )
    .await;
    shopify_order(&c).await;
    let body = crate::common::sign::fixture("shopify/refunds-create-partial-mad.json");
    let headers = crate::common::sign::shopify_headers(
        crate::common::app::SHOPIFY_SECRET,
        "refunds/create",
        &body,
        "w-refund",
    );
    assert_eq!(
        c.app.post("atlas-shopify", &headers, body).await.status(),
        200
    );
    let text = credit_note_made_again(&c).await;
    assert!(
        text.contains("AV-000001") && text.contains("504.00") && !text.contains("SAV-NOIR"),
        "{text}"
    );
}
