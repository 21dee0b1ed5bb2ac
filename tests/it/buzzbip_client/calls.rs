//! What each call carries (token, plugin headers, its account's media) and what each answer
//! becomes: transient or permanent, with a reason a merchant can read.

use super::*;

#[tokio::test]
async fn rate_limit_is_transient_with_the_retry_after_delay() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    sb.control
        .add_fault(&fault(
            FaultTarget::Upload,
            FaultKind::RateLimit {
                retry_after_secs: Some(7),
            },
            1,
        ))
        .await
        .unwrap();
    let err = client.upload_pdf("a.pdf", pdf("a")).await.unwrap_err();
    assert_eq!(
        err.class(),
        ErrorClass::Transient {
            retry_after: Some(Duration::from_secs(7))
        },
        "{err}"
    );
    // The fault was used up: the next upload goes through.
    upload(&client).await;
}

#[tokio::test]
async fn server_errors_are_transient() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    for status in [500, 503] {
        sb.control
            .add_fault(&fault(
                FaultTarget::Send,
                FaultKind::ServerError { status },
                1,
            ))
            .await
            .unwrap();
        let err = client
            .send_template(1289, &send_request(None))
            .await
            .unwrap_err();
        assert_eq!(
            err.class(),
            ErrorClass::Transient { retry_after: None },
            "{err}"
        );
        assert!(err.to_string().contains(&status.to_string()), "{err}");
    }
}

#[tokio::test]
async fn jsend_fail_behind_http_200_is_permanent_and_carries_the_body() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    let media = upload(&client).await;
    sb.control
        .add_fault(&fault(
            FaultTarget::Send,
            FaultKind::JsendFail {
                message: "Template paused by Meta".into(),
            },
            1,
        ))
        .await
        .unwrap();
    let err = client
        .send_template(1289, &send_request(Some(media)))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(
        matches!(err, BuzzbipError::Rejected { status: 200, .. }),
        "{err:?}"
    );
    let body = err.body().unwrap();
    assert!(
        body.contains("\"status\":\"fail\"") && body.contains("Template paused by Meta"),
        "{body}"
    );
}

#[tokio::test]
async fn jsend_error_behind_http_200_is_transient() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    sb.control
        .add_fault(&fault(
            FaultTarget::Upload,
            FaultKind::JsendError {
                message: "Rate limit exceeded, slow down".into(),
            },
            1,
        ))
        .await
        .unwrap();
    let err = client.upload_pdf("a.pdf", pdf("a")).await.unwrap_err();
    assert!(
        matches!(err, BuzzbipError::RateLimited { status: 200, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn bad_credentials_are_permanent_with_a_merchant_readable_reason() {
    let sb = spawn_sandbox();
    let mut creds = sb.credentials(DEMO);
    creds.password = secrecy::SecretString::from("wrong");
    let client = sb.client_with(creds, ClientOptions::default(), &TokenCache::new());
    let err = client.upload_pdf("a.pdf", pdf("a")).await.unwrap_err();
    assert!(
        matches!(err, BuzzbipError::BadCredentials { .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Permanent);
    let text = err.to_string();
    assert!(
        text.contains("wrong username or password") && text.contains(DEMO),
        "{text}"
    );
    assert!(
        !text.contains("wrong\""),
        "the password must not appear: {text}"
    );
    assert!(
        sb.control.calls_to("/api/v2").await.unwrap().is_empty(),
        "no call after a failed login"
    );
}

#[tokio::test]
async fn missing_api_access_is_permanent_with_a_merchant_readable_reason() {
    let sb = spawn_sandbox();
    let client = sb.client(NO_API);
    let err = client.upload_pdf("a.pdf", pdf("a")).await.unwrap_err();
    assert!(matches!(err, BuzzbipError::NoApiAccess { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(
        err.to_string()
            .contains("API access not enabled for this Buzzbip user"),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_api_key_is_permanent_and_names_the_setting() {
    let sb = spawn_sandbox();
    let mut creds = sb.credentials(DEMO);
    creds.api_key = secrecy::SecretString::from("not-the-key");
    let client = sb.client_with(creds, ClientOptions::default(), &TokenCache::new());
    let err = client.upload_pdf("a.pdf", pdf("a")).await.unwrap_err();
    assert!(matches!(err, BuzzbipError::InvalidApiKey { .. }), "{err:?}");
    assert!(err.to_string().contains("api_key"), "{err}");
    assert!(!err.to_string().contains("not-the-key"));
    assert_eq!(
        sb.logins().await,
        1,
        "an API-key refusal is not mistaken for an expired token"
    );
}

#[tokio::test]
async fn every_call_carries_the_bearer_token_and_plugin_headers_and_no_trailing_slash() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    let pdf_bytes = pdf("invoice 1001");
    let media = client
        .upload_pdf("Invoice-1001.pdf", pdf_bytes.clone())
        .await
        .unwrap();
    client
        .send_template(1289, &send_request(Some(media.clone())))
        .await
        .unwrap();
    client.delete_media(&media).await.unwrap();

    let calls = sb.control.calls().await.unwrap();
    let v2: Vec<_> = calls
        .iter()
        .filter(|c| c.path.starts_with("/api/v2/"))
        .collect();
    assert_eq!(v2.len(), 3, "{calls:#?}");
    let account = &sb.config.account(DEMO).unwrap();
    for call in &v2 {
        let auth = call.header("authorization").unwrap_or_default();
        assert!(
            auth.starts_with("Bearer ") && auth.len() > 20,
            "{} {}",
            call.method,
            call.path
        );
        assert_eq!(call.header("x-api-key"), Some(account.api_key.as_str()));
        assert_eq!(call.header("x-platform-type"), Some("woocommerce"));
        assert_eq!(call.header("x-base-uri"), Some("https://shop.acme.test"));
        assert!(!call.path.ends_with('/'), "{}", call.path);
        assert_eq!(call.status, 200, "{} {}", call.method, call.path);
    }
    let file = v2[0].file.as_ref().expect("the upload carried a file part");
    assert_eq!(file.field, "file");
    assert_eq!(file.filename.as_deref(), Some("Invoice-1001.pdf"));
    assert_eq!(file.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(file.size, pdf_bytes.len() as u64);
    use sha2::Digest;
    assert_eq!(file.sha256, hex::encode(sha2::Sha256::digest(&pdf_bytes)));
    let sent = v2[1].json.as_ref().unwrap();
    assert_eq!(sent["header_media_id"], serde_json::json!(media));
    assert_eq!(sent["to"], "21696816277");
    assert_eq!(sent["country_code"], "TN");
    assert_eq!(sent["body_params"], serde_json::json!(["Amira", "1001"]));
    assert!(
        sb.control.media().await.unwrap().is_empty(),
        "delete removed the media"
    );
}

#[tokio::test]
async fn media_of_one_account_cannot_be_sent_by_another() {
    let sb = spawn_sandbox();
    let owner = sb.client(DEMO);
    let thief = sb.client(OTHER);
    let media = upload(&owner).await;
    let err = thief
        .send_template(1289, &send_request(Some(media.clone())))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert!(err.to_string().contains("header_media_id"), "{err}");
    // Nor can it delete it: an unknown id for that user, so nothing happens to the owner's media.
    thief.delete_media(&media).await.unwrap();
    assert_eq!(sb.control.media().await.unwrap().len(), 1);
    owner
        .send_template(1289, &send_request(Some(media)))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_client_refuses_a_non_loopback_http_base_url() {
    let sb = spawn_sandbox();
    for url in ["http://app.buzzbip.com", "http://192.168.1.20:8080"] {
        let mut creds = sb.credentials(DEMO);
        creds.base_url = url.into();
        let err = BuzzbipClient::new(
            shopbip::buzzbip::http_client(&ClientOptions::default()),
            &TokenCache::new(),
            creds,
            ClientOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, BuzzbipError::InsecureBaseUrl { .. }),
            "{url}: {err}"
        );
    }
}

#[tokio::test]
async fn unapproved_templates_and_wrong_param_counts_are_permanent() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    let media = upload(&client).await;
    let err = client
        .send_template(1300, &send_request(Some(media.clone())))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(
        err.to_string().contains("not approved") && err.to_string().contains("DRAFT"),
        "{err}"
    );

    let mut one_param = send_request(Some(media.clone()));
    one_param.body_params.pop();
    let err = client.send_template(1289, &one_param).await.unwrap_err();
    assert!(
        matches!(err, BuzzbipError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("expects 2 body parameters, 1 given"),
        "{err}"
    );

    let err = client
        .send_template(1289, &send_request(None))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("header_media_id is required"),
        "{err}"
    );
}

#[tokio::test]
async fn error_reasons_never_show_the_full_phone_number() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    sb.control
        .add_fault(&fault(
            FaultTarget::Send,
            FaultKind::JsendFail {
                message: "number 21696816277 is not on WhatsApp".into(),
            },
            1,
        ))
        .await
        .unwrap();
    let err = client
        .send_template(
            1290,
            &SendRequest {
                body_params: vec!["x".into()],
                ..send_request(None)
            },
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        !text.contains("21696816277") && text.contains("216•••••277"),
        "{text}"
    );
}

#[tokio::test]
async fn deleting_unknown_media_counts_as_already_gone() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    client.delete_media("999999").await.unwrap();
    let deletes = sb
        .control
        .calls_to("/api/v2/whatsapp/media/999999")
        .await
        .unwrap();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].status, 404);
}

#[tokio::test]
async fn an_oversized_pdf_is_refused_before_anything_is_sent() {
    let sb = spawn_sandbox();
    let options = ClientOptions {
        max_upload_bytes: 100,
        ..ClientOptions::default()
    };
    let client = sb.client_with(sb.credentials(DEMO), options, &TokenCache::new());
    let err = client
        .upload_pdf("big.pdf", pdf("more than a hundred bytes"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BuzzbipError::TooLarge { limit: 100, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(sb.control.calls().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_slow_answer_past_the_timeout_is_transient() {
    let sb = spawn_sandbox();
    let options = ClientOptions {
        timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    };
    let client = sb.client_with(sb.credentials(DEMO), options, &TokenCache::new());
    sb.control
        .add_fault(&fault(
            FaultTarget::Upload,
            FaultKind::Slow { delay_ms: 1500 },
            1,
        ))
        .await
        .unwrap();
    let err = client.upload_pdf("a.pdf", pdf("a")).await.unwrap_err();
    assert!(matches!(err, BuzzbipError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn an_unreachable_buzzbip_is_transient() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sb = spawn_sandbox();
    let mut creds = sb.credentials(DEMO);
    creds.base_url = format!("http://127.0.0.1:{port}");
    let client = sb.client_with(creds, ClientOptions::default(), &TokenCache::new());
    let err = client.upload_pdf("a.pdf", pdf("a")).await.unwrap_err();
    assert!(matches!(err, BuzzbipError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
}
