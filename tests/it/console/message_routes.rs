//! Every route of the message pages and the preview, as a stranger and without the CSRF token:
//! a page sends a stranger to the login form (and back), a POST is refused with 403 and nothing
//! is done, whoever sends it.

use reqwest::StatusCode;

use super::messages::{job_ids, woo_order};
use super::{OPERATOR, browser, start};

#[tokio::test]
async fn strangers_and_posts_without_the_csrf_token_get_nothing() {
    let c = start(|_| {}).await;
    woo_order(&c, "5120", None).await;
    c.app.service.run_pending_jobs().await.unwrap();
    let id = job_ids(&c, "acme-woo").await[0];
    let stranger = browser();
    for path in [
        "/console/messages".to_owned(),
        "/console/messages?state=dead".to_owned(),
        "/console/messages.csv".to_owned(),
        format!("/console/messages/{id}"),
        format!("/console/messages/{id}/invoice.pdf"),
        "/console/preview".to_owned(),
        format!("/console/preview.pdf?job={id}"),
    ] {
        let res = c.get(&stranger, &path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "GET {path}");
        let to = res.headers()["location"].to_str().unwrap();
        assert!(
            to.starts_with("/console/login?next=%2Fconsole%2F"),
            "{path}: {to}"
        );
        assert!(
            res.text().await.unwrap().is_empty(),
            "{path}: nothing of the page"
        );
    }
    let operator = c.signed_in(OPERATOR).await;
    let posts = [
        format!("/console/messages/{id}/replay"),
        format!("/console/messages/{id}/retry-now"),
        "/console/messages/retry-dead".to_owned(),
        "/console/preview?store=acme-woo".to_owned(),
    ];
    for client in [&stranger, &operator] {
        for path in &posts {
            let res = client
                .post(c.url(path))
                .form(&[("store", "acme-woo")])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {path}");
        }
    }
    let state = crate::common::db::text(
        &c.app.db_url,
        &format!("SELECT state FROM jobs WHERE id = {id}"),
    )
    .await;
    assert_eq!(state, "done", "nothing was replayed");
    assert_eq!(c.app.sandbox.accepted_sends(0).await.len(), 1);
}
