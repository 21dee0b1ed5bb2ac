//! The product end to end: signed webhook → real server → SQLite → workers → sandbox.

use crate::common;

use std::path::Path;

use crate::common::app::{
    SHOPIFY_SECRET, TestApp, WOO_SECRET, shopify_profile, start, woo_profile,
};
use crate::common::sign::*;
use serde_json::Value;
use sha2::Digest;
use shopbip::jobs::JobState;
use shopbip::sandbox::{Fault, FaultKind, FaultTarget};

const WOO_PAID: &str = "woocommerce/order-updated-paid-tnd.json";

fn both_stores(dir: &Path, url: &str) {
    std::fs::write(dir.join("acme-woo.toml"), woo_profile(url)).unwrap();
    std::fs::write(dir.join("atlas-shopify.toml"), shopify_profile(url)).unwrap();
}

async fn post_woo(p: &TestApp, store: &str, body: Vec<u8>, delivery: &str) {
    post_as(
        p,
        store,
        woo_headers(WOO_SECRET, "order.updated", &body, delivery),
        body,
    )
    .await;
}

/// Posts a signed body, expects 200 and returns the answer.
async fn post_as(
    p: &TestApp,
    store: &str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Value {
    let resp = p.post(store, &headers, body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_paid_woocommerce_order_becomes_one_message_with_its_invoice() {
    let p = start(both_stores).await;
    post_woo(&p, "acme-woo", fixture(WOO_PAID), "d1").await;
    let jobs = p.settled(1).await;
    let job = &jobs[0];
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);

    let calls = p.sandbox.control.calls().await.unwrap();
    let upload = calls
        .iter()
        .find(|c| c.path == "/api/v2/whatsapp/media")
        .expect("an upload");
    let send = calls
        .iter()
        .find(|c| c.path == "/api/v2/whatsapp/templates/1289/send")
        .expect("a send");
    for call in [upload, send] {
        assert!(call.header("authorization").unwrap().starts_with("Bearer "));
        assert_eq!(call.header("x-api-key"), Some("demo-api-key"));
        assert_eq!(call.header("x-platform-type"), Some("woocommerce"));
        assert_eq!(call.header("x-base-uri"), Some("https://shop.acme.test"));
    }
    let file = upload.file.as_ref().unwrap();
    assert_eq!(file.filename.as_deref(), Some("Invoice-5120.pdf"));
    assert_eq!(file.content_type.as_deref(), Some("application/pdf"));
    let json = send.json.as_ref().unwrap();
    let media_id = p.sandbox.control.media().await.unwrap()[0].id.clone();
    assert_eq!(json["header_media_id"], Value::from(media_id.clone()));
    assert_eq!(json["to"], "21696816277");
    assert_eq!(json["country_code"], "TN");
    assert_eq!(json["body_params"], serde_json::json!(["أميرة", "5120"]));
    assert_eq!(
        calls.iter().filter(|c| c.path.ends_with("/send")).count(),
        1
    );

    // The uploaded bytes are this order's invoice, rendered again here byte for byte.
    let uploaded = p.sandbox.control.media_content(&media_id).await.unwrap();
    let number = job.steps["invoice_number"].as_str().unwrap();
    assert_eq!(number, "INV-000001");
    let store = p.service.stores.load().get("acme-woo").unwrap().clone();
    let expected = shopbip::invoice::render_for_store(&store, &job.order, number).unwrap();
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&uploaded)),
        hex::encode(sha2::Sha256::digest(&expected))
    );
    assert_eq!(
        job.steps["pdf_sha256"],
        hex::encode(sha2::Sha256::digest(&expected))
    );
    assert!(job.steps["whatsapp_bulk_group_id"].is_string());
}

#[tokio::test]
async fn shopify_paid_sends_once_however_often_it_is_repeated() {
    let p = start(both_stores).await;
    let created = fixture("shopify/orders-create-mad.json");
    let paid = fixture("shopify/orders-paid-mad.json");
    for (topic, body, id) in [
        ("orders/create", &created, "w1"),
        ("orders/paid", &paid, "w2"),
        ("orders/paid", &paid, "w2"),
        ("orders/paid", &paid, "w3"),
        ("orders/updated", &paid, "w4"),
    ] {
        let resp = p
            .post(
                "atlas-shopify",
                &shopify_headers(SHOPIFY_SECRET, topic, body, id),
                body.clone(),
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    let jobs = p.settled(2).await;
    assert!(jobs.iter().all(|j| j.state == JobState::Done), "{jobs:?}");
    let sends = p
        .sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap();
    let by_template: Vec<&str> = sends.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        by_template.iter().filter(|p| p.contains("/1289/")).count(),
        1,
        "{by_template:?}"
    );
    assert_eq!(
        by_template.iter().filter(|p| p.contains("/1290/")).count(),
        1,
        "{by_template:?}"
    );
    let text_only = sends
        .iter()
        .find(|c| c.path.contains("/1290/"))
        .unwrap()
        .json
        .clone()
        .unwrap();
    assert!(
        text_only.get("header_media_id").is_none(),
        "text-only rule sends no media"
    );
    assert_eq!(text_only["to"], "212612345678");
    assert_eq!(
        p.sandbox
            .control
            .calls_to("/api/v2/whatsapp/media")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn orders_without_a_usable_phone_or_outside_a_staging_allow_list_are_skipped() {
    let p = start(|dir, url| {
        both_stores(dir, url);
        let staging = woo_profile(url).replace(
            "default_country = \"TN\"",
            "default_country = \"TN\"\nenvironment = \"staging\"",
        ) + "[test]\nallow_phones = [\"+21620000000\"]\n";
        std::fs::write(dir.join("acme-staging.toml"), staging).unwrap();
    })
    .await;
    let mut order: Value = serde_json::from_slice(&fixture(WOO_PAID)).unwrap();
    order["billing"]["phone"] = "123".into();
    post_woo(&p, "acme-woo", serde_json::to_vec(&order).unwrap(), "a").await;
    post_woo(&p, "acme-staging", fixture(WOO_PAID), "b").await;
    let jobs = p.settled(2).await;
    let reasons: Vec<(String, JobState, String)> = jobs
        .iter()
        .map(|j| {
            (
                j.store_id.clone(),
                j.state,
                j.last_error.clone().unwrap_or_default(),
            )
        })
        .collect();
    for (store, state, reason) in &reasons {
        assert_eq!(*state, JobState::Skipped, "{reasons:?}");
        match store.as_str() {
            "acme-woo" => assert!(reason.contains("not a valid phone number"), "{reason}"),
            _ => assert!(
                reason.contains("staging store")
                    && reason.contains("216•••••277")
                    && !reason.contains("96816"),
                "{reason}"
            ),
        }
    }
    assert!(
        p.sandbox
            .control
            .calls_to("/api/v2")
            .await
            .unwrap()
            .is_empty(),
        "nothing sent or uploaded"
    );
}

#[tokio::test]
async fn an_unapproved_template_kills_the_job_and_deletes_its_media() {
    let p = start(|dir, url| {
        std::fs::write(
            dir.join("acme-woo.toml"),
            woo_profile(url).replace("template_id = 1289", "template_id = 1300"),
        )
        .unwrap();
    })
    .await;
    post_woo(&p, "acme-woo", fixture(WOO_PAID), "d1").await;
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].state, JobState::Dead);
    let reason = jobs[0].last_error.clone().unwrap();
    assert!(
        reason.contains("not approved") && reason.contains("DRAFT"),
        "{reason}"
    );
    assert!(
        p.sandbox.control.media().await.unwrap().is_empty(),
        "the uploaded media was deleted"
    );
    let deletes = p
        .sandbox
        .control
        .calls()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.method == "DELETE")
        .count();
    assert_eq!(deletes, 1);
}

#[tokio::test]
async fn throttling_and_server_errors_still_send_exactly_once() {
    let p = start(both_stores).await;
    let control = &p.sandbox.control;
    control
        .add_fault(&Fault {
            on: FaultTarget::Send,
            kind: FaultKind::RateLimit {
                retry_after_secs: Some(1),
            },
            times: 1,
        })
        .await
        .unwrap();
    control
        .add_fault(&Fault {
            on: FaultTarget::Send,
            kind: FaultKind::ServerError { status: 500 },
            times: 1,
        })
        .await
        .unwrap();
    control
        .add_fault(&Fault {
            on: FaultTarget::Upload,
            kind: FaultKind::ServerError { status: 503 },
            times: 1,
        })
        .await
        .unwrap();
    post_woo(&p, "acme-woo", fixture(WOO_PAID), "d1").await;
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].state, JobState::Done, "{:?}", jobs[0].last_error);
    assert_eq!(
        jobs[0].attempts, 4,
        "upload 503, send 429, send 500, then success"
    );
    let sends = control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap();
    let statuses: Vec<u16> = sends.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 500, 200]);
    let uploads = control.calls_to("/api/v2/whatsapp/media").await.unwrap();
    assert_eq!(
        uploads.iter().filter(|c| c.status == 200).count(),
        1,
        "the retry reused the uploaded media"
    );
}

#[tokio::test]
async fn a_token_expiring_mid_run_costs_one_login_and_no_failed_job() {
    let p = start(both_stores).await;
    post_woo(&p, "acme-woo", fixture(WOO_PAID), "d1").await;
    p.settled(1).await;
    p.sandbox.control.expire_tokens().await.unwrap();
    post_woo(
        &p,
        "acme-woo",
        fixture("woocommerce/order-updated-paid-eur.json"),
        "d2",
    )
    .await;
    let jobs = p.settled(2).await;
    assert!(jobs.iter().all(|j| j.state == JobState::Done), "{jobs:?}");
    assert!(jobs.iter().all(|j| j.attempts == 1), "no attempt failed");
    assert_eq!(p.sandbox.logins().await, 2);
}

/// A WooCommerce store with one rule per payment setup: COD orders confirmed when placed,
/// prepaid ones when paid.
fn cod_and_prepaid_store(dir: &Path, url: &str) {
    let profile = woo_profile(url).replace(
        "[[notify]]\non = \"order.paid\"",
        "[[notify]]\non = \"order.created\"\ntemplate_id = 1289\n\
         body_params = [\"{order.name}\", \"{order.total}\"]\npayment = [\"cod\"]\n\n\
         [[notify]]\non = \"order.paid\"\npayment = [\"online\", \"bank_transfer\"]",
    );
    assert!(profile.contains("payment = [\"cod\"]"), "{profile}");
    std::fs::write(dir.join("acme-woo.toml"), profile).unwrap();
}

/// The TND fixture as another order: its own id, status and payment.
fn woo_order(id: u64, status: &str, method: &str, paid: bool) -> Vec<u8> {
    let mut order: Value = serde_json::from_slice(&fixture(WOO_PAID)).unwrap();
    order["id"] = id.into();
    order["number"] = id.to_string().into();
    order["status"] = status.into();
    order["payment_method"] = method.into();
    order["payment_method_title"] = method.into();
    if !paid {
        order["date_paid"] = Value::Null;
        order["date_paid_gmt"] = Value::Null;
    }
    serde_json::to_vec(&order).unwrap()
}

async fn post_woo_topic(p: &TestApp, topic: &str, body: &[u8], delivery: &str) -> Value {
    let headers = woo_headers(WOO_SECRET, topic, body, delivery);
    post_as(p, "acme-woo", headers, body.to_vec()).await
}

#[tokio::test]
async fn cash_on_delivery_and_prepaid_orders_each_get_their_one_message() {
    let p = start(cod_and_prepaid_store).await;
    // A COD order: created unpaid, then completed on delivery (WooCommerce sets date_paid).
    let placed = woo_order(7001, "processing", "cod", false);
    let answer = post_woo_topic(&p, "order.created", &placed, "c1").await;
    assert_eq!(answer["jobs_created"], 1, "{answer}");
    let delivered = woo_order(7001, "completed", "cod", true);
    let answer = post_woo_topic(&p, "order.updated", &delivered, "c2").await;
    // Paid now, but by cash on delivery: the prepaid rule is not for it.
    assert_eq!(answer["status"], "ignored", "{answer}");

    // A card order that goes straight to completed (virtual goods), then is updated again.
    let virtual_goods = woo_order(7002, "completed", "stripe", true);
    let answer = post_woo_topic(&p, "order.created", &virtual_goods, "v1").await;
    assert_eq!(answer["jobs_created"], 1, "{answer}");
    let answer = post_woo_topic(&p, "order.updated", &virtual_goods, "v2").await;
    assert_eq!(
        answer["status"], "accepted",
        "another topic: another delivery"
    );
    assert_eq!(
        (
            answer["jobs_created"].clone(),
            answer["jobs_existing"].clone()
        ),
        (0.into(), 1.into())
    );

    let jobs = p.settled(2).await;
    assert!(jobs.iter().all(|j| j.state == JobState::Done), "{jobs:?}");
    let sends: Vec<(String, Value)> = p
        .sandbox
        .control
        .calls()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.path.ends_with("/send"))
        .map(|c| (c.path.clone(), c.json.unwrap()["body_params"].clone()))
        .collect();
    assert_eq!(
        sends.len(),
        2,
        "one message per order, the paid one once: {sends:?}"
    );
    assert!(sends.contains(&(
        "/api/v2/whatsapp/templates/1289/send".to_owned(),
        serde_json::json!(["7001", "TND 248.570"])
    )));
    assert!(sends.contains(&(
        "/api/v2/whatsapp/templates/1289/send".to_owned(),
        serde_json::json!(["أميرة", "7002"])
    )));
    // The COD invoice says it is due on delivery.
    let cod_job = jobs.iter().find(|j| j.order_id == "7001").unwrap();
    assert_eq!(cod_job.order.payment.kind, shopbip::order::PaymentKind::Cod);
    let media = p.sandbox.control.media().await.unwrap();
    let texts: Vec<String> = futures_util::future::join_all(
        media.iter().map(|m| p.sandbox.control.media_content(&m.id)),
    )
    .await
    .into_iter()
    .map(|pdf| common::pdf_text(&pdf.unwrap()))
    .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("7001") && t.contains("payer à la livraison")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("7002") && t.contains("Payée")),
        "{texts:?}"
    );
}

/// Shopify stores: one with no `default_currency`, one with `MAD`.
fn shopify_stores(dir: &Path, url: &str) {
    std::fs::write(dir.join("atlas-shopify.toml"), shopify_profile(url)).unwrap();
    let with_currency = shopify_profile(url).replace(
        "default_country = \"MA\"",
        "default_country = \"MA\"\ndefault_currency = \"MAD\"",
    );
    std::fs::write(dir.join("atlas-mad.toml"), with_currency).unwrap();
}

/// The paid MAD fixture as order `id`, edited by `edit`.
fn shopify_paid(id: u64, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut order: Value =
        serde_json::from_slice(&fixture("shopify/orders-paid-mad.json")).unwrap();
    order["id"] = id.into();
    order["order_number"] = id.into();
    order["name"] = format!("#{id}").into();
    edit(&mut order);
    serde_json::to_vec(&order).unwrap()
}

async fn post_shopify(p: &TestApp, store: &str, body: Vec<u8>, webhook_id: &str) {
    let headers = shopify_headers(SHOPIFY_SECRET, "orders/paid", &body, webhook_id);
    post_as(p, store, headers, body).await;
}

#[tokio::test]
async fn amounts_the_platform_left_out_are_never_sent_as_zero() {
    let p = start(shopify_stores).await;
    let no_currency = |o: &mut Value| {
        let map = o.as_object_mut().unwrap();
        for key in [
            "currency",
            "presentment_currency",
            "total_shipping_price_set",
        ] {
            map.remove(key);
        }
    };
    post_shopify(&p, "atlas-shopify", shopify_paid(9001, no_currency), "w1").await;
    post_shopify(&p, "atlas-mad", shopify_paid(9002, no_currency), "w2").await;
    // No total, and no line price to work one out from.
    let no_total = |o: &mut Value| {
        o.as_object_mut().unwrap().remove("total_price");
        for line in o["line_items"].as_array_mut().unwrap() {
            line.as_object_mut().unwrap().remove("price");
        }
    };
    post_shopify(&p, "atlas-mad", shopify_paid(9003, no_total), "w3").await;

    let jobs = p.settled(3).await;
    let job = |order: &str| jobs.iter().find(|j| j.order_id == order).unwrap();
    assert_eq!(job("9001").state, JobState::Skipped);
    let reason = job("9001").last_error.clone().unwrap();
    assert!(
        reason.contains("no currency") && reason.contains("default_currency"),
        "{reason}"
    );
    assert_eq!(
        job("9002").state,
        JobState::Done,
        "{:?}",
        job("9002").last_error
    );
    assert_eq!(
        job("9002").order.currency,
        "MAD",
        "the store's default_currency"
    );
    assert_eq!(job("9003").state, JobState::Skipped);
    assert!(
        job("9003")
            .last_error
            .as_deref()
            .unwrap()
            .contains("no total"),
        "{:?}",
        job("9003").last_error
    );
    // Only the order whose amounts are known was sent, with its invoice in dirhams.
    let sends = p.sandbox.accepted_sends(1).await;
    assert_eq!(
        sends.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["9002"]
    );
    let media = p.sandbox.control.media().await.unwrap();
    let pdf = p.sandbox.control.media_content(&media[0].id).await.unwrap();
    assert!(common::pdf_text(&pdf).contains("MAD 1,533.00"));
}

#[tokio::test]
async fn an_order_that_does_not_add_up_prints_its_own_total_and_warns_the_operator() {
    let p = start(shopify_stores).await;
    // 1,240.00 + 45.00 shipping + 248.00 tax is 1,533.00, but the platform says 1,500.00.
    let off = shopify_paid(9010, |o| o["total_price"] = "1500.00".into());
    post_shopify(&p, "atlas-shopify", off, "w1").await;
    let sound = shopify_paid(9011, |_| {});
    post_shopify(&p, "atlas-shopify", sound, "w2").await;
    let jobs = p.settled(2).await;
    assert!(jobs.iter().all(|j| j.state == JobState::Done), "{jobs:?}");

    let detail = |id: i64| {
        let p = &p;
        async move {
            let resp = p
                .admin(reqwest::Method::GET, &format!("/admin/jobs/{id}"))
                .await;
            assert_eq!(resp.status(), 200);
            resp.json::<Value>().await.unwrap()
        }
    };
    let off_job = jobs.iter().find(|j| j.order_id == "9010").unwrap();
    let shown = detail(off_job.id).await;
    let warnings = shown["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{shown}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.contains("MAD 1,533.00") && warning.contains("MAD 1,500.00"),
        "{warning}"
    );
    assert_eq!(shown["order"]["name"], "#9010");
    assert_eq!(shown["order"]["payment"]["paid"], true);
    let sound_job = jobs.iter().find(|j| j.order_id == "9011").unwrap();
    assert_eq!(
        detail(sound_job.id).await["warnings"],
        serde_json::json!([])
    );

    // The invoice still prints the platform's own total.
    let media_id = off_job.steps["media_id"].as_str().unwrap();
    let pdf = p.sandbox.control.media_content(media_id).await.unwrap();
    let text = common::pdf_text(&pdf);
    assert!(text.contains("MAD 1,500.00"), "{text}");
}

#[tokio::test]
async fn a_profile_removed_and_restored_while_its_job_waits_lets_the_job_finish() {
    let p = start(both_stores).await;
    let stores_dir = p.dir.path().join("plugin-config");
    let profile = stores_dir.join("acme-woo.toml");
    let text = std::fs::read_to_string(&profile).unwrap();
    let registry = p.service.stores.load_full();
    let rule = registry.get("acme-woo").unwrap().rules[0].clone();
    // The profile goes away (an editor's rename, a ConfigMap swap); hot reload applies it.
    std::fs::remove_file(&profile).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while p.service.stores.load().get("acme-woo").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the reload never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A job of that store, stored just before (as a webhook answered a moment earlier).
    let order = shopbip::platforms::Platform::Woocommerce
        .adapter()
        .parse_order(&fixture(WOO_PAID))
        .unwrap();
    p.service
        .jobs
        .ingest(shopbip::jobs::NewEvent {
            store_id: "acme-woo".into(),
            platform: "woocommerce".into(),
            delivery_key: "restored".into(),
            topic: "order.updated".into(),
            kind: rule.on,
            order,
            rules: vec![rule],
        })
        .await
        .unwrap();
    // It fails while the store is missing, and waits: not dead.
    loop {
        let job = &p.jobs().await[0];
        assert_ne!(job.state, JobState::Dead, "{:?}", job.last_error);
        if job.attempts >= 1 && job.state == JobState::Queued {
            assert!(
                job.last_error
                    .as_deref()
                    .unwrap()
                    .contains("not configured"),
                "{:?}",
                job.last_error
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{job:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    std::fs::write(&profile, text).unwrap();
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].state, JobState::Done, "{:?}", jobs[0].last_error);
    assert_eq!(p.sandbox.accepted_sends(1).await.len(), 1);
}
