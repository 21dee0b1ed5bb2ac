//! The stores overview: webhook URLs, figures, and stores in trouble.

use reqwest::StatusCode;

use super::{OPERATOR, start};
use crate::common::app::WOO_SECRET;
use crate::common::db;
use crate::common::sign::{fixture, woo_headers};

/// The overview's row of `store`.
fn row<'a>(page: &'a str, store: &str) -> &'a str {
    let start = page
        .find(&format!(r#"data-store="{store}""#))
        .unwrap_or_else(|| panic!("no row for {store}: {page}"));
    // From the row's own tag, whose class marks trouble.
    let start = page[..start].rfind("<tr").unwrap();
    let rest = &page[start..];
    &rest[..rest.find("</tr>").unwrap()]
}

#[tokio::test]
async fn the_overview_shows_webhook_urls_figures_and_stores_in_trouble() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    let page = c.page(&client, "/console", StatusCode::OK).await;
    let acme = row(&page, "acme-woo");
    assert!(
        acme.contains(&format!("{}/webhooks/acme-woo</code>", c.app.base)),
        "{acme}"
    );
    assert!(
        acme.contains("woocommerce") && acme.contains("production"),
        "{acme}"
    );
    assert!(acme.contains("state-ok"), "a new store is fine: {acme}");

    // A signed order: a queued job and a last webhook.
    let body = fixture("woocommerce/order-updated-paid-tnd.json");
    let res = c
        .app
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &body, "d-1"),
            body.clone(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Two refused signatures: refusals rising.
    for n in 0..2 {
        let res = c
            .app
            .post(
                "acme-woo",
                &woo_headers("wrong-secret", "order.updated", &body, &format!("bad-{n}")),
                body.clone(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let page = c.page(&client, "/console", StatusCode::OK).await;
    let acme = row(&page, "acme-woo");
    assert!(acme.starts_with(r#"<tr class="trouble""#), "{acme}");
    assert!(acme.contains(r#"data-trouble="RefusalsRising""#), "{acme}");
    assert!(
        acme.contains(r#"<td class="num" data-label="Signature refusals (24 h)">2</td>"#),
        "{acme}"
    );
    assert!(acme.contains("state-queued"), "{acme}");
    let atlas = row(&page, "atlas-shopify");
    assert!(atlas.contains("state-ok"), "{atlas}");

    // A dead job, and a store silent for a day while it used to get webhooks.
    db::exec(&c.app.db_url, "UPDATE jobs SET state = 'dead'").await;
    let day_ago = shopbip::clock::now_ms() - 25 * 3_600_000;
    db::exec(
        &c.app.db_url,
        &format!("UPDATE events SET received_at = {day_ago}"),
    )
    .await;
    // The overview reads the per-store counts, which saw the webhooks come in now: a day
    // passes for them too (on PostgreSQL also in the deltas not yet folded).
    db::exec(
        &c.app.db_url,
        &format!("UPDATE store_counts SET last_at = {day_ago} WHERE counter = 'webhooks'"),
    )
    .await;
    if !c.app.db_url.starts_with("sqlite:") {
        db::exec(
            &c.app.db_url,
            &format!("UPDATE store_count_deltas SET at = {day_ago} WHERE counter = 'webhooks'"),
        )
        .await;
    }
    let page = c.page(&client, "/console", StatusCode::OK).await;
    let acme = row(&page, "acme-woo");
    assert!(acme.contains(r#"data-trouble="DeadJobs""#), "{acme}");
    assert!(acme.contains(r#"data-trouble="Silent""#), "{acme}");
    assert!(
        acme.contains(r#"href="/console/messages?store=acme-woo&amp;state=dead""#),
        "{acme}"
    );
}

#[tokio::test]
async fn the_webhook_url_uses_the_public_url_when_set() {
    let c = start(|s| s.console.public_url = "https://hooks.example.test/".into()).await;
    let client = c.signed_in(OPERATOR).await;
    let page = c.page(&client, "/console", StatusCode::OK).await;
    assert!(
        page.contains("https://hooks.example.test/webhooks/atlas-shopify</code>"),
        "{page}"
    );
}
