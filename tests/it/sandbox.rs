//! The sandbox itself, spoken to with plain HTTP the way Buzzbip would be.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

async fn login(base: &str, username: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/login_check"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn token(sb: &TestSandbox) -> String {
    let resp = login(&sb.handle.base_url(), DEMO, "demo-password").await;
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn pdf_form(field: &str, mime: &str) -> Form {
    Form::new().part(
        field.to_owned(),
        Part::bytes(b"%PDF-1.4 test".to_vec())
            .file_name("a.pdf")
            .mime_str(mime)
            .unwrap(),
    )
}

fn plugin(req: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
    req.bearer_auth(token)
        .header("x-api-key", "demo-api-key")
        .header("x-platform-type", "woocommerce")
        .header("x-base-uri", "https://shop.acme.test")
}

#[tokio::test]
async fn login_issues_a_jwt_with_exp_and_refuses_bad_passwords() {
    let sb = spawn_sandbox();
    let token = token(&sb).await;
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let resp = login(&sb.handle.base_url(), DEMO, "nope").await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["message"],
        "Invalid credentials."
    );
    let logins = sb.control.calls_to("/api/login_check").await.unwrap();
    assert_eq!(logins[0].json.as_ref().unwrap()["password"], "[redacted]");
}

#[tokio::test]
async fn v2_routes_with_a_trailing_slash_are_404() {
    let sb = spawn_sandbox();
    let token = token(&sb).await;
    let http = reqwest::Client::new();
    let base = sb.handle.base_url();
    let resp = plugin(http.post(format!("{base}/api/v2/whatsapp/media/")), &token)
        .multipart(pdf_form("file", "application/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = plugin(
        http.post(format!("{base}/api/v2/whatsapp/templates/1289/send/")),
        &token,
    )
    .json(&json!({}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 404);
    let recorded = sb.control.calls_to("/api/v2").await.unwrap();
    assert!(
        recorded
            .iter()
            .all(|c| c.status == 404 && c.path.ends_with('/'))
    );
}

#[tokio::test]
async fn v2_calls_need_token_plugin_headers_and_a_file_part() {
    let sb = spawn_sandbox();
    let token = token(&sb).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v2/whatsapp/media", sb.handle.base_url());

    let no_token = http
        .post(&url)
        .multipart(pdf_form("file", "application/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);

    let no_headers = http
        .post(&url)
        .bearer_auth(&token)
        .multipart(pdf_form("file", "application/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_headers.status(), 400);
    assert!(no_headers.text().await.unwrap().contains("x-api-key"));

    let wrong_field = plugin(http.post(&url), &token)
        .multipart(pdf_form("document", "application/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_field.status(), 400);

    let wrong_type = plugin(http.post(&url), &token)
        .multipart(pdf_form("file", "text/html"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);

    let ok = plugin(http.post(&url), &token)
        .multipart(pdf_form("file", "application/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["status"], "success");
    let id = body["data"]["media_id"].as_str().unwrap();
    assert_eq!(
        sb.control.media_content(id).await.unwrap().as_ref(),
        b"%PDF-1.4 test"
    );
}

#[tokio::test]
async fn control_api_registers_templates_and_resets() {
    let sb = spawn_sandbox();
    sb.control
        .add_template(&shopbip::sandbox::Template {
            id: 77,
            name: "custom".into(),
            placeholders: 0,
            header: shopbip::sandbox::HeaderKind::None,
            state: shopbip::sandbox::TemplateState::Approved,
            url_buttons: 0,
        })
        .await
        .unwrap();
    assert!(
        sb.control
            .templates()
            .await
            .unwrap()
            .iter()
            .any(|t| t.id == 77)
    );
    token(&sb).await;
    assert_eq!(sb.control.calls().await.unwrap().len(), 1);
    sb.control.reset().await.unwrap();
    assert!(sb.control.calls().await.unwrap().is_empty());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_sandbox_command_starts_and_answers_a_login() {
    let port = free_port();
    let _child = Child(
        Command::new(env!("CARGO_BIN_EXE_shopbip"))
            .args(["sandbox", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let resp = loop {
        match reqwest::Client::new()
            .post(format!("{base}/api/login_check"))
            .json(&json!({"username": DEMO, "password": "demo-password"}))
            .send()
            .await
        {
            Ok(r) => break r,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("sandbox never answered: {e}"),
        }
    };
    assert_eq!(resp.status(), 200);
    assert!(resp.json::<Value>().await.unwrap()["token"].is_string());
}

#[test]
fn the_demo_command_sends_an_order_with_its_invoice_and_writes_the_pdf() {
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("POST /api/v2/whatsapp/media -> 200"),
        "{stdout}"
    );
    assert!(stdout.contains("header_media_id \"5001\""), "{stdout}");
    assert!(
        stdout.contains("template 1289, to \"21696816277\""),
        "{stdout}"
    );
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("invoice PDF (the bytes Buzzbip received): "))
        .unwrap_or_else(|| panic!("no PDF path in:\n{stdout}"));
    assert!(std::fs::read(path.trim()).unwrap().starts_with(b"%PDF-"));
}

/// A store profile with its own Buzzbip account.
fn store_profile(dir: &std::path::Path, id: &str, username: &str, template: u64) {
    std::fs::write(
        dir.join(format!("{id}.toml")),
        format!(
            "platform = \"woocommerce\"\nbase_uri = \"https://{id}.test\"\ndefault_country = \"TN\"\n\
             [webhook]\nsecrets = [\"s\"]\n[buzzbip]\nusername = \"{username}\"\n\
             password = \"{id}-password\"\napi_key = \"{id}-key\"\n\
             [[notify]]\non = \"order.paid\"\ntemplate_id = {template}\nbody_params = [\"{{order.number}}\"]\n"
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn stores_added_while_serve_sandbox_runs_get_their_accounts_and_templates() {
    use shopbip::stores::StoreRegistry;
    let dir = tempfile::tempdir().unwrap();
    store_profile(dir.path(), "first", "first@shop.test", 1289);
    let registry = StoreRegistry::load_dir(dir.path()).unwrap();
    let (sandbox, _) = shopbip::sandbox::stores::with_sandbox(&registry).unwrap();
    let base = sandbox.base_url();
    assert_eq!(
        login(&base, "second@shop.test", "second-password")
            .await
            .status(),
        401
    );
    // A second profile appears; the reload's transform provisions it.
    store_profile(dir.path(), "second", "second@shop.test", 4242);
    let transform = shopbip::sandbox::stores::provisioned(sandbox.provisioner(), base.clone());
    let reloaded = transform(StoreRegistry::load_dir(dir.path()).unwrap());
    let second = reloaded.get("second").unwrap();
    assert_eq!(second.buzzbip.base_url, base, "pointed at the sandbox");
    assert_eq!(
        login(&base, "second@shop.test", "second-password")
            .await
            .status(),
        200
    );
    let templates = sandbox.control().templates().await.unwrap();
    assert!(templates.iter().any(|t| t.id == 4242), "{templates:?}");
    // The first store's account is still there.
    assert_eq!(
        login(&base, "first@shop.test", "first-password")
            .await
            .status(),
        200
    );
}
