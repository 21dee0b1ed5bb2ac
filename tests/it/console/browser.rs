//! The console in a real headless Chromium (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs): what a merchant does with a mouse, on the real server and database.
//! `cargo test` leaves these out (ignored); `.ci/run` runs them.
//!
//! With `SHOPBIP_SCREENSHOTS=<dir>` set, the pages are saved there as PNG: the README's
//! screenshots are made so (`SHOPBIP_SCREENSHOTS=docs/console cargo test --test it --
//! --ignored console::browser`), and stay true to what the console shows.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Console, OPERATOR, VIEWER, start};
use crate::common::browser::Browser;

/// Saves the viewport as `<name>.png` where `SHOPBIP_SCREENSHOTS` says, if it says.
async fn screenshot(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("SHOPBIP_SCREENSHOTS") {
        let mut path = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        path.push(dir);
        path.push(format!("{name}.png"));
        browser.screenshot(&path).await;
    }
}

/// Opens `path`, lets the console send the browser to its login form, and signs in there.
async fn sign_in(browser: &Browser, console: &Console, (name, password): (&str, &str)) {
    browser.goto(&console.url("/console")).await;
    assert!(
        browser.current_url().await.contains("/console/login"),
        "a browser without a session is sent to the login form, not {}",
        browser.current_url().await
    );
    browser
        .fill(&browser.find("input[name=name]").await, name)
        .await;
    browser
        .fill(&browser.find("input[name=password]").await, password)
        .await;
    browser
        .click(&browser.find("form[action='/console/login'] button").await)
        .await;
    assert!(
        browser
            .wait_for_text("/console/logout", Duration::from_secs(10), false)
            .await,
        "{name} is signed in (the page has the logout form)"
    );
}

/// `fetch` from the page, with the browser's own cookies; the answer's status and body.
async fn fetch(browser: &Browser, method: &str, path: &str, form: Option<&str>) -> (u16, String) {
    let answer = browser
        .execute(
            "const [method, path, form] = arguments;
             const init = {method, credentials: 'same-origin', redirect: 'manual'};
             if (form !== null) {
               init.body = form;
               init.headers = {'content-type': 'application/x-www-form-urlencoded'};
             }
             return fetch(path, init).then(async r => [r.status, await r.text()]);",
            vec![
                json!(method),
                json!(path),
                form.map_or(Value::Null, |f| json!(f)),
            ],
        )
        .await;
    (
        answer[0].as_u64().unwrap_or_default() as u16,
        answer[1].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (Debian's chromium, chromium-driver)"]
async fn an_operator_signs_in_sees_every_store_and_signs_out() {
    let console = start(|_| {}).await;
    let browser = Browser::start("en").await;
    sign_in(&browser, &console, OPERATOR).await;

    let stores: Vec<String> = {
        let mut ids = Vec::new();
        for row in browser.find_all("tr[data-store]").await {
            ids.push(browser.attribute(&row, "data-store").await.unwrap());
        }
        ids
    };
    assert_eq!(
        stores,
        ["acme-woo", "atlas-shopify"],
        "the overview lists both stores"
    );
    let html = browser.source().await;
    assert!(
        html.contains(&format!("{}/webhooks/acme-woo", console.app.base)),
        "the webhook URL to paste into the shop is shown"
    );
    let cookie = browser
        .cookies()
        .await
        .into_iter()
        .find(|c| c["httpOnly"] == true)
        .expect("the session cookie is HttpOnly");
    assert_eq!(cookie["sameSite"], "Strict");
    screenshot(&browser, "overview").await;

    browser
        .click(&browser.find("form[action='/console/logout'] button").await)
        .await;
    browser.goto(&console.url("/console")).await;
    assert!(
        browser.current_url().await.contains("/console/login"),
        "after logout the console asks to sign in again"
    );
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (Debian's chromium, chromium-driver)"]
async fn a_post_without_the_csrf_token_is_refused() {
    let console = start(|_| {}).await;
    let browser = Browser::start("en").await;
    sign_in(&browser, &console, OPERATOR).await;

    let (status, _) = fetch(&browser, "POST", "/console/logout", Some("")).await;
    assert_eq!(status, 403, "logout without the token");
    let (status, _) = fetch(&browser, "POST", "/console/logout", Some("csrf=forged")).await;
    assert_eq!(status, 403, "logout with a wrong token");
    browser.goto(&console.url("/console")).await;
    assert!(
        browser.find_all("tr[data-store]").await.len() == 2,
        "the refused posts did nothing: still signed in"
    );
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (Debian's chromium, chromium-driver)"]
async fn a_viewer_sees_only_their_store_and_gets_404_for_another() {
    let console = start(|_| {}).await;
    let browser = Browser::start("en").await;
    sign_in(&browser, &console, VIEWER).await;

    let rows = browser.find_all("tr[data-store]").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        browser.attribute(&rows[0], "data-store").await.as_deref(),
        Some("acme-woo")
    );
    let (own, _) = fetch(&browser, "GET", "/console/stores/acme-woo", None).await;
    assert_eq!(own, 200);
    let (other, _) = fetch(&browser, "GET", "/console/stores/atlas-shopify", None).await;
    let (missing, _) = fetch(&browser, "GET", "/console/stores/no-such-store", None).await;
    assert_eq!(other, 404, "another store's page");
    assert_eq!(
        missing, 404,
        "the same answer as for a store that does not exist"
    );
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (Debian's chromium, chromium-driver)"]
async fn the_arabic_console_reads_right_to_left() {
    let console = start(|_| {}).await;
    let browser = Browser::start("ar").await;
    sign_in(&browser, &console, OPERATOR).await;

    let layout = browser
        .execute(
            "return [document.documentElement.lang, document.documentElement.dir,
                     getComputedStyle(document.body).direction];",
            vec![],
        )
        .await;
    assert_eq!(
        layout,
        json!(["ar", "rtl", "rtl"]),
        "chosen from Accept-Language"
    );
    screenshot(&browser, "overview-ar").await;

    // The switch wins over the browser's language, and is remembered.
    browser.goto(&console.url("/console?lang=fr")).await;
    browser.goto(&console.url("/console")).await;
    let layout = browser
        .execute(
            "return [document.documentElement.lang, getComputedStyle(document.body).direction];",
            vec![],
        )
        .await;
    assert_eq!(layout, json!(["fr", "ltr"]));
    browser.close().await;
}
