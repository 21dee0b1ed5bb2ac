//! The opt-out page of a store: an operator lists, adds and removes numbers (masked, read with
//! the store's country); a viewer only sees; another store's page is a 404; a POST needs the
//! session's CSRF token.

use reqwest::StatusCode;

use super::{OPERATOR, VIEWER, csrf_of, start};
use crate::common::db;

#[tokio::test]
async fn an_operator_manages_a_stores_opt_outs_and_a_viewer_only_sees_them() {
    let c = start(|_| {}).await;
    let operator = c.signed_in(OPERATOR).await;
    let page = c
        .page(
            &operator,
            "/console/stores/acme-woo/optouts",
            StatusCode::OK,
        )
        .await;
    assert!(page.contains("Nobody has opted out."), "{page}");
    let overview = c.page(&operator, "/console", StatusCode::OK).await;
    assert!(overview.contains(r#"href="/console/stores/acme-woo/optouts""#));
    let csrf = csrf_of(&page);

    // Without the token: refused, nothing listed.
    let res = operator
        .post(c.url("/console/stores/acme-woo/optouts"))
        .form(&[("phone", "96 816 277")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(c.app.count("optouts").await, 0);

    let res = operator
        .post(c.url("/console/stores/acme-woo/optouts"))
        .form(&[("phone", "96 816 277"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let phone = db::text(&c.app.db_url, "SELECT phone FROM optouts").await;
    assert_eq!(phone, "+21696816277", "read with the store's country (TN)");
    let page = c
        .page(
            &operator,
            "/console/stores/acme-woo/optouts?note=added",
            StatusCode::OK,
        )
        .await;
    assert!(page.contains("Added to the opt-out list."), "{page}");
    assert!(page.contains("manual"), "{page}");
    assert!(
        !page.contains("816277") || page.matches("816277").count() == 1,
        "only the hidden field of the remove form holds it"
    );

    // A viewer of the store sees the list, masked, and can change nothing.
    let viewer = c.signed_in(VIEWER).await;
    let seen = c
        .page(&viewer, "/console/stores/acme-woo/optouts", StatusCode::OK)
        .await;
    assert!(seen.contains("manual"), "{seen}");
    assert!(
        !seen.contains("816277"),
        "no full number for a viewer: {seen}"
    );
    assert!(!seen.contains(r#"name="phone""#), "no form for a viewer");
    let viewer_csrf = csrf_of(&c.page(&viewer, "/console", StatusCode::OK).await);
    let res = viewer
        .post(c.url("/console/stores/acme-woo/optouts/remove"))
        .form(&[("phone", "+21696816277"), ("csrf", &viewer_csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(c.app.count("optouts").await, 1);
    // Another store's list is a 404, the same as one that does not exist.
    for path in [
        "/console/stores/atlas-shopify/optouts",
        "/console/stores/nowhere/optouts",
    ] {
        let res = c.get(&viewer, path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // The remove button names the number by a key, not the number.
    let page = c
        .page(
            &operator,
            "/console/stores/acme-woo/optouts",
            StatusCode::OK,
        )
        .await;
    let key = page
        .split(r#"name="key" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a remove form")
        .to_owned();
    let res = operator
        .post(c.url("/console/stores/acme-woo/optouts/remove"))
        .form(&[("key", key.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(c.app.count("optouts").await, 0);
}
