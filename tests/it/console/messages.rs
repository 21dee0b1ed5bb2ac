//! The message list over loopback: signed webhooks become rows, the filters and the search pick
//! the right ones, the CSV export holds the same rows masked, and a viewer of one store never
//! sees another's — not in the list, not in the CSV, not with `store=` in the query.

use reqwest::StatusCode;
use serde_json::Value;
use shopbip::order::EventKind;

use super::{Console, OPERATOR, VIEWER, start};
use crate::common::app::{SHOPIFY_SECRET, WOO_SECRET};
use crate::common::sign::{fixture, shopify_headers, woo_headers};

/// A paid WooCommerce order of `acme-woo` numbered `number`, its phone ending in `phone`
/// (the fixture's own digits when `None`).
pub async fn woo_order(c: &Console, number: &str, phone: Option<&str>) {
    let mut order: Value =
        serde_json::from_slice(&fixture("woocommerce/order-updated-paid-tnd.json")).unwrap();
    order["id"] = number.parse::<u64>().unwrap().into();
    order["number"] = number.into();
    if let Some(p) = phone {
        order["billing"]["phone"] = p.into();
    }
    let body = serde_json::to_vec(&order).unwrap();
    let headers = woo_headers(WOO_SECRET, "order.updated", &body, &format!("d-{number}"));
    let res = c.app.post("acme-woo", &headers, body).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}

/// The paid Shopify order `#1042` of `atlas-shopify`.
pub async fn shopify_order(c: &Console) {
    let body = fixture("shopify/orders-paid-mad.json");
    let headers = shopify_headers(SHOPIFY_SECRET, "orders/paid", &body, "w-1042");
    let res = c.app.post("atlas-shopify", &headers, body).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}

/// The Shopify order `#1042` of `atlas-shopify` as created (an `order.created` job).
pub async fn shopify_created(c: &Console) {
    let body = fixture("shopify/orders-create-mad.json");
    let headers = shopify_headers(SHOPIFY_SECRET, "orders/create", &body, "w-1042-c");
    let res = c.app.post("atlas-shopify", &headers, body).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
}

/// The job ids listed on a page (its rows' `data-job`), in order.
pub fn listed(page: &str) -> Vec<i64> {
    page.split(r#"data-job=""#)
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The ids of the jobs of `store`, newest first.
pub async fn job_ids(c: &Console, store: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = c
        .app
        .jobs()
        .await
        .into_iter()
        .filter(|j| j.store_id == store)
        .map(|j| j.id)
        .collect();
    ids.sort_by(|a, b| b.cmp(a));
    ids
}

#[tokio::test]
async fn a_signed_webhook_appears_in_the_list_once_its_job_ran() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    let empty = c.page(&client, "/console/messages", StatusCode::OK).await;
    assert!(listed(&empty).is_empty(), "{empty}");

    woo_order(&c, "5120", None).await;
    assert_eq!(c.app.service.run_pending_jobs().await.unwrap(), 1);
    let page = c.page(&client, "/console/messages", StatusCode::OK).await;
    let ids = job_ids(&c, "acme-woo").await;
    assert_eq!(listed(&page), ids);
    let row = &page[page.find("data-job=").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    for expected in [
        "acme-woo",
        &format!(r#"href="/console/messages/{}">5120</a>"#, ids[0]),
        "أميرة",
        "order.paid",
        "1289",
        "state-done",
    ] {
        assert!(row.contains(expected), "{expected} in {row}");
    }
    // The phone masked: its country code and last digits, not the whole number.
    assert!(row.contains("••277"), "{row}");
    assert!(
        !row.contains("96816277") && !row.contains("96 816 277"),
        "{row}"
    );
    // In the user's language, Arabic right to left.
    let fr = c
        .page(&client, "/console/messages?lang=fr", StatusCode::OK)
        .await;
    assert!(
        fr.contains("Exporter en CSV") && fr.contains("Boutique"),
        "{fr}"
    );
    let ar = c
        .page(&client, "/console/messages?lang=ar", StatusCode::OK)
        .await;
    assert!(
        ar.contains(r#"dir="rtl""#) && ar.contains("تصدير بصيغة CSV"),
        "{ar}"
    );
}

#[tokio::test]
async fn filters_and_search_pick_the_right_rows() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    woo_order(&c, "5120", None).await;
    woo_order(&c, "5121", Some("+216 20 555 918")).await;
    shopify_order(&c).await;
    shopify_created(&c).await;
    let woo = job_ids(&c, "acme-woo").await;
    let atlas = job_ids(&c, "atlas-shopify").await;
    assert_eq!(woo.len(), 2);
    assert!(!atlas.is_empty());
    // One job dead, the rest still queued.
    let dead = woo[1];
    crate::common::db::exec(
        &c.app.db_url,
        &format!(
            "UPDATE jobs SET state = 'dead', last_error = 'upstream said no' WHERE id = {dead}"
        ),
    )
    .await;

    let ids = |path: &'static str| {
        let (c, client) = (&c, &client);
        async move { listed(&c.page(client, path, StatusCode::OK).await) }
    };
    assert_eq!(ids("/console/messages?store=acme-woo").await, woo);
    assert_eq!(ids("/console/messages?store=atlas-shopify").await, atlas);
    assert_eq!(ids("/console/messages?state=dead").await, vec![dead]);
    let dead_page = c
        .page(&client, "/console/messages?state=dead", StatusCode::OK)
        .await;
    assert!(dead_page.contains("upstream said no"), "the reason shown");
    assert_eq!(
        ids("/console/messages?store=acme-woo&state=queued").await,
        vec![woo[0]]
    );
    for kind in [EventKind::OrderPaid, EventKind::OrderCreated] {
        let mut expected: Vec<i64> = c
            .app
            .jobs()
            .await
            .iter()
            .filter(|j| j.kind == kind)
            .map(|j| j.id)
            .collect();
        expected.sort_by(|a, b| b.cmp(a));
        assert!(!expected.is_empty(), "a job of {kind}");
        let path = format!("/console/messages?event={}", kind.as_str());
        assert_eq!(
            listed(&c.page(&client, &path, StatusCode::OK).await),
            expected
        );
    }
    // Search: the order number, the order name, the phone's last digits.
    assert_eq!(ids("/console/messages?q=5121").await, vec![woo[0]]);
    assert_eq!(ids("/console/messages?q=%231042").await, atlas);
    assert_eq!(ids("/console/messages?q=555918").await, vec![woo[0]]);
    assert_eq!(ids("/console/messages?q=816277").await, vec![woo[1]]);
    // Dates: today holds everything, a day long past nothing.
    let today = &shopbip::http::admin::view::rfc3339_ms(shopbip::clock::now_ms())[..10];
    let all = ids("/console/messages").await;
    assert_eq!(all.len(), woo.len() + atlas.len());
    let path = format!("/console/messages?from={today}&to={today}");
    assert_eq!(listed(&c.page(&client, &path, StatusCode::OK).await), all);
    assert!(ids("/console/messages?to=2020-01-01").await.is_empty());
    // A malformed filter is refused, not ignored.
    c.page(
        &client,
        "/console/messages?state=bogus",
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn pages_follow_the_cursor_keeping_the_filters() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    for n in 0..55 {
        woo_order(&c, &(6000 + n).to_string(), None).await;
    }
    let first = c
        .page(&client, "/console/messages?store=acme-woo", StatusCode::OK)
        .await;
    assert_eq!(listed(&first).len(), 50);
    let at = first.find(r#"rel="next" href=""#).expect("an older link");
    let href = &first[at + r#"rel="next" href=""#.len()..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    assert!(
        href.starts_with("/console/messages?store=acme-woo&before="),
        "{href}"
    );
    let second = c.page(&client, &href, StatusCode::OK).await;
    let (a, b) = (listed(&first), listed(&second));
    assert_eq!(b.len(), 5);
    assert!(a.last().unwrap() > b.first().unwrap(), "older rows follow");
    assert!(!second.contains(r#"rel="next""#), "the last page");
}

#[tokio::test]
async fn the_csv_holds_the_filtered_rows_masked_and_quoted() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    woo_order(&c, "5120", None).await;
    shopify_order(&c).await;
    let res = c.get(&client, "/console/messages.csv?store=acme-woo").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,created_at,store,"), "{csv}");
    assert_eq!(lines.len(), 2, "the header and one row: {csv}");
    let id = job_ids(&c, "acme-woo").await[0];
    assert!(lines[1].starts_with(&format!("{id},")), "{csv}");
    assert!(
        lines[1].contains(",acme-woo,5120,5120,أميرة,968••277,order.paid,"),
        "masked: {csv}"
    );
    assert!(
        !csv.contains("96816277") && !csv.contains("atlas-shopify"),
        "{csv}"
    );
    // A cell with a comma is quoted.
    crate::common::db::exec(
        &c.app.db_url,
        &format!("UPDATE jobs SET last_error = 'no, \"never\"' WHERE id = {id}"),
    )
    .await;
    let csv = c
        .get(&client, "/console/messages.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains(r#","no, ""never""","#), "{csv}");
    let page = c.page(&client, "/console/messages", StatusCode::OK).await;
    let csv_ids: Vec<i64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(csv_ids, listed(&page), "the same rows as the list");
    assert!(
        csv.contains("atlas-shopify"),
        "no filter: every store: {csv}"
    );
}

#[tokio::test]
async fn a_viewer_never_sees_another_stores_rows() {
    let c = start(|_| {}).await;
    woo_order(&c, "5120", None).await;
    shopify_order(&c).await;
    let atlas = job_ids(&c, "atlas-shopify").await;
    let woo = job_ids(&c, "acme-woo").await;
    let viewer = c.signed_in(VIEWER).await;

    let page = c.page(&viewer, "/console/messages", StatusCode::OK).await;
    assert_eq!(listed(&page), woo);
    assert!(
        !page.contains("atlas-shopify"),
        "not even in the store filter"
    );
    for path in [
        "/console/messages?store=atlas-shopify",
        "/console/messages.csv?store=atlas-shopify",
        "/console/messages?store=atlas-shopify&state=queued",
    ] {
        let res = c.get(&viewer, path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "GET {path}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("1042"), "{path}: {body}");
    }
    // A search matching only the other store's order finds nothing.
    let page = c
        .page(&viewer, "/console/messages?q=1042", StatusCode::OK)
        .await;
    assert!(listed(&page).is_empty(), "{page}");
    let csv = c
        .get(&viewer, "/console/messages.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 1 + woo.len(), "{csv}");
    assert!(!csv.contains("atlas-shopify"), "{csv}");
    for id in atlas {
        assert!(!csv.starts_with(&format!("{id},")) && !csv.contains(&format!("\n{id},")));
    }
}
