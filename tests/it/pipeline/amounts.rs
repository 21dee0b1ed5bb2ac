//! Amounts: those the platform left out are never sent as zero, and an order that does not
//! add up prints its own total and warns the operator.

use std::path::Path;

use super::post_as;
use crate::common;
use crate::common::app::{SHOPIFY_SECRET, TestApp, shopify_profile, start};
use crate::common::sign::*;
use serde_json::Value;

use shopbip::jobs::JobState;

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
    // The invoice (in English) writes dirhams as CLDR does: the code, a no-break space.
    assert!(common::pdf_text(&pdf).contains("MAD\u{a0}1,533.00"));
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
    assert!(text.contains("MAD\u{a0}1,500.00"), "{text}");
}
