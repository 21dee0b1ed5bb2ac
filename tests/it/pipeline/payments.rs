//! Cash on delivery and prepaid orders in one store, each confirmed by its own rule.

use std::path::Path;

use super::{WOO_PAID, post_as};
use crate::common;
use crate::common::app::{TestApp, WOO_SECRET, start, woo_profile};
use crate::common::sign::*;
use serde_json::Value;

use shopbip::jobs::JobState;

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
