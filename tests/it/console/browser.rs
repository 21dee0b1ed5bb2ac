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

use shopbip::sandbox::{Fault, FaultKind, FaultTarget};

use super::{Console, OPERATOR, VIEWER, start};
use crate::common::app::{SHOPIFY_SECRET, WOO_SECRET};
use crate::common::browser::Browser;
use crate::common::sign::{fixture, shopify_headers, woo_headers};

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
    // A click does not wait for the POST it starts: the sign-in form it leads to says it is
    // done (going to /console before would race the logout).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !browser.current_url().await.contains("/console/login") {
        assert!(
            std::time::Instant::now() < deadline,
            "the logout leads to the sign-in form"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

    // A message of each store: the viewer's list and CSV hold theirs only, and every URL of
    // the other store's message is the same 404 as a job that does not exist.
    let woo = fixture("woocommerce/order-updated-paid-tnd.json");
    let headers = woo_headers(WOO_SECRET, "order.updated", &woo, "viewer-woo");
    assert_eq!(
        console.app.post("acme-woo", &headers, woo).await.status(),
        200
    );
    let shop = fixture("shopify/orders-paid-mad.json");
    let headers = shopify_headers(SHOPIFY_SECRET, "orders/paid", &shop, "viewer-shop");
    assert_eq!(
        console
            .app
            .post("atlas-shopify", &headers, shop)
            .await
            .status(),
        200
    );
    let jobs = console.app.jobs().await;
    let id_of = |store: &str| {
        jobs.iter()
            .find(|j| j.store_id == store)
            .unwrap_or_else(|| panic!("a job of {store}"))
            .id
            .to_string()
    };
    let (own, other) = (id_of("acme-woo"), id_of("atlas-shopify"));
    browser.goto(&console.url("/console/messages")).await;
    assert_eq!(
        listed_jobs(&browser).await,
        std::slice::from_ref(&own),
        "the list"
    );
    let (_, csv) = fetch(&browser, "GET", "/console/messages.csv", None).await;
    assert_eq!(
        csv.lines().count(),
        2,
        "the CSV: a header and their one row: {csv}"
    );
    assert!(
        csv.contains("acme-woo") && !csv.contains("atlas-shopify"),
        "{csv}"
    );
    for path in [
        format!("/console/messages/{other}"),
        format!("/console/messages/{other}/invoice.pdf"),
        "/console/messages?store=atlas-shopify".to_owned(),
        "/console/messages.csv?store=atlas-shopify".to_owned(),
    ] {
        let (status, _) = fetch(&browser, "GET", &path, None).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = fetch(&browser, "GET", "/console/messages/999999", None).await;
    assert_eq!(status, 404, "a job that does not exist");
    let (status, _) = fetch(&browser, "GET", &format!("/console/messages/{own}"), None).await;
    assert_eq!(status, 200, "their own message");
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

/// The rows of the message list now shown, as their job ids.
async fn listed_jobs(browser: &Browser) -> Vec<String> {
    let mut ids = Vec::new();
    for row in browser.find_all("tr[data-job]").await {
        ids.push(browser.attribute(&row, "data-job").await.unwrap());
    }
    ids
}

async fn sends(console: &Console) -> usize {
    let calls = console
        .app
        .sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates");
    calls.await.unwrap().len()
}

#[tokio::test]
#[ignore = "needs chromium and chromedriver (Debian's chromium, chromium-driver)"]
async fn a_webhook_appears_in_the_list_and_a_dead_message_is_replayed_to_one_more_send() {
    // No workers: the test runs the jobs when it wants them run.
    let console = start(|_| {}).await;
    console
        .app
        .sandbox
        .control
        .add_fault(&Fault {
            on: FaultTarget::Send,
            kind: FaultKind::JsendFail {
                message: "Template is not approved".into(),
            },
            times: 1,
        })
        .await
        .unwrap();
    let browser = Browser::start("en").await;
    sign_in(&browser, &console, OPERATOR).await;
    browser.goto(&console.url("/console/messages")).await;
    assert!(listed_jobs(&browser).await.is_empty());

    let body = fixture("woocommerce/order-updated-paid-tnd.json");
    let headers = woo_headers(WOO_SECRET, "order.updated", &body, "browser-1");
    assert_eq!(
        console.app.post("acme-woo", &headers, body).await.status(),
        200
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while listed_jobs(&browser).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook's message never appeared in the list: {}",
            browser.source().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        browser.goto(&console.url("/console/messages")).await;
    }
    let job = listed_jobs(&browser).await.remove(0);

    // Buzzbip refuses the send for good: the job is dead, with Buzzbip's reason.
    console.app.service.run_pending_jobs().await.unwrap();
    assert_eq!(sends(&console).await, 1);
    browser.goto(&console.url("/console/messages")).await;
    let html = browser.source().await;
    assert!(html.contains("state-dead"), "the row shows the job dead");
    assert!(html.contains("Template is not approved"), "with its reason");
    assert!(html.contains("أميرة"), "the customer's first name");
    assert!(!html.contains("96816277"), "never the whole phone number");
    screenshot(&browser, "messages").await;

    // Filters through the form: the order number finds it, another number nothing.
    for (q, expected) in [("5120", vec![job.clone()]), ("999999", vec![])] {
        browser.fill(&browser.find("input[name=q]").await, q).await;
        browser
            .click(&browser.find("form.filters button[type=submit]").await)
            .await;
        browser.find("form.filters").await;
        assert_eq!(listed_jobs(&browser).await, expected, "search {q}");
    }
    let (status, csv) = fetch(&browser, "GET", "/console/messages.csv?state=dead", None).await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 2, "a header and the dead job: {csv}");
    assert!(csv.contains("5120") && !csv.contains("96816277"), "{csv}");
    let (_, none) = fetch(&browser, "GET", "/console/messages.csv?state=done", None).await;
    assert_eq!(none.lines().count(), 1, "only the header: {none}");

    // One message: its timeline and its invoice, the very bytes that were uploaded.
    browser.goto(&console.url("/console/messages")).await;
    browser
        .click(&browser.find(&format!("tr[data-job='{job}'] a")).await)
        .await;
    browser.find("ol.timeline").await;
    let pdf_src = browser
        .attribute(&browser.find("iframe.pdf").await, "src")
        .await
        .unwrap();
    let (status, pdf) = fetch(&browser, "GET", &pdf_src, None).await;
    assert_eq!(status, 200);
    assert!(pdf.starts_with("%PDF-"), "the invoice frame shows a PDF");
    screenshot(&browser, "message").await;

    // Replay: the job runs again and Buzzbip gets one more send, which it now takes.
    browser
        .click(&browser.find("form[action$='/replay'] button").await)
        .await;
    browser.find("ol.timeline").await;
    console.app.service.run_pending_jobs().await.unwrap();
    assert_eq!(sends(&console).await, 2, "one more send after the replay");
    browser
        .goto(&console.url(&format!("/console/messages/{job}")))
        .await;
    assert!(browser.source().await.contains("state-done"));
    browser.close().await;
}
