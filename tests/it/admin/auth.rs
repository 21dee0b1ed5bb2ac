//! Who may call the admin API (the token, its scheme, the API off without one) and how it
//! refuses: before reading the request, and always as JSON.

use super::{WOO_PAID, assert_json_error, post_paid, woo_store};
use crate::common;
use crate::common::app::{ADMIN_TOKEN, WOO_SECRET, start};
use crate::common::sign::*;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn admin_routes_refuse_a_missing_or_wrong_token_and_serve_with_it() {
    let p = start(woo_store).await;
    assert_eq!(
        post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await,
        200
    );
    let jobs = p.settled(1).await;
    let id = jobs[0].id;
    for path in [
        "/admin/stores",
        "/admin/jobs",
        &format!("/admin/jobs/{id}"),
        "/admin/openapi.json",
    ] {
        let none = p
            .http
            .get(format!("{}{path}", p.base))
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), 401, "{path} without a token");
        let wrong = p
            .http
            .get(format!("{}{path}", p.base))
            .bearer_auth("admin-test-tokeN")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path} with a wrong token");
    }
    let replay = p
        .http
        .post(format!("{}/admin/jobs/{id}/replay", p.base))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);

    let stores: Value = p
        .admin(Method::GET, "/admin/stores")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stores[0]["id"], "acme-woo");
    assert_eq!(stores[0]["platform"], "woocommerce");
    assert_eq!(stores[0]["jobs"]["done"], 1);
    assert!(
        stores[0]["last_webhook_at_ms"].as_i64().unwrap() > 0
            && stores[0]["last_send_at_ms"].as_i64().unwrap() > 0
    );

    let page: Value = p
        .admin(
            Method::GET,
            "/admin/jobs?store=acme-woo&state=done&order=5120",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(page["jobs"][0]["order_number"], "5120");
    let empty: Value = p
        .admin(Method::GET, "/admin/jobs?state=dead")
        .await
        .json()
        .await
        .unwrap();
    assert!(empty["jobs"].as_array().unwrap().is_empty());
    assert_eq!(
        p.admin(Method::GET, "/admin/jobs?state=lost")
            .await
            .status(),
        400
    );

    let detail = p
        .admin(Method::GET, &format!("/admin/jobs/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let json: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(json["event"], jobs[0].kind.to_string());
    assert_eq!(json["delivery"]["topic"], "order.updated");
    assert_eq!(json["steps"]["to"], "216•••••277");
    assert!(
        json["order"]["phone"].as_str().unwrap().contains('•'),
        "{detail}"
    );
    assert!(
        !detail.contains("96816277") && !detail.contains("96 816 277"),
        "phones masked: {detail}"
    );
    assert_eq!(
        p.admin(Method::GET, "/admin/jobs/999999").await.status(),
        404
    );
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token() {
    let sandbox = common::spawn_sandbox();
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("plugin-config");
    std::fs::create_dir_all(&stores).unwrap();
    woo_store(&stores, &sandbox.handle.base_url());
    let mut settings = common::app::test_settings(dir.path(), stores.clone()).await;
    settings.admin.token = secrecy::SecretString::from("");
    let registry = shopbip::stores::StoreRegistry::load_dir(&stores).unwrap();
    let service =
        shopbip::app::Application::build(&settings, registry, shopbip::stores::reload::as_loaded())
            .await
            .unwrap();
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/admin/stores", service.port))
        .bearer_auth("")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    service.stop().await;
}

#[tokio::test]
async fn every_admin_error_is_json_including_bad_paths_and_queries() {
    let p = start(woo_store).await;
    post_paid(&p, WOO_SECRET, fixture(WOO_PAID), "d1").await;
    let id = p.settled(1).await[0].id;
    for (method, path, status, needle) in [
        (Method::GET, "/admin/jobs?limit=abc", 400, "limit"),
        (Method::GET, "/admin/jobs?limit=0", 400, "limit"),
        (Method::GET, "/admin/jobs?cursor=later", 400, "cursor"),
        (Method::GET, "/admin/jobs?state=lost", 400, "lost"),
        (Method::GET, "/admin/jobs?stat=dead", 400, "stat"),
        (Method::GET, "/admin/jobs?store=a&store=b", 400, "twice"),
        (Method::GET, "/admin/jobs/abc", 400, "abc"),
        (Method::GET, "/admin/jobs/-3", 400, "-3"),
        (
            Method::GET,
            "/admin/jobs/99999999999999999999",
            400,
            "job id",
        ),
        (Method::POST, "/admin/jobs/abc/replay", 400, "abc"),
        (Method::GET, "/admin/jobs/999999", 404, "no job 999999"),
        (Method::POST, "/admin/jobs/999999/replay", 404, "no job"),
        (Method::GET, "/admin/nope", 404, "no admin route"),
        (Method::GET, "/admin", 404, "no admin route"),
        (
            Method::DELETE,
            &format!("/admin/jobs/{id}"),
            405,
            "allowed: GET",
        ),
        (
            Method::GET,
            &format!("/admin/jobs/{id}/replay"),
            405,
            "allowed: POST",
        ),
        (Method::POST, "/admin/stores", 405, "allowed: GET"),
    ] {
        let what = format!("{method} {path}");
        let resp = p.admin(method, path).await;
        let message = assert_json_error(resp, status, &what).await;
        assert!(message.contains(needle), "{what}: {message}");
    }
    // The one query that still works with empty values (the README's template).
    assert_eq!(
        p.admin(
            Method::GET,
            "/admin/jobs?store=&state=&order=&limit=&cursor="
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let p = start(woo_store).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let resp = p
            .http
            .get(format!("{}/admin/stores", p.base))
            .header("authorization", format!("{scheme} {ADMIN_TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{scheme}");
    }
    for value in [
        format!("Basic {ADMIN_TOKEN}"),
        format!("Bearer{ADMIN_TOKEN}"),
        format!("bearer {ADMIN_TOKEN}x"),
        format!("bearer {}", &ADMIN_TOKEN[1..]),
        ADMIN_TOKEN.to_owned(),
        "bearer".to_owned(),
    ] {
        let resp = p
            .http
            .get(format!("{}/admin/stores", p.base))
            .header("authorization", &value)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer realm=\"shopbip admin\""),
            "{value}"
        );
        assert_json_error(resp, 401, &value).await;
    }
}

#[tokio::test]
async fn an_unauthenticated_request_is_refused_before_its_path_or_query_is_read() {
    let p = start(woo_store).await;
    for (method, path) in [
        (Method::GET, "/admin/jobs?limit=abc"),
        (Method::GET, "/admin/jobs?stat=dead"),
        (Method::GET, "/admin/jobs/abc"),
        (Method::POST, "/admin/jobs/abc/replay"),
        (Method::GET, "/admin/nope"),
        (Method::DELETE, "/admin/jobs/1"),
    ] {
        let what = format!("{method} {path}");
        let none = p
            .http
            .request(method.clone(), format!("{}{path}", p.base))
            .send()
            .await
            .unwrap();
        assert_json_error(none, 401, &format!("{what} without a token")).await;
        let wrong = p
            .http
            .request(method, format!("{}{path}", p.base))
            .bearer_auth("admin-test-tokeN")
            .send()
            .await
            .unwrap();
        assert_json_error(wrong, 401, &format!("{what} with a wrong token")).await;
    }
}
