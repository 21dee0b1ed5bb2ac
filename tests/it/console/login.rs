//! Signing in and out: the password, the cookie's flags, limits on failures, expiry, and the
//! password hashes `shopbip console hash-password` prints.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use super::{OPERATOR, VIEWER, browser, browser_from, set_cookie, start};
use crate::common::db;

#[tokio::test]
async fn a_wrong_password_is_refused_and_the_right_one_sets_a_strict_session_cookie() {
    let c = start(|_| {}).await;
    let client = browser();
    let res = c.login(&client, OPERATOR.0, "not-the-password").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&res, "shopbip_session").is_none());
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong name or password.")
    );
    // An unknown name gets the same answer.
    let res = c.login(&client, "nobody", OPERATOR.1).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    c.page(&client, "/console", StatusCode::SEE_OTHER).await;

    let res = c.login(&client, OPERATOR.0, OPERATOR.1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/console");
    let cookie = set_cookie(&res, "shopbip_session").expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "allow_plain_http: {cookie}");
    let token = cookie["shopbip_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    assert_eq!(token.len(), 43, "32 bytes, base64url");
    // Only the token's hash is stored.
    let stored = db::text(&c.app.db_url, "SELECT token_sha256 FROM console_sessions").await;
    assert_ne!(stored, token);
    assert_eq!(stored.len(), 64);
    let page = c.page(&client, "/console", StatusCode::OK).await;
    assert!(
        page.contains("acme-woo") && page.contains("atlas-shopify"),
        "{page}"
    );
}

#[tokio::test]
async fn the_session_cookie_is_secure_unless_plain_http_is_allowed() {
    let c = start(|s| s.console.allow_plain_http = false).await;
    let res = c.login(&browser(), VIEWER.0, VIEWER.1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&res, "shopbip_session").unwrap();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
}

#[tokio::test]
async fn logout_ends_the_session_even_for_a_kept_cookie() {
    let c = start(|_| {}).await;
    let client = browser();
    let res = c.login(&client, OPERATOR.0, OPERATOR.1).await;
    let cookie = set_cookie(&res, "shopbip_session").unwrap();
    let kept = cookie.split(';').next().unwrap().to_owned();
    let page = c.page(&client, "/console", StatusCode::OK).await;
    let res = client
        .post(c.url("/console/logout"))
        .form(&[("csrf", super::csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/console/login");
    assert_eq!(c.app.count("console_sessions").await, 0);
    // A browser that kept the old cookie is not let in.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(c.url("/console"))
        .header("cookie", kept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/console/login");
}

#[tokio::test]
async fn an_expired_session_no_longer_works_and_is_purged_at_the_next_sign_in() {
    let c = start(|_| {}).await;
    let client = c.signed_in(OPERATOR).await;
    c.page(&client, "/console", StatusCode::OK).await;
    db::exec(
        &c.app.db_url,
        "UPDATE console_sessions SET expires_at = created_at",
    )
    .await;
    let res = c.get(&client, "/console/stores/acme-woo").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/console/login?next=%2Fconsole%2Fstores%2Facme-woo"
    );
    c.signed_in(VIEWER).await;
    assert_eq!(
        c.app.count("console_sessions").await,
        1,
        "the expired one is gone"
    );
}

#[tokio::test]
async fn sessions_last_session_hours() {
    let c = start(|s| s.console.session_hours = 3).await;
    let client = c.signed_in(OPERATOR).await;
    c.page(&client, "/console", StatusCode::OK).await;
    let length = db::scalar(
        &c.app.db_url,
        "SELECT expires_at - created_at FROM console_sessions",
    )
    .await;
    assert_eq!(length, 3 * 3_600_000);
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

#[tokio::test]
async fn five_failures_for_a_name_lock_that_name_from_anywhere() {
    let c = start(|_| {}).await;
    let guesser = browser_from(ip("127.0.0.2"));
    for _ in 0..5 {
        let res = c.login(&guesser, OPERATOR.0, "guess").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // The right password, from another address: the name is locked.
    let elsewhere = browser_from(ip("127.0.0.3"));
    let res = c.login(&elsewhere, OPERATOR.0, OPERATOR.1).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.text().await.unwrap().contains("Too many attempts"));
    // Another name from that address is not.
    let res = c.login(&elsewhere, VIEWER.0, VIEWER.1).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn five_failures_from_an_address_lock_that_address() {
    let c = start(|_| {}).await;
    let guesser = browser_from(ip("127.0.0.4"));
    for n in 0..5 {
        let res = c.login(&guesser, &format!("guess{n}"), "guess").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = c.login(&guesser, OPERATOR.0, OPERATOR.1).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookie(&res, "shopbip_session").is_none());
    let res = c
        .login(&browser_from(ip("127.0.0.5")), OPERATOR.0, OPERATOR.1)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[test]
fn hash_password_prints_an_argon2id_hash_of_the_password_on_stdin() {
    let run = |stdin: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shopbip"))
            .args(["console", "hash-password"])
            .env("SHOPBIP__LOG__LEVEL", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(b"pass word 1\n");
    assert!(out.status.success(), "{out:?}");
    let hash = String::from_utf8(out.stdout).unwrap();
    let hash = hash.trim_end();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(shopbip::settings::verify_password("pass word 1", hash));
    assert!(!shopbip::settings::verify_password("pass word", hash));
    let out = run(b"\n");
    assert_eq!(out.status.code(), Some(1), "an empty password: {out:?}");
    assert!(out.stdout.is_empty());
}
