//! `shopbip check --online`: each store's Buzzbip account tried against the sandbox over
//! loopback, as a merchant runs it before launch.

use std::path::Path;
use std::process::Output;

use crate::common::{TestSandbox, spawn_sandbox};

fn profile(base_url: &str, username: &str, password: &str, api_key: &str) -> String {
    format!(
        r#"platform = "woocommerce"
base_uri = "https://shop.acme.test"
default_country = "TN"
[webhook]
secrets = ["s"]
[buzzbip]
base_url = "{base_url}"
username = "{username}"
password = "{password}"
api_key = "{api_key}"
[[notify]]
on = "order.paid"
template_id = 1289
body_params = ["{{customer.first_name}}", "{{order.number}}"]
"#
    )
}

/// Three stores: one on a working account, one with a wrong password, one whose Buzzbip user
/// has no API access.
fn stores(dir: &Path, sandbox: &TestSandbox) {
    let url = sandbox.handle.base_url();
    for (id, user, password, key) in [
        ("good", "demo@shopbip.test", "demo-password", "demo-api-key"),
        (
            "wrongpw",
            "demo@shopbip.test",
            "not-the-password",
            "demo-api-key",
        ),
        (
            "noapi",
            "noapi@shopbip.test",
            "noapi-password",
            "noapi-api-key",
        ),
    ] {
        std::fs::write(
            dir.join(format!("{id}.toml")),
            profile(&url, user, password, key),
        )
        .unwrap();
    }
}

async fn check_online(dir: &Path, extra: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["check", "--online"])
        .args(extra)
        .env("SHOPBIP__STORES__DIR", dir)
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn line<'a>(all: &'a str, store: &str) -> &'a str {
    let prefix = format!("online: {store} ");
    all.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {store}: {all}"))
}

#[tokio::test]
async fn wrong_credentials_and_missing_api_access_are_reported_with_their_fix() {
    let sandbox = spawn_sandbox();
    let dir = tempfile::tempdir().unwrap();
    stores(dir.path(), &sandbox);
    let out = check_online(dir.path(), &[]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("STORE") && all.contains("TEMPLATE"),
        "the offline runbook first: {all}"
    );
    let wrong = line(&all, "wrongpw");
    assert!(wrong.contains("FAIL"), "{wrong}");
    assert!(
        wrong.contains(
            "wrong Buzzbip username or password for store wrongpw (buzzbip.username / buzzbip.password)"
        ),
        "{wrong}"
    );
    let noapi = line(&all, "noapi");
    assert!(noapi.contains("FAIL"), "{noapi}");
    assert!(
        noapi.contains(
            "API access not enabled for this Buzzbip user: ask Buzzbip to enable hasApiAccess"
        ),
        "{noapi}"
    );
    assert!(line(&all, "good").contains("OK"), "{all}");
    for secret in [
        "demo-password",
        "not-the-password",
        "noapi-password",
        "api-key",
    ] {
        assert!(!all.contains(secret), "a secret printed: {all}");
    }
    let sends = sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap();
    assert!(sends.is_empty(), "check --online sends nothing: {sends:?}");
}

#[tokio::test]
async fn a_good_store_uploads_and_deletes_its_test_media() {
    let sandbox = spawn_sandbox();
    let dir = tempfile::tempdir().unwrap();
    stores(dir.path(), &sandbox);
    let out = check_online(dir.path(), &["--store", "good"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(line(&all, "good").contains("OK"), "{all}");
    assert!(
        !all.contains("wrongpw") && !all.contains("noapi"),
        "--store checks that store only: {all}"
    );

    let calls = sandbox.control.calls().await.unwrap();
    let logins: Vec<_> = calls
        .iter()
        .filter(|c| c.path == "/api/login_check")
        .collect();
    assert_eq!(logins.len(), 1, "{calls:?}");
    assert_eq!(logins[0].status, 200);
    let upload = calls
        .iter()
        .find(|c| c.method == "POST" && c.path == "/api/v2/whatsapp/media")
        .unwrap_or_else(|| panic!("no upload: {calls:?}"));
    assert_eq!(upload.status, 200);
    let file = upload.file.as_ref().unwrap();
    assert_eq!(file.content_type.as_deref(), Some("application/pdf"));
    let delete = calls
        .iter()
        .find(|c| c.method == "DELETE")
        .unwrap_or_else(|| panic!("no delete: {calls:?}"));
    assert_eq!(delete.status, 200);
    assert!(
        delete.path.starts_with("/api/v2/whatsapp/media/"),
        "{delete:?}"
    );
    let media_id = delete.path.rsplit('/').next().unwrap();
    assert!(line(&all, "good").contains(media_id), "{all}");
    assert!(
        sandbox.control.media().await.unwrap().is_empty(),
        "the test media is gone from Buzzbip"
    );
    assert!(
        !calls.iter().any(|c| c.path.ends_with("/send")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn an_unreachable_buzzbip_fails_the_store_in_bounded_time() {
    // A port nothing listens on: the connection is refused at once, and retrying is the fix.
    let port = crate::common::serve::free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("down.toml"),
        profile(
            &format!("http://127.0.0.1:{port}"),
            "demo@shopbip.test",
            "demo-password",
            "demo-api-key",
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = check_online(dir.path(), &[]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let down = line(&all, "down");
    assert!(
        down.contains("FAIL") && down.contains("transient"),
        "{down}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
