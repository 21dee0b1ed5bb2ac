//! Who gets what: the console off, strangers, CSRF, viewers of one store, languages.

use reqwest::StatusCode;

use super::{Console, OPERATOR, VIEWER, browser, csrf_of, set_cookie, start};
use crate::common::app::spawn_app;

#[tokio::test]
async fn the_console_is_off_without_users() {
    let app = spawn_app().await;
    let client = browser();
    for path in [
        "/console",
        "/console/",
        "/console/login",
        "/console/stores/acme-woo",
        "/console/assets/console.css",
    ] {
        let res = client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "GET {path}");
    }
    let res = client
        .post(format!("{}/console/login", app.base))
        .form(&[("name", "ana"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn strangers_are_sent_to_the_login_form_and_their_posts_refused() {
    let c = start(|_| {}).await;
    let client = browser();
    for (path, next) in [
        ("/console", None),
        (
            "/console/stores/atlas-shopify",
            Some("%2Fconsole%2Fstores%2Fatlas-shopify"),
        ),
        (
            "/console/no-such-page?x=1",
            Some("%2Fconsole%2Fno-such-page%3Fx%3D1"),
        ),
    ] {
        let res = c.get(&client, path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "GET {path}");
        let expected = match next {
            Some(n) => format!("/console/login?next={n}"),
            None => "/console/login".to_owned(),
        };
        assert_eq!(res.headers()["location"], expected.as_str());
    }
    let res = client
        .post(c.url("/console/logout"))
        .form(&[("csrf", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The assets need no session (the login page uses them).
    let page = c.page(&client, "/console/login", StatusCode::OK).await;
    let css = page
        .split('"')
        .find(|s| s.starts_with("/console/assets/console-"))
        .unwrap()
        .to_owned();
    let res = c.get(&client, &css).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
}

#[tokio::test]
async fn a_post_without_or_with_a_wrong_csrf_token_is_refused_and_does_nothing() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    let page = c.page(&client, "/console", StatusCode::OK).await;
    let csrf = csrf_of(&page);
    let logout = c.url("/console/logout");
    let refused = [
        client.post(&logout).form(&[("other", "x")]),
        client.post(&logout).form(&[("csrf", "")]),
        client.post(&logout).form(&[("csrf", format!("{csrf}x"))]),
        client.post(&logout).header("x-csrf-token", "wrong"),
        client.post(&logout).body(format!("csrf={csrf}")),
    ];
    for (n, req) in refused.into_iter().enumerate() {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "attempt {n}");
    }
    // Still signed in: none of them logged out.
    c.page(&client, "/console", StatusCode::OK).await;
    assert_eq!(c.app.count("console_sessions").await, 1);
    // The login form has its own token: a post without it is refused too.
    let res = browser()
        .post(c.url("/console/login"))
        .form(&[("name", OPERATOR.0), ("password", OPERATOR.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The header works as the field does.
    let res = client
        .post(&logout)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(c.app.count("console_sessions").await, 0);
}

async fn overview_stores(c: &Console, client: &reqwest::Client) -> Vec<String> {
    let page = c.page(client, "/console", StatusCode::OK).await;
    page.split(r#"data-store=""#)
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

#[tokio::test]
async fn a_viewer_of_one_store_sees_only_it_and_gets_404_for_another() {
    let c = start(|_| {}).await;
    let viewer = c.signed_in(VIEWER).await;
    assert_eq!(overview_stores(&c, &viewer).await, ["acme-woo"]);
    let page = c.page(&viewer, "/console", StatusCode::OK).await;
    assert!(!page.contains("atlas-shopify"), "{page}");
    c.page(&viewer, "/console/stores/acme-woo", StatusCode::OK)
        .await;
    let other = c
        .page(
            &viewer,
            "/console/stores/atlas-shopify",
            StatusCode::NOT_FOUND,
        )
        .await;
    let missing = c
        .page(
            &viewer,
            "/console/stores/no-such-store",
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_eq!(
        other, missing,
        "another store's page looks like no page at all"
    );
    c.page(&viewer, "/console/nothing-here", StatusCode::NOT_FOUND)
        .await;

    let operator = c.signed_in(OPERATOR).await;
    assert_eq!(
        overview_stores(&c, &operator).await,
        ["acme-woo", "atlas-shopify"]
    );
    c.page(&operator, "/console/stores/atlas-shopify", StatusCode::OK)
        .await;
}

#[tokio::test]
async fn the_language_follows_the_switch_then_the_browser_and_arabic_is_right_to_left() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    let page = c.page(&client, "/console", StatusCode::OK).await;
    assert!(page.contains(r#"<html lang="en" dir="ltr">"#), "{page}");
    let res = client
        .get(c.url("/console"))
        .header("accept-language", "de-DE, fr;q=0.8, en;q=0.5")
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains(r#"<html lang="fr" dir="ltr">"#), "{page}");
    assert!(page.contains("Boutiques"));

    let res = c.get(&client, "/console?lang=ar").await;
    assert!(
        set_cookie(&res, "shopbip_lang")
            .unwrap()
            .starts_with("shopbip_lang=ar")
    );
    let page = res.text().await.unwrap();
    assert!(page.contains(r#"<html lang="ar" dir="rtl">"#), "{page}");
    assert!(page.contains("المتاجر"));
    // Remembered, over the browser's own preference.
    let res = client
        .get(c.url("/console"))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains(r#"dir="rtl""#));
    // The login page too.
    let page = c
        .page(&browser(), "/console/login?lang=ar", StatusCode::OK)
        .await;
    assert!(page.contains(r#"<html lang="ar" dir="rtl">"#), "{page}");
}

#[tokio::test]
async fn console_pages_are_not_cached_framed_or_scripted_inline() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    let res = c.get(&client, "/console").await;
    let h = res.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn an_htmx_request_after_the_session_ended_sends_the_whole_page_to_the_login_form() {
    let c = start(|_| {}).await;
    let res = browser()
        .get(c.url("/console"))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["hx-redirect"], "/console/login");
}
