//! /metrics, and hot reload of the store profiles (seen through /metrics).

use std::time::{Duration, Instant};

use super::{WOO_PAID, post_paid, woo_store};
use crate::common;
use crate::common::app::{TestApp, WOO_SECRET, start, woo_profile};
use crate::common::sign::*;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn metrics_count_signatures_webhooks_and_sends() {
    let p = start(woo_store).await;
    let before = metrics_text(&p).await;
    assert_eq!(
        post_paid(&p, "wrong-secret", fixture(WOO_PAID), "x").await,
        401
    );
    assert_eq!(
        post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await,
        200
    );
    p.settled(1).await;
    let text = metrics_text(&p).await;
    for needle in [
        r#"shopbip_jobs{state="done"}"#,
        "shopbip_job_step_seconds_bucket",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from /metrics:\n{text}"
        );
    }
    // The recorder is process-wide and other tests use the same store id: each series must
    // have grown during this test, not merely exist.
    for series in [
        r#"shopbip_webhooks_total{store="acme-woo",outcome="bad_signature"}"#,
        r#"shopbip_webhooks_total{store="acme-woo",outcome="accepted"}"#,
        r#"shopbip_messages_sent_total{store="acme-woo"}"#,
        r#"shopbip_upstream_calls_total{endpoint="send",outcome="success"}"#,
        "shopbip_job_step_seconds_count",
    ] {
        assert!(
            metric(&text, series) > metric(&before, series),
            "{series} did not grow in /metrics:\n{text}"
        );
    }
    let stores: Value = p
        .admin(Method::GET, "/admin/stores")
        .await
        .json()
        .await
        .unwrap();
    assert!(stores[0]["failed_signatures"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn a_rotated_secret_takes_effect_without_restart_and_a_broken_edit_is_refused() {
    let p = start(woo_store).await;
    let stores = p.dir.path().join("plugin-config");
    let rotated = woo_profile(&p.sandbox.handle.base_url()).replace(
        &format!(
            "secrets = [\"{}\", \"{WOO_SECRET}\"]",
            common::app::WOO_OLD_SECRET
        ),
        "secrets = [\"rotated-2027\"]",
    );
    assert!(rotated.contains("rotated-2027"));
    // Editors and Kubernetes replace the file: write elsewhere, rename over it.
    let tmp = stores.join(".acme-woo.toml.tmp");
    std::fs::write(&tmp, &rotated).unwrap();
    std::fs::rename(&tmp, stores.join("acme-woo.toml")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut delivery = 0;
    loop {
        delivery += 1;
        let status = post_paid(&p, "rotated-2027", fixture(WOO_PAID), &delivery.to_string()).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rotated secret was never accepted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "old").await,
        401,
        "the old secret is gone"
    );

    const REFUSED: &str = r#"shopbip_config_reloads_total{outcome="refused"}"#;
    let refused_before = metric(&metrics_text(&p).await, REFUSED);
    std::fs::write(
        stores.join("acme-woo.toml"),
        rotated.replace("platform =", "platfrom ="),
    )
    .unwrap();
    // Waits for the reload to be refused (counted), not for a fixed time.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = metrics_text(&p).await;
        if metric(&metrics, REFUSED) > refused_before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the broken edit was never refused:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let eur = fixture("woocommerce/order-updated-paid-eur.json");
    assert_eq!(
        post_paid(&p, "rotated-2027", eur, "e1").await,
        200,
        "the last good config still serves"
    );
}

async fn metrics_text(p: &TestApp) -> String {
    p.http
        .get(format!("{}/metrics", p.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A series' value in Prometheus text (0 when absent); a bare name sums all its label sets.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(name, _)| {
            *name == series || (!series.contains('{') && name.split('{').next() == Some(series))
        })
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}
