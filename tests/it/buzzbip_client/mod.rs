//! The Buzzbip client against the sandbox, over loopback HTTP.

mod calls;
mod delivery;

use std::time::Duration;

use crate::common::*;
use shopbip::buzzbip::{
    BuzzbipClient, BuzzbipError, ClientOptions, ErrorClass, SendRequest, TokenCache,
};
use shopbip::sandbox::{Fault, FaultKind, FaultTarget, SandboxConfig};

fn send_request(media_id: Option<String>) -> SendRequest {
    SendRequest {
        to: "21696816277".into(),
        country_code: "TN".into(),
        body_params: vec!["Amira".into(), "1001".into()],
        buttons: vec![],
        header_media_id: media_id,
    }
}

async fn upload(client: &BuzzbipClient) -> String {
    client
        .upload_pdf("Invoice-1001.pdf", pdf("invoice 1001"))
        .await
        .expect("upload succeeds")
}

fn fault(on: FaultTarget, kind: FaultKind, times: u32) -> Fault {
    Fault { on, kind, times }
}

#[tokio::test]
async fn one_login_serves_a_hundred_concurrent_sends() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    let media = upload(&client).await;
    let sends = (0..100).map(|_| {
        let client = client.clone();
        let media = media.clone();
        tokio::spawn(async move { client.send_template(1289, &send_request(Some(media))).await })
    });
    for send in futures_util::future::join_all(sends).await {
        send.unwrap().expect("send succeeds");
    }
    assert_eq!(sb.logins().await, 1);
    assert_eq!(
        sb.control
            .calls_to("/api/v2/whatsapp/templates/1289/send")
            .await
            .unwrap()
            .len(),
        100
    );
}

#[tokio::test]
async fn clients_of_one_account_share_one_token() {
    let sb = spawn_sandbox();
    let tokens = TokenCache::new();
    let a = sb.client_with(sb.credentials(DEMO), ClientOptions::default(), &tokens);
    let b = sb.client_with(sb.credentials(DEMO), ClientOptions::default(), &tokens);
    let media = upload(&a).await;
    b.send_template(1289, &send_request(Some(media)))
        .await
        .unwrap();
    assert_eq!(sb.logins().await, 1);
}

#[tokio::test]
async fn forced_expiry_causes_exactly_one_relogin_and_the_call_succeeds() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    let media = upload(&client).await;
    sb.control.expire_tokens().await.unwrap();
    let receipt = client
        .send_template(1289, &send_request(Some(media)))
        .await
        .unwrap();
    assert!(!receipt.whatsapp_bulk_group_id.is_empty());
    assert_eq!(sb.logins().await, 2);
    let sends = sb
        .control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap();
    let statuses: Vec<u16> = sends.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [401, 200]);
}

#[tokio::test]
async fn a_token_refused_even_after_relogin_is_transient() {
    let sb = spawn_sandbox();
    let client = sb.client(DEMO);
    let media = upload(&client).await;
    sb.control
        .add_fault(&fault(FaultTarget::Send, FaultKind::ExpiredToken, 2))
        .await
        .unwrap();
    let err = client
        .send_template(1289, &send_request(Some(media)))
        .await
        .unwrap_err();
    assert!(matches!(err, BuzzbipError::TokenRejected { .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(sb.logins().await, 2, "one re-login, not a loop");
}

#[tokio::test]
async fn token_is_renewed_before_its_jwt_exp() {
    let config = SandboxConfig {
        token_ttl_secs: 2,
        ..SandboxConfig::default()
    };
    let sb = spawn_sandbox_with(config);
    let client = sb.client(DEMO);
    let media = upload(&client).await;
    // 80 % of a 2 s lifetime is 1.6 s: after that the client must log in before calling.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    client
        .send_template(1289, &send_request(Some(media)))
        .await
        .unwrap();
    assert_eq!(sb.logins().await, 2);
    let refused = sb
        .control
        .calls()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.status == 401)
        .count();
    assert_eq!(
        refused, 0,
        "the old token was never sent after its refresh point"
    );
}
