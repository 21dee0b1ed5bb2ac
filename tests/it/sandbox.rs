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

// ---- Delivery lookups and events (issue 19) ----

use shopbip::sandbox::DeliveryUpdate;

const TO: &str = "21696816277";

/// A text template send (1290, one placeholder) as `username`; returns its bulk group id.
async fn send_text(base: &str, token: &str, to: &str) -> String {
    let resp = plugin(
        reqwest::Client::new().post(format!("{base}/api/v2/whatsapp/templates/1290/send")),
        token,
    )
    .json(&json!({"to": to, "country_code": "TN", "body_params": ["1001"]}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["data"]["whatsapp_bulk_group_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn lookup(base: &str, token: &str, query: &str) -> (u16, Value) {
    let resp = plugin(
        reqwest::Client::new().get(format!("{base}/api/whatsapp/?{query}")),
        token,
    )
    .send()
    .await
    .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn item(base: &str, token: &str, group: &str) -> Value {
    let (status, body) = lookup(base, token, &format!("whatsapp_bulk_group_id={group}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    let items = body["data"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    items[0].clone()
}

fn delays(sent: u64, delivered: u64) -> DeliveryUpdate {
    DeliveryUpdate {
        sent_after_ms: Some(sent),
        delivered_after_ms: Some(delivered),
        not_on_whatsapp: None,
    }
}

#[tokio::test]
async fn a_sends_state_moves_accepted_sent_delivered_with_the_delays() {
    let sb = spawn_sandbox();
    let settings = sb.control.set_delivery(&delays(1000, 2000)).await.unwrap();
    assert_eq!(
        (settings.sent_after_ms, settings.delivered_after_ms),
        (1000, 2000)
    );
    let base = sb.handle.base_url();
    let token = token(&sb).await;
    let sent_at = Instant::now();
    let group = send_text(&base, &token, TO).await;
    let mut seen: Vec<(String, Duration)> = Vec::new();
    while sent_at.elapsed() < Duration::from_secs(10) {
        let item = item(&base, &token, &group).await;
        let state = item["state"].as_str().unwrap().to_owned();
        assert_eq!(item["number"], TO);
        assert!(item["id"].as_str().is_some_and(|id| !id.is_empty()));
        assert!(
            item["updated_at"].as_str().unwrap().ends_with('Z'),
            "{item}"
        );
        assert!(item.get("error").is_none(), "{item}");
        if seen.last().is_none_or(|(s, _)| *s != state) {
            seen.push((state.clone(), sent_at.elapsed()));
        }
        if state == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let states: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(states, ["accepted", "sent", "delivered"], "{seen:?}");
    assert!(seen[1].1 >= Duration::from_millis(1000), "{seen:?}");
    assert!(seen[2].1 >= Duration::from_millis(2000), "{seen:?}");
    let lookups = sb.control.calls_to("/api/whatsapp/").await.unwrap();
    assert!(lookups.len() >= 3);
    assert!(lookups.iter().all(|c| c.account.as_deref() == Some(DEMO)));
}

#[tokio::test]
async fn a_number_not_on_whatsapp_ends_failed_with_the_reason() {
    let sb = spawn_sandbox();
    let updated = sb
        .control
        .set_delivery(&DeliveryUpdate {
            sent_after_ms: Some(0),
            not_on_whatsapp: Some(vec!["+216 96 816 277".into()]),
            ..DeliveryUpdate::default()
        })
        .await
        .unwrap();
    assert_eq!(updated.not_on_whatsapp, [TO], "kept as digits");
    assert_eq!(updated.delivered_after_ms, 5000, "left as it was");
    let base = sb.handle.base_url();
    let token = token(&sb).await;
    let unknown = send_text(&base, &token, TO).await;
    let known = send_text(&base, &token, "21612345678").await;
    let failed = item(&base, &token, &unknown).await;
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["error"], "recipient is not on WhatsApp");
    assert_eq!(item(&base, &token, &known).await["state"], "sent");
}

#[tokio::test]
async fn lookups_are_scoped_to_the_account_and_checked_like_every_route() {
    let sb = spawn_sandbox();
    let base = sb.handle.base_url();
    let demo = token(&sb).await;
    let group = send_text(&base, &demo, TO).await;

    // The other account's token (with its own plugin key) does not see DEMO's send.
    let resp = login(&base, OTHER, "other-password").await;
    let other = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = reqwest::Client::new()
        .get(format!(
            "{base}/api/whatsapp/?whatsapp_bulk_group_id={group}"
        ))
        .bearer_auth(&other)
        .header("x-api-key", "other-api-key")
        .header("x-platform-type", "woocommerce")
        .header("x-base-uri", "https://shop.other.test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "fail");

    let (status, body) = lookup(&base, &demo, "whatsapp_bulk_group_id=nope").await;
    assert_eq!((status, body["status"].as_str()), (404, Some("fail")));
    let (status, _) = lookup(&base, &demo, "page=1").await;
    assert_eq!(status, 400, "the group id is required");
    let (status, _) = lookup(
        &base,
        &demo,
        &format!("whatsapp_bulk_group_id={group}&limit=0"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = lookup(
        &base,
        &demo,
        &format!("whatsapp_bulk_group_id={group}&page=2&limit=10"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!([]), "one recipient: page 2 is empty");

    let http = reqwest::Client::new();
    let no_token = http
        .get(format!(
            "{base}/api/whatsapp/?whatsapp_bulk_group_id={group}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    let no_headers = http
        .get(format!(
            "{base}/api/whatsapp/?whatsapp_bulk_group_id={group}"
        ))
        .bearer_auth(&demo)
        .send()
        .await
        .unwrap();
    assert_eq!(no_headers.status(), 400);
    let no_slash = plugin(
        http.get(format!(
            "{base}/api/whatsapp?whatsapp_bulk_group_id={group}"
        )),
        &demo,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        no_slash.status(),
        404,
        "this route keeps its trailing slash"
    );

    let recorded = sb.control.calls_to("/api/whatsapp").await.unwrap();
    let statuses: Vec<u16> = recorded.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [404, 404, 400, 400, 200, 401, 400, 404]);
    assert!(recorded[0].query.contains(&group));
}

/// What a receiver got: the signature header, when there was one, and the raw body.
type Post = (Option<String>, bytes::Bytes);

/// A loopback stand-in for shopbip's events endpoint: keeps every post, answers 500 to the
/// first `fail_first`.
struct Receiver {
    url: String,
    posts: std::sync::Arc<std::sync::Mutex<Vec<Post>>>,
    _server: actix_web::dev::ServerHandle,
}

impl Receiver {
    fn start(fail_first: u32) -> Receiver {
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::sync::{Arc, Mutex};
        let posts: Arc<Mutex<Vec<Post>>> = Arc::default();
        let failures = Arc::new(AtomicU32::new(fail_first));
        let kept = posts.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/buzzbip/events/acme",
            listener.local_addr().unwrap()
        );
        let server = HttpServer::new(move || {
            let kept = kept.clone();
            let failures = failures.clone();
            App::new().route(
                "/buzzbip/events/acme",
                web::post().to(move |req: HttpRequest, body: web::Bytes| {
                    let kept = kept.clone();
                    let failures = failures.clone();
                    async move {
                        let signature = req
                            .headers()
                            .get("x-buzzbip-signature")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        kept.lock().unwrap().push((signature, body));
                        let fail = failures
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                        if fail {
                            HttpResponse::InternalServerError().finish()
                        } else {
                            HttpResponse::Ok().finish()
                        }
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url,
            posts,
            _server: handle,
        }
    }

    /// The posts received, once there are at least `n` (or after 10 s).
    async fn wait_for(&self, n: usize) -> Vec<Post> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let posts = self.posts.lock().unwrap().clone();
            if posts.len() >= n || Instant::now() > deadline {
                return posts;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

const SECRET: &str = "whsec-test-1";

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The events posted, parsed, each checked to carry a valid signature of its raw body.
fn verified(posts: &[Post]) -> Vec<Value> {
    posts
        .iter()
        .map(|(signature, body)| {
            let signature = signature.as_deref().expect("a signature header");
            assert_eq!(
                signature,
                hmac_hex(SECRET, body),
                "signature of the raw body"
            );
            assert_ne!(signature, hmac_hex("wrong", body));
            serde_json::from_slice(body).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn settled_sends_post_one_signed_event_each() {
    let sb = spawn_sandbox();
    let receiver = Receiver::start(0);
    sb.control
        .set_events_target(Some(&receiver.url), Some(SECRET))
        .await
        .unwrap();
    sb.control.set_delivery(&delays(0, 300)).await.unwrap();
    sb.control
        .set_not_on_whatsapp(&["21612345678"])
        .await
        .unwrap();
    let base = sb.handle.base_url();
    let token = token(&sb).await;
    let delivered = send_text(&base, &token, TO).await;
    let failed = send_text(&base, &token, "21612345678").await;

    let posts = receiver.wait_for(2).await;
    // Long enough for several ticks: a settled send is never reported twice.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.posts.lock().unwrap().len(), 2);
    let events = verified(&posts);
    let sent = events
        .iter()
        .find(|e| e["type"] == "message.sent")
        .expect("a message.sent");
    let fail = events
        .iter()
        .find(|e| e["type"] == "message.failed")
        .expect("a message.failed");
    assert!(sent["id"].as_str().unwrap().starts_with("evt_"));
    assert_ne!(sent["id"], fail["id"]);
    assert!(sent["createdAt"].as_str().unwrap().contains('T'));
    assert_eq!(sent["data"]["status"], "delivered");
    assert_eq!(sent["data"]["to"], TO);
    assert_eq!(sent["data"]["channel"], "whatsapp");
    for key in ["messageId", "conversationId", "contactId"] {
        assert!(
            sent["data"][key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}"
        );
    }
    assert_eq!(fail["data"]["status"], "failed");
    assert_eq!(fail["data"]["to"], "21612345678");
    assert_eq!(fail["data"]["error"], "recipient is not on WhatsApp");
    // The event's message id is the lookup item's id: a poller can match the two.
    assert_eq!(
        item(&base, &token, &delivered).await["id"],
        sent["data"]["messageId"]
    );
    assert_eq!(
        item(&base, &token, &failed).await["id"],
        fail["data"]["messageId"]
    );

    let log = sb.control.events().await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|e| e.delivered && e.attempts == 1 && e.last_status == Some(200))
    );
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_event_again_with_backoff() {
    let sb = spawn_sandbox();
    let receiver = Receiver::start(2);
    sb.control
        .set_events_target(Some(&receiver.url), Some(SECRET))
        .await
        .unwrap();
    sb.control.deliver_immediately().await.unwrap();
    let token = token(&sb).await;
    send_text(&sb.handle.base_url(), &token, TO).await;
    let started = Instant::now();
    let posts = receiver.wait_for(3).await;
    assert_eq!(posts.len(), 3, "two failures, then a success");
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "backoff of 0.5 s then 1 s: {:?}",
        started.elapsed()
    );
    assert!(
        posts.iter().all(|p| p.1 == posts[0].1),
        "the same bytes each time"
    );
    verified(&posts);
    let log = sb.control.events().await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].attempts, log[0].delivered), (3, true));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        receiver.posts.lock().unwrap().len(),
        3,
        "no post after the success"
    );
}

#[tokio::test]
async fn an_inbound_stop_is_posted_signed_at_once() {
    let sb = spawn_sandbox();
    assert!(
        sb.control.inbound(DEMO, TO, "STOP").await.is_err(),
        "no events URL yet: refused"
    );
    let receiver = Receiver::start(0);
    sb.control
        .set_events_target(Some(&receiver.url), Some(SECRET))
        .await
        .unwrap();
    let answered = sb
        .control
        .inbound(DEMO, "+216 96 816 277", "STOP")
        .await
        .unwrap();
    assert_eq!(answered["type"], "message.received");
    let posts = receiver.wait_for(1).await;
    let events = verified(&posts);
    assert_eq!(events, std::slice::from_ref(&answered));
    let data = &answered["data"];
    assert_eq!(data["from"], TO);
    assert_eq!(data["body"], "STOP");
    assert_eq!(data["channel"], "whatsapp");
    assert!(data["messageId"].is_string() && data["conversationId"].is_string());

    // The account may be named by its API key; the same customer keeps its contact id.
    let again = sb
        .control
        .inbound("demo-api-key", TO, "START")
        .await
        .unwrap();
    assert_eq!(again["data"]["contactId"], data["contactId"]);
    assert_ne!(again["id"], answered["id"]);
    assert!(
        sb.control
            .inbound("nobody@shop.test", TO, "STOP")
            .await
            .is_err()
    );
    assert!(sb.control.inbound(DEMO, "12", "STOP").await.is_err());

    // One account's events can go elsewhere, or nowhere.
    sb.control
        .set_account_events_target(OTHER, None, None)
        .await
        .unwrap();
    assert!(sb.control.inbound(OTHER, TO, "STOP").await.is_err());
    assert_eq!(receiver.wait_for(2).await.len(), 2);
}

#[test]
fn sandbox_config_reads_delivery_and_events_settings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.toml");
    std::fs::write(
        &file,
        "events_url = \"http://127.0.0.1:9/buzzbip/events/acme\"\nevents_secret = \"s\"\n\
         [delivery]\nsent_after_ms = 0\ndelivered_after_ms = 10\nnot_on_whatsapp = [\"21612345678\"]\n",
    )
    .unwrap();
    let config = shopbip::sandbox::SandboxConfig::from_file(&file).unwrap();
    assert_eq!(config.delivery.delivered_after_ms, 10);
    assert_eq!(config.delivery.not_on_whatsapp, ["21612345678"]);
    assert_eq!(config.events_secret.as_deref(), Some("s"));
    std::fs::write(&file, "events_url = \"ftp://example.test/\"\n").unwrap();
    let err = shopbip::sandbox::SandboxConfig::from_file(&file).unwrap_err();
    assert!(format!("{err:#}").contains("events_url"), "{err:#}");
    let defaults = shopbip::sandbox::SandboxConfig::default().delivery;
    assert_eq!(
        (defaults.sent_after_ms, defaults.delivered_after_ms),
        (2000, 5000)
    );
}

#[tokio::test]
async fn serve_sandbox_can_route_each_accounts_events_to_its_store() {
    use shopbip::stores::StoreRegistry;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("acme.toml"),
        format!(
            "platform = \"woocommerce\"\nbase_uri = \"https://acme.test\"\ndefault_country = \"TN\"\n\
             [webhook]\nsecrets = [\"s\"]\n[buzzbip]\nusername = \"acme@shop.test\"\n\
             password = \"acme-password\"\napi_key = \"acme-key\"\nwebhook_secret = \"{SECRET}\"\n\
             [[notify]]\non = \"order.paid\"\ntemplate_id = 1290\nbody_params = [\"{{order.number}}\"]\n"
        ),
    )
    .unwrap();
    let registry = StoreRegistry::load_dir(dir.path()).unwrap();
    let (sandbox, _) = shopbip::sandbox::stores::with_sandbox(&registry).unwrap();
    let receiver = Receiver::start(0);
    let shopbip_base = receiver.url.trim_end_matches("/buzzbip/events/acme");
    shopbip::sandbox::stores::route_events(&sandbox.provisioner(), &registry, shopbip_base);
    let control = sandbox.control();
    let event = control.inbound("acme@shop.test", TO, "STOP").await.unwrap();
    let posts = receiver.wait_for(1).await;
    assert_eq!(
        verified(&posts),
        [event],
        "posted to /buzzbip/events/acme, signed with the store's secret"
    );
    assert!(
        control.inbound(DEMO, TO, "STOP").await.is_err(),
        "accounts of no store get no target"
    );
}
