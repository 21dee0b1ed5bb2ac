//! The delivery lookup against the sandbox: the route and headers it uses, what the moving
//! state reads as, and the failure classes it shares with upload and send.

use super::*;
use shopbip::buzzbip::{DeliveryState, MAX_ANSWER_BYTES};
use shopbip::sandbox::DeliveryUpdate;

const TO: &str = "21696816277";

fn text_send() -> SendRequest {
    SendRequest {
        to: TO.into(),
        country_code: "TN".into(),
        body_params: vec!["1001".into()],
        buttons: vec![],
        header_media_id: None,
    }
}

async fn send(client: &BuzzbipClient) -> String {
    client
        .send_template(1290, &text_send())
        .await
        .expect("send succeeds")
        .whatsapp_bulk_group_id
}

fn delays(sent: u64, delivered: u64) -> DeliveryUpdate {
    DeliveryUpdate {
        sent_after_ms: Some(sent),
        delivered_after_ms: Some(delivered),
        not_on_whatsapp: None,
    }
}

#[tokio::test]
async fn a_send_reads_accepted_then_delivered_through_the_documented_route() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    sb.control
        .set_delivery(&delays(60_000, 60_000))
        .await
        .unwrap();
    let before = shopbip::clock::now_ms();
    let group = send(&client).await;

    let accepted = client.delivery(&group, TO).await.unwrap().unwrap();
    assert_eq!(accepted.state, DeliveryState::Accepted);
    assert_eq!(accepted.raw, "accepted");
    assert_eq!(accepted.reason, None);
    let at = accepted.at.expect("updated_at read");
    assert!(
        at >= before - 1000 && at <= shopbip::clock::now_ms(),
        "{at}"
    );

    sb.control.deliver_immediately().await.unwrap();
    let delivered = client.delivery(&group, TO).await.unwrap().unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert!(delivered.state.is_final());

    let lookups = sb.control.calls_to("/api/whatsapp").await.unwrap();
    assert_eq!(lookups.len(), 2);
    for call in &lookups {
        assert_eq!(call.method, "GET");
        assert_eq!(call.path, "/api/whatsapp/", "the trailing slash is kept");
        assert_eq!(call.status, 200);
        assert_eq!(call.header("x-api-key"), Some("demo-api-key"));
        assert_eq!(call.header("x-platform-type"), Some("woocommerce"));
        assert_eq!(call.header("x-base-uri"), Some("https://shop.acme.test"));
        assert!(call.header("authorization").unwrap().starts_with("Bearer "));
        let query: Vec<(String, String)> = url::form_urlencoded::parse(call.query.as_bytes())
            .into_owned()
            .collect();
        assert!(
            query.contains(&("whatsapp_bulk_group_id".into(), group.clone())),
            "{query:?}"
        );
    }
    assert_eq!(sb.logins().await, 1, "the send's token serves the lookups");
}

#[tokio::test]
async fn a_number_not_on_whatsapp_reads_failed_with_the_reason() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    sb.control.deliver_immediately().await.unwrap();
    sb.control
        .set_not_on_whatsapp(&["+216 96 816 277"])
        .await
        .unwrap();
    let group = send(&client).await;
    let failed = client.delivery(&group, TO).await.unwrap().unwrap();
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(failed.raw, "failed");
    assert_eq!(
        failed.reason.as_deref(),
        Some("recipient is not on WhatsApp")
    );
    assert!(failed.at.is_some());
}

#[tokio::test]
async fn another_accounts_group_and_a_hostile_id_are_permanent_404s() {
    let sb = spawn_sandbox();
    let group = send(&sb.client(OTHER)).await;
    let client = sb.client(DEMO);
    let err = client.delivery(&group, TO).await.unwrap_err();
    assert!(
        matches!(err, BuzzbipError::Rejected { status: 404, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(err.to_string().contains("delivery lookup"), "{err}");

    // A group id is stored input: it must stay one query value, whatever it holds.
    let hostile = "g&page=9&whatsapp_bulk_group_id=x#frag /../v2?";
    let err = client.delivery(hostile, TO).await.unwrap_err();
    assert!(
        matches!(err, BuzzbipError::Rejected { status: 404, .. }),
        "{err:?}"
    );
    let call = sb
        .control
        .calls_to("/api/whatsapp")
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(call.path, "/api/whatsapp/");
    let ids: Vec<String> = url::form_urlencoded::parse(call.query.as_bytes())
        .filter(|(k, _)| k == "whatsapp_bulk_group_id")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(ids, [hostile]);
}

#[tokio::test]
async fn lookups_share_the_relogin_and_the_failure_classes() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    sb.control.deliver_immediately().await.unwrap();
    let group = send(&client).await;

    sb.control.expire_tokens().await.unwrap();
    let obs = client.delivery(&group, TO).await.unwrap().unwrap();
    assert_eq!(obs.state, DeliveryState::Delivered);
    assert_eq!(sb.logins().await, 2, "one re-login after the 401");

    sb.control
        .add_fault(&fault(
            FaultTarget::Delivery,
            FaultKind::ServerError { status: 503 },
            1,
        ))
        .await
        .unwrap();
    let err = client.delivery(&group, TO).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    sb.control
        .add_fault(&fault(
            FaultTarget::Delivery,
            FaultKind::RateLimit {
                retry_after_secs: Some(9),
            },
            1,
        ))
        .await
        .unwrap();
    let err = client.delivery(&group, TO).await.unwrap_err();
    assert_eq!(
        err.class(),
        ErrorClass::Transient {
            retry_after: Some(Duration::from_secs(9))
        }
    );

    sb.control
        .add_fault(&fault(
            FaultTarget::Delivery,
            FaultKind::JsendFail {
                message: "Unknown group".into(),
            },
            1,
        ))
        .await
        .unwrap();
    let err = client.delivery(&group, TO).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err:?}");
}

#[tokio::test]
async fn a_group_with_nothing_listed_yet_is_none_not_a_failure() {
    let (base, _server) = stand_in(StandIn::EmptyList).await;
    let client = stand_in_client(&base);
    assert_eq!(client.delivery("g1", TO).await.unwrap(), None);
}

#[tokio::test]
async fn an_answer_over_the_cap_is_not_read_and_fails_permanently() {
    let (base, _server) = stand_in(StandIn::Huge).await;
    let client = stand_in_client(&base);
    let err = client.delivery("g1", TO).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err:?}");
    let text = err.to_string();
    assert!(text.contains("not read"), "{text}");
    assert!(
        text.len() < 2000,
        "the huge body is not carried: {}",
        text.len()
    );
}

#[tokio::test]
async fn a_streamed_answer_is_cut_at_the_cap_and_a_huge_5xx_stays_transient() {
    let (base, _server) = stand_in(StandIn::HugeStreamed).await;
    let err = stand_in_client(&base).delivery("g1", TO).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err:?}");
    assert!(err.to_string().contains("not read"), "{err}");

    let (base, _server) = stand_in(StandIn::Huge5xx).await;
    let err = stand_in_client(&base).delivery("g1", TO).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().len() < 2000);
}

/// A Buzzbip stand-in for answers the sandbox never gives.
#[derive(Clone, Copy)]
enum StandIn {
    EmptyList,
    Huge,
    /// Chunked, no Content-Length: only counting the bytes can stop it.
    HugeStreamed,
    Huge5xx,
}

async fn stand_in(kind: StandIn) -> (String, actix_web::dev::ServerHandle) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new()
            .route(
                "/api/login_check",
                web::post().to(|| async { HttpResponse::Ok().json(serde_json::json!({"token": "t"})) }),
            )
            .route(
                "/api/whatsapp/",
                web::get().to(move || async move {
                    match kind {
                        StandIn::EmptyList => HttpResponse::Ok().json(
                            serde_json::json!({"status": "success", "data": {"items": [], "total": 0}}),
                        ),
                        StandIn::HugeStreamed => {
                            let chunk = web::Bytes::from(vec![b' '; 64 * 1024]);
                            let chunks = (0..(MAX_ANSWER_BYTES / chunk.len() + 4))
                                .map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
                            HttpResponse::Ok()
                                .content_type("application/json")
                                .streaming(futures_util::stream::iter(chunks))
                        }
                        StandIn::Huge5xx => HttpResponse::BadGateway()
                            .content_type("text/html")
                            .body("<p>".repeat(MAX_ANSWER_BYTES)),
                        StandIn::Huge => {
                            let filler = "x".repeat(MAX_ANSWER_BYTES + 10);
                            HttpResponse::Ok()
                                .content_type("application/json")
                                .body(format!(r#"{{"status":"success","data":[],"pad":"{filler}"}}"#))
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
    (base, handle)
}

fn stand_in_client(base: &str) -> BuzzbipClient {
    let credentials = shopbip::buzzbip::Credentials {
        base_url: base.to_owned(),
        username: "u".into(),
        password: secrecy::SecretString::from("p"),
        api_key: secrecy::SecretString::from("k"),
        platform_type: "woocommerce".into(),
        base_uri: "https://shop.acme.test".into(),
    };
    BuzzbipClient::new(
        shopbip::buzzbip::http_client(&ClientOptions::default()),
        &TokenCache::new(),
        credentials,
        ClientOptions::default(),
    )
    .unwrap()
}
