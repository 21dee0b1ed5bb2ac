//! Write-back against loopback stand-ins of each platform's API (real HTTP servers on
//! 127.0.0.1): the request's path, credentials and body as the platform documents them, a 429
//! with its wait, a refused credential named, Shopify's GraphQL errors, Shopware's token kept.
//! The API access comes from a store profile loaded as `serve` loads it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use serde_json::{Value, json};
use shopbip::platforms::api::{ApiAccess, client};
use shopbip::platforms::writeback::{Note, WriteBackError, note_text, write_back};

use super::{profile, rule};

/// One request a stand-in received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// As sent: percent-encoding kept.
    path: String,
    /// Names lower-cased.
    headers: HashMap<String, String>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

impl Reply {
    fn with(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// (method, path) → the replies left.
type Routes = HashMap<(String, String), Vec<Reply>>;

/// A stand-in API: per (method, path), the replies in turn, the last one repeated; anything
/// else is a 404. Records every request.
struct StandIn {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    fn start(routes: Vec<(&'static str, &str, Vec<Reply>)>) -> StandIn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let routes: Arc<Mutex<Routes>> = Arc::new(Mutex::new(
            routes
                .into_iter()
                .map(|(m, p, r)| ((m.to_owned(), p.to_owned()), r))
                .collect(),
        ));
        let log = seen.clone();
        let server = HttpServer::new(move || {
            let log = log.clone();
            let routes = routes.clone();
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let path = req.uri().path().to_owned();
                let method = req.method().as_str().to_owned();
                log.lock().unwrap().push(Seen {
                    method: method.clone(),
                    path: path.clone(),
                    headers: req
                        .headers()
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_ascii_lowercase(),
                                v.to_str().unwrap_or("").to_owned(),
                            )
                        })
                        .collect(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let next = {
                    let mut routes = routes.lock().unwrap();
                    match routes.get_mut(&(method, path)) {
                        Some(replies) if replies.len() > 1 => Some(replies.remove(0)),
                        Some(replies) => replies.first().cloned(),
                        None => None,
                    }
                };
                async move {
                    let Some(r) = next else {
                        return HttpResponse::NotFound().body("no such route");
                    };
                    let mut answer = HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(r.status).unwrap(),
                    );
                    answer.content_type("application/json");
                    for (k, v) in r.headers {
                        answer.insert_header((k, v));
                    }
                    answer.body(r.body)
                }
            }))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        StandIn { base, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// The API access of a `platform` store whose profile has `section`, loaded as `serve` loads
/// profiles.
fn access(platform: &str, section: &str) -> ApiAccess {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.toml");
    let extra = format!("{section}\n{}", rule("order.paid", 1289, &[], false));
    std::fs::write(
        &file,
        profile(platform, &["whsec"], "https://app.buzzbip.com", &extra),
    )
    .unwrap();
    let store = shopbip::stores::load_file(&file, &|_| None).unwrap();
    store.api.expect("the section gives API access")
}

/// The keys of the errors loading a `platform` store whose profile has `section`.
fn refused(platform: &str, section: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.toml");
    let extra = format!("{section}\n{}", rule("order.paid", 1289, &[], false));
    std::fs::write(
        &file,
        profile(platform, &["whsec"], "https://app.buzzbip.com", &extra),
    )
    .unwrap();
    match shopbip::stores::load_file(&file, &|_| None) {
        Ok(store) => panic!("{platform} loaded: {:?}", store.api),
        Err(errors) => {
            let text = format!("{errors:?}");
            for secret in [
                "cs_77aa31be5f",
                "shpat_0a1b2c3d4e",
                "sw-secret-access-key-5e6f",
            ] {
                assert!(!text.contains(secret), "{text}");
            }
            errors.into_iter().map(|e| e.key).collect()
        }
    }
}

#[test]
fn sections_on_another_platform_or_over_plain_http_are_refused_when_profiles_load() {
    let woo = "[woocommerce]\nconsumer_key = \"ck_1\"\nconsumer_secret = \"cs_77aa31be5f\"\n";
    let shopify =
        "[shopify]\nshop_domain = \"acme.myshopify.com\"\nadmin_token = \"shpat_0a1b2c3d4e\"\n";
    let shopware =
        "[shopware]\nclient_id = \"SWIA\"\nclient_secret = \"sw-secret-access-key-5e6f\"\n";
    assert_eq!(refused("shopify", woo), ["woocommerce"]);
    assert_eq!(refused("stripe", shopify), ["shopify"]);
    assert_eq!(refused("woocommerce", shopware), ["shopware"]);
    assert_eq!(
        refused(
            "woocommerce",
            &format!("{woo}api_base_url = \"http://wp.shop.example\"\n")
        ),
        ["woocommerce.api_base_url"]
    );
    assert_eq!(
        refused(
            "shopify",
            &format!("{shopify}api_base_url = \"http://shopify.example\"\n")
        ),
        ["shopify.api_base_url"]
    );
    assert_eq!(
        refused(
            "shopware",
            &format!("{shopware}api_base_url = \"http://192.168.1.20\"\n")
        ),
        ["shopware.api_base_url"]
    );
    // Optional: a store without the section loads, with no API access (no write-back).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.toml");
    std::fs::write(
        &file,
        profile(
            "shopify",
            &["whsec"],
            "https://app.buzzbip.com",
            &rule("order.paid", 1289, &[], false),
        ),
    )
    .unwrap();
    assert!(
        shopbip::stores::load_file(&file, &|_| None)
            .unwrap()
            .api
            .is_none()
    );
}

fn http() -> reqwest::Client {
    client(Duration::from_secs(5))
}

const TEXT: &str = "WhatsApp invoice INV-000123 sent 14:02 UTC · delivered 14:03 UTC";
const NOTE: Note<'static> = Note {
    text: TEXT,
    tag: "whatsapp-delivered",
};

fn permanent(result: Result<bool, WriteBackError>) -> String {
    match result {
        Err(WriteBackError::Permanent(reason)) => reason,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

// ---- WooCommerce ----

const CK: &str = "ck_4f1e9b2c0d";
const CS: &str = "cs_77aa31be5f";

fn woo(base: &str) -> ApiAccess {
    access(
        "woocommerce",
        &format!(
            "[woocommerce]\nconsumer_key = \"{CK}\"\nconsumer_secret = \"{CS}\"\napi_base_url = \"{base}/shop\"\n"
        ),
    )
}

const WOO_NOTES: &str = "/shop/wp-json/wc/v3/orders/727/notes";

#[tokio::test]
async fn woocommerce_gets_a_private_note_with_basic_auth() {
    let api = StandIn::start(vec![(
        "POST",
        WOO_NOTES,
        vec![reply(201, json!({ "id": 281, "note": TEXT }))],
    )]);
    let done = write_back(&http(), &woo(&api.base), "727", &NOTE).await;
    assert_eq!(done, Ok(true));
    let seen = api.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", WOO_NOTES)
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CK}:{CS}"));
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(
        seen[0].json(),
        json!({ "note": TEXT, "customer_note": false })
    );
}

#[tokio::test]
async fn woocommerce_rate_limits_wait_and_refused_keys_are_named() {
    let api = StandIn::start(vec![(
        "POST",
        WOO_NOTES,
        vec![
            reply(429, json!({ "code": "too_many" })).with("Retry-After", "7"),
            reply(
                401,
                json!({ "code": "woocommerce_rest_cannot_create", "message": "Sorry, you are not allowed to create resources." }),
            ),
            reply(503, Value::Null),
        ],
    )]);
    let access = woo(&api.base);
    match write_back(&http(), &access, "727", &NOTE).await {
        Err(WriteBackError::Transient { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("{other:?}"),
    }
    let reason = permanent(write_back(&http(), &access, "727", &NOTE).await);
    assert!(
        reason.contains("woocommerce.consumer_key / consumer_secret"),
        "{reason}"
    );
    assert!(reason.contains("not allowed to create"), "{reason}");
    assert!(!reason.contains(CK) && !reason.contains(CS), "{reason}");
    assert!(matches!(
        write_back(&http(), &access, "727", &NOTE).await,
        Err(WriteBackError::Transient { .. })
    ));
}

#[tokio::test]
async fn a_hostile_order_id_never_reaches_the_api() {
    let api = StandIn::start(vec![]);
    for access in [woo(&api.base), bigcommerce(&api.base), shopify(&api.base)] {
        for id in ["727/../../../wp-admin", "727?x=1", "", "٣"] {
            let reason = permanent(write_back(&http(), &access, id, &NOTE).await);
            assert!(reason.contains("is not an order id"), "{reason}");
        }
    }
    let reason =
        permanent(write_back(&http(), &shopware(&api.base), "../../_action/sync", &NOTE).await);
    assert!(reason.contains("is not an order id"), "{reason}");
    assert!(api.seen().is_empty(), "{:?}", api.seen());
}

/// A redirect is not followed: the credentials would go with it.
#[tokio::test]
async fn a_redirect_is_not_followed_with_the_keys() {
    let elsewhere = StandIn::start(vec![("POST", WOO_NOTES, vec![reply(201, json!({}))])]);
    let api = StandIn::start(vec![(
        "POST",
        WOO_NOTES,
        vec![reply(307, Value::Null).with(
            "Location",
            &format!("{}{WOO_NOTES}?k=s3cret", elsewhere.base),
        )],
    )]);
    let reason = permanent(write_back(&http(), &woo(&api.base), "727", &NOTE).await);
    assert!(reason.contains("HTTP 307"), "{reason}");
    assert!(!reason.contains("s3cret"), "{reason}");
    assert!(elsewhere.seen().is_empty(), "{:?}", elsewhere.seen());
}

#[tokio::test]
async fn an_api_that_does_not_answer_is_transient() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    assert!(matches!(
        write_back(&http(), &woo(&base), "727", &NOTE).await,
        Err(WriteBackError::Transient {
            retry_after: None,
            ..
        })
    ));
}

// ---- Shopify ----

const SHOPIFY_TOKEN: &str = "shpat_0a1b2c3d4e";
const GRAPHQL: &str = "/admin/api/2025-07/graphql.json";

fn shopify(base: &str) -> ApiAccess {
    access(
        "shopify",
        &format!(
            "[shopify]\nshop_domain = \"acme.myshopify.com\"\nadmin_token = \"{SHOPIFY_TOKEN}\"\napi_base_url = \"{base}\"\n"
        ),
    )
}

fn order_note(note: Value) -> Reply {
    reply(200, json!({ "data": { "order": { "note": note } } }))
}

fn mutated(tags_errors: Value, update_errors: Value) -> Reply {
    reply(
        200,
        json!({ "data": {
            "tagsAdd": { "userErrors": tags_errors },
            "orderUpdate": { "userErrors": update_errors },
        } }),
    )
}

#[tokio::test]
async fn shopify_gets_a_tag_and_a_line_added_to_the_note() {
    let api = StandIn::start(vec![(
        "POST",
        GRAPHQL,
        vec![
            order_note(json!("Gift wrap please")),
            mutated(json!([]), json!([])),
        ],
    )]);
    assert_eq!(
        write_back(&http(), &shopify(&api.base), "450789469", &NOTE).await,
        Ok(true)
    );
    let seen = api.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for s in &seen {
        assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", GRAPHQL));
        assert_eq!(s.header("x-shopify-access-token"), Some(SHOPIFY_TOKEN));
        assert_eq!(s.header("authorization"), None);
    }
    let read = seen[0].json();
    assert!(
        read["query"]
            .as_str()
            .unwrap()
            .contains("order(id: $id) { note }")
    );
    assert_eq!(
        read["variables"],
        json!({ "id": "gid://shopify/Order/450789469" })
    );
    let write = seen[1].json();
    let query = write["query"].as_str().unwrap();
    assert!(query.contains("tagsAdd(id: $id, tags: $tags)"), "{query}");
    assert!(query.contains("orderUpdate(input: $input)"), "{query}");
    assert_eq!(
        write["variables"],
        json!({
            "id": "gid://shopify/Order/450789469",
            "tags": ["whatsapp-delivered"],
            "input": {
                "id": "gid://shopify/Order/450789469",
                "note": format!("Gift wrap please\n{TEXT}"),
            },
        })
    );
}

#[tokio::test]
async fn shopify_does_not_write_the_note_line_twice() {
    let api = StandIn::start(vec![(
        "POST",
        GRAPHQL,
        vec![
            order_note(json!(format!("Gift wrap please\n{TEXT}"))),
            reply(200, json!({ "data": { "tagsAdd": { "userErrors": [] } } })),
        ],
    )]);
    assert_eq!(
        write_back(&http(), &shopify(&api.base), "450789469", &NOTE).await,
        Ok(true)
    );
    let write = api.seen()[1].json();
    assert!(!write["query"].as_str().unwrap().contains("orderUpdate"));
    assert_eq!(write["variables"]["tags"], json!(["whatsapp-delivered"]));
}

#[tokio::test]
async fn shopify_user_errors_and_graphql_errors_are_failures() {
    let api = StandIn::start(vec![(
        "POST",
        GRAPHQL,
        vec![
            order_note(Value::Null),
            mutated(
                json!([]),
                json!([{ "field": ["note"], "message": "Note is too long" }]),
            ),
            reply(200, json!({ "data": { "order": null } })),
            reply(
                200,
                json!({ "errors": [{ "message": "Access denied for order field.",
                    "extensions": { "code": "ACCESS_DENIED" } }] }),
            ),
        ],
    )]);
    let access = shopify(&api.base);
    let reason = permanent(write_back(&http(), &access, "1", &NOTE).await);
    assert!(
        reason.contains("orderUpdate") && reason.contains("Note is too long"),
        "{reason}"
    );
    let reason = permanent(write_back(&http(), &access, "1", &NOTE).await);
    assert!(reason.contains("no order 1"), "{reason}");
    let reason = permanent(write_back(&http(), &access, "1", &NOTE).await);
    assert!(
        reason.contains("shopify.admin_token") && reason.contains("write_orders"),
        "{reason}"
    );
    assert!(!reason.contains(SHOPIFY_TOKEN), "{reason}");
}

#[tokio::test]
async fn shopify_throttling_is_transient_with_its_wait() {
    let api = StandIn::start(vec![(
        "POST",
        GRAPHQL,
        vec![
            reply(
                200,
                json!({
                    "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }],
                    "extensions": { "cost": { "requestedQueryCost": 301,
                        "throttleStatus": { "maximumAvailable": 2000.0, "currentlyAvailable": 1, "restoreRate": 100.0 } } },
                }),
            ),
            reply(429, Value::Null).with("Retry-After", "2.0"),
            reply(
                401,
                json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" }),
            ),
        ],
    )]);
    let access = shopify(&api.base);
    // (301 - 1) / 100 a second: 3 s; then the 429's own wait.
    for expected in [Duration::from_secs(3), Duration::from_secs(2)] {
        match write_back(&http(), &access, "1", &NOTE).await {
            Err(WriteBackError::Transient { retry_after, .. }) => {
                assert_eq!(retry_after, Some(expected))
            }
            other => panic!("{other:?}"),
        }
    }
    let reason = permanent(write_back(&http(), &access, "1", &NOTE).await);
    assert!(reason.contains("shopify.admin_token"), "{reason}");
}

// ---- Shopware ----

const SW_ID: &str = "SWIAZKFTUKDVNLJPRHLXQ0JNDQ";
const SW_SECRET: &str = "sw-secret-access-key-5e6f";
const SW_ORDER: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn shopware(base: &str) -> ApiAccess {
    access(
        "shopware",
        &format!(
            "[shopware]\nclient_id = \"{SW_ID}\"\nclient_secret = \"{SW_SECRET}\"\napi_base_url = \"{base}\"\n"
        ),
    )
}

fn token(value: &str) -> Reply {
    reply(
        200,
        json!({ "token_type": "Bearer", "expires_in": 600, "access_token": value }),
    )
}

#[tokio::test]
async fn shopware_fetches_one_token_and_tags_the_order() {
    let order = format!("/api/order/{SW_ORDER}");
    let api = StandIn::start(vec![
        (
            "POST",
            "/api/oauth/token",
            vec![token("tok-1"), token("tok-2")],
        ),
        ("PATCH", &order, vec![reply(204, Value::Null)]),
    ]);
    let access = shopware(&api.base);
    for _ in 0..2 {
        assert_eq!(
            write_back(&http(), &access, SW_ORDER, &NOTE).await,
            Ok(true)
        );
    }
    let seen = api.seen();
    let calls: Vec<(&str, &str)> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.path.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", "/api/oauth/token"),
            ("PATCH", order.as_str()),
            ("PATCH", order.as_str())
        ],
        "one token for both"
    );
    assert_eq!(
        seen[0].json(),
        json!({ "grant_type": "client_credentials", "client_id": SW_ID, "client_secret": SW_SECRET })
    );
    let tag_id = shopbip::platforms::shopware::api::tag_id("whatsapp-delivered");
    for patch in &seen[1..] {
        assert_eq!(patch.header("authorization"), Some("Bearer tok-1"));
        assert_eq!(
            patch.json(),
            json!({ "tags": [{ "id": tag_id, "name": "whatsapp-delivered" }] })
        );
    }
}

#[tokio::test]
async fn shopware_renews_a_refused_token_once_then_names_the_credentials() {
    let order = format!("/api/order/{SW_ORDER}");
    let api = StandIn::start(vec![
        (
            "POST",
            "/api/oauth/token",
            vec![token("tok-1"), token("tok-2")],
        ),
        (
            "PATCH",
            &order,
            vec![
                reply(
                    401,
                    json!({ "errors": [{ "status": "401", "title": "Unauthorized", "detail": "Access token is invalid" }] }),
                ),
                reply(204, Value::Null),
                reply(429, Value::Null).with("Retry-After", "30"),
                reply(
                    401,
                    json!({ "errors": [{ "status": "401", "detail": "Access token is invalid" }] }),
                ),
            ],
        ),
    ]);
    let access = shopware(&api.base);
    assert_eq!(
        write_back(&http(), &access, SW_ORDER, &NOTE).await,
        Ok(true)
    );
    let auth: Vec<Option<String>> = api
        .seen()
        .iter()
        .filter(|s| s.method == "PATCH")
        .map(|s| s.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        auth,
        [
            Some("Bearer tok-1".to_owned()),
            Some("Bearer tok-2".to_owned())
        ]
    );
    match write_back(&http(), &access, SW_ORDER, &NOTE).await {
        Err(WriteBackError::Transient { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(30)))
        }
        other => panic!("{other:?}"),
    }
    // tok-2 refused: a new token (the stand-in's last is tok-2 again), refused again.
    let reason = permanent(write_back(&http(), &access, SW_ORDER, &NOTE).await);
    assert!(
        reason.contains("shopware.client_id / client_secret"),
        "{reason}"
    );
    assert!(
        !reason.contains(SW_SECRET) && !reason.contains("tok-"),
        "{reason}"
    );
}

#[tokio::test]
async fn shopware_refused_credentials_are_named() {
    let api = StandIn::start(vec![(
        "POST",
        "/api/oauth/token",
        vec![reply(
            401,
            json!({ "errors": [{ "code": "9", "status": "401", "title": "Unauthorized", "detail": "Client authentication failed" }] }),
        )],
    )]);
    let reason = permanent(write_back(&http(), &shopware(&api.base), SW_ORDER, &NOTE).await);
    assert!(
        reason.contains("shopware.client_id / client_secret"),
        "{reason}"
    );
    assert!(reason.contains("Client authentication failed"), "{reason}");
    assert!(!reason.contains(SW_SECRET), "{reason}");
}

// ---- BigCommerce ----

const BC_TOKEN: &str = "bc-api-token-1a2b3c";
const BC_ORDER: &str = "/stores/k7xq2m9p4a/v2/orders/250";

fn bigcommerce(base: &str) -> ApiAccess {
    access(
        "bigcommerce",
        &format!(
            "[bigcommerce]\nstore_hash = \"k7xq2m9p4a\"\naccess_token = \"{BC_TOKEN}\"\napi_base_url = \"{base}\"\n"
        ),
    )
}

#[tokio::test]
async fn bigcommerce_gets_a_line_in_the_staff_notes() {
    let api = StandIn::start(vec![
        (
            "GET",
            BC_ORDER,
            vec![
                reply(200, json!({ "id": 250, "staff_notes": "" })),
                reply(
                    200,
                    json!({ "id": 250, "staff_notes": "Call before delivery" }),
                ),
                reply(
                    200,
                    json!({ "id": 250, "staff_notes": format!("Call before delivery\n{TEXT}") }),
                ),
            ],
        ),
        ("PUT", BC_ORDER, vec![reply(200, json!({ "id": 250 }))]),
    ]);
    let access = bigcommerce(&api.base);
    for _ in 0..3 {
        assert_eq!(write_back(&http(), &access, "250", &NOTE).await, Ok(true));
    }
    let seen = api.seen();
    for s in &seen {
        assert_eq!(s.path, BC_ORDER);
        assert_eq!(s.header("x-auth-token"), Some(BC_TOKEN));
        assert_eq!(s.header("accept"), Some("application/json"));
    }
    let puts: Vec<Value> = seen
        .iter()
        .filter(|s| s.method == "PUT")
        .map(Seen::json)
        .collect();
    assert_eq!(
        puts,
        [
            json!({ "staff_notes": TEXT }),
            json!({ "staff_notes": format!("Call before delivery\n{TEXT}") }),
        ],
        "the merchant's notes kept, the line not written twice"
    );
}

#[tokio::test]
async fn bigcommerce_rate_limits_wait_and_a_refused_token_is_named() {
    let api = StandIn::start(vec![(
        "GET",
        BC_ORDER,
        vec![
            reply(429, Value::Null).with("X-Rate-Limit-Time-Reset-Ms", "1500"),
            reply(429, Value::Null).with("Retry-After", "4"),
            reply(
                401,
                json!([{ "status": 401, "message": "You are not authorized" }]),
            ),
        ],
    )]);
    let access = bigcommerce(&api.base);
    for expected in [Duration::from_millis(1500), Duration::from_secs(4)] {
        match write_back(&http(), &access, "250", &NOTE).await {
            Err(WriteBackError::Transient { retry_after, .. }) => {
                assert_eq!(retry_after, Some(expected))
            }
            other => panic!("{other:?}"),
        }
    }
    let reason = permanent(write_back(&http(), &access, "250", &NOTE).await);
    assert!(reason.contains("bigcommerce.access_token"), "{reason}");
    assert!(reason.contains("Orders modify"), "{reason}");
    assert!(!reason.contains(BC_TOKEN), "{reason}");
}

/// The note text as a store in French writes it, end to end into the request.
#[tokio::test]
async fn the_note_goes_out_in_the_store_language() {
    let api = StandIn::start(vec![("POST", WOO_NOTES, vec![reply(201, json!({}))])]);
    // 2026-12-03 14:02:30 UTC, delivered a minute later.
    let text = note_text(
        "fr",
        Some("INV-000123"),
        1_796_306_550_000,
        Some(("delivered", 1_796_306_610_000, None)),
    );
    let note = Note {
        text: &text,
        tag: "whatsapp-delivered",
    };
    assert_eq!(
        write_back(&http(), &woo(&api.base), "727", &note).await,
        Ok(true)
    );
    assert_eq!(
        api.seen()[0].json()["note"],
        "Facture WhatsApp INV-000123 envoyée à 14:02 UTC · remise à 14:03 UTC"
    );
}
