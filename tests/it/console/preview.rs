//! The invoice preview over loopback: a recent order or an uploaded payload rendered with the
//! store's template, errors shown on the page (never a 500), and only the user's stores.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

use super::messages::{job_ids, shopify_order, woo_order};
use super::{Console, OPERATOR, VIEWER, csrf_of, start};
use crate::common::read_pdf;
use crate::common::sign::fixture;

async fn upload(
    c: &Console,
    client: &reqwest::Client,
    csrf: &str,
    store: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let form = Form::new().part("order", Part::bytes(body).file_name("order.json"));
    client
        .post(c.url(&format!("/console/preview?store={store}&csrf={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_recent_order_or_an_upload_renders_with_the_stores_template() {
    let c = start(|_| {}).await;
    woo_order(&c, "5120", None).await;
    let id = job_ids(&c, "acme-woo").await[0];
    let client = c.signed_in(OPERATOR).await;
    let page = c
        .page(&client, "/console/preview?store=acme-woo", StatusCode::OK)
        .await;
    assert!(
        page.contains(&format!(r#"<option value="{id}""#)),
        "the recent order offered: {page}"
    );
    let page = c
        .page(
            &client,
            &format!("/console/preview?store=acme-woo&job={id}"),
            StatusCode::OK,
        )
        .await;
    assert!(
        page.contains(&format!(r#"src="/console/preview.pdf?job={id}""#)),
        "{page}"
    );
    // Page 1 as an image too, for a browser that shows no PDF.
    assert!(
        page.contains(&format!(
            r#"<img class="invoice-page" src="/console/preview.png?job={id}""#
        )),
        "{page}"
    );
    // Narrower than a phone's screen without a style attribute (the CSP refuses inline ones).
    assert!(
        page.contains(r#"sizes="(max-width: 38rem) calc(100vw - 2.5rem), 595px""#),
        "{page}"
    );
    let res = c
        .get(&client, &format!("/console/preview.png?job={id}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = res.bytes().await.unwrap();
    let (width, height) = png_size(&png);
    assert_eq!((width, height), (1191, 1684), "A4 at 2 pixels per point");
    let res = c
        .get(&client, &format!("/console/preview.pdf?job={id}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(read_pdf::text(&pdf).contains("5120"));

    let csrf = csrf_of(&page);
    let res = upload(
        &c,
        &client,
        &csrf,
        "acme-woo",
        fixture("woocommerce/order-updated-paid-eur.json"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap();
    assert!(
        read_pdf::text(&pdf).contains("FA-2026-0042"),
        "the uploaded order"
    );
}

#[tokio::test]
async fn a_bad_upload_says_why_and_only_the_users_stores_preview() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    let page = c
        .page(&client, "/console/preview?store=acme-woo", StatusCode::OK)
        .await;
    let csrf = csrf_of(&page);
    for (body, why) in [
        (b"{not json".to_vec(), "not a woocommerce order"),
        (vec![b' '; 1024 * 1024 + 1], "larger than 1 MiB"),
    ] {
        let res = upload(&c, &client, &csrf, "acme-woo", body).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = res.text().await.unwrap();
        assert!(text.contains(why), "{why}: {text}");
    }
    // Without the CSRF token: refused before anything is read.
    let res = upload(
        &c,
        &client,
        "",
        "acme-woo",
        fixture("woocommerce/order-updated-paid-eur.json"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    shopify_order(&c).await;
    let atlas = job_ids(&c, "atlas-shopify").await[0];
    let viewer = c.signed_in(VIEWER).await;
    let page = c
        .page(&viewer, "/console/preview?store=acme-woo", StatusCode::OK)
        .await;
    assert!(!page.contains("atlas-shopify"), "{page}");
    let csrf = csrf_of(&page);
    let res = upload(
        &c,
        &viewer,
        &csrf,
        "atlas-shopify",
        fixture("shopify/orders-paid-mad.json"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = c
        .get(&viewer, &format!("/console/preview.pdf?job={atlas}"))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // The page's image answers as the PDF does: another store's job is not found, nor is a
    // job that does not exist or a missing id; the viewer's own store's job is shown.
    for path in [
        format!("/console/preview.png?job={atlas}"),
        "/console/preview.png?job=999999".to_owned(),
        "/console/preview.png?job=x".to_owned(),
        "/console/preview.png".to_owned(),
    ] {
        let res = c.get(&viewer, &path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    woo_order(&c, "5121", None).await;
    let own = job_ids(&c, "acme-woo").await[0];
    let res = c
        .get(&viewer, &format!("/console/preview.png?job={own}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    let operator = c.signed_in(OPERATOR).await;
    let res = c
        .get(&operator, &format!("/console/preview.png?job={atlas}"))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "an operator of every store sees it"
    );
}

/// Width and height from the PNG's IHDR chunk (right after the 8-byte signature).
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}
