//! Test helpers: a real sandbox over loopback and clients pointed at it.
#![allow(dead_code)]

use std::net::TcpListener;

use secrecy::SecretString;
use shopbip::buzzbip::{BuzzbipClient, ClientOptions, Credentials, TokenCache, http_client};
use shopbip::sandbox::{self, SandboxConfig, SandboxControl, SandboxHandle};

pub struct TestSandbox {
    pub handle: SandboxHandle,
    pub control: SandboxControl,
    pub config: SandboxConfig,
}

pub fn spawn_sandbox() -> TestSandbox {
    spawn_sandbox_with(SandboxConfig::default())
}

pub fn spawn_sandbox_with(config: SandboxConfig) -> TestSandbox {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let handle = sandbox::spawn(&config, listener).expect("start the sandbox");
    let control = handle.control();
    TestSandbox {
        handle,
        control,
        config,
    }
}

impl TestSandbox {
    /// Every accepted template send, as (its `body_params[param]`, when the sandbox took it in
    /// ms): tests that count sends per order name the parameter holding the order number.
    pub async fn accepted_sends(&self, param: usize) -> Vec<(String, i64)> {
        self.control
            .calls_to("/api/v2/whatsapp/templates")
            .await
            .unwrap()
            .into_iter()
            .filter(|call| call.status == 200)
            .map(|call| {
                let json = call.json.unwrap();
                let value = json["body_params"][param].as_str().unwrap().to_owned();
                (value, call.at_ms)
            })
            .collect()
    }

    pub fn credentials(&self, username: &str) -> Credentials {
        let account = self
            .config
            .account(username)
            .unwrap_or_else(|| panic!("no sandbox account {username}"));
        Credentials {
            base_url: self.handle.base_url(),
            username: account.username.clone(),
            password: SecretString::from(account.password.clone()),
            api_key: SecretString::from(account.api_key.clone()),
            platform_type: "woocommerce".into(),
            base_uri: "https://shop.acme.test".into(),
        }
    }

    pub fn client(&self, username: &str) -> BuzzbipClient {
        self.client_with(
            self.credentials(username),
            ClientOptions::default(),
            &TokenCache::new(),
        )
    }

    pub fn client_with(
        &self,
        credentials: Credentials,
        options: ClientOptions,
        tokens: &TokenCache,
    ) -> BuzzbipClient {
        BuzzbipClient::new(http_client(&options), tokens, credentials, options)
            .expect("a loopback sandbox URL is accepted")
    }

    pub async fn logins(&self) -> usize {
        self.control
            .calls_to("/api/login_check")
            .await
            .unwrap()
            .len()
    }
}

pub const DEMO: &str = "demo@shopbip.test";
pub const OTHER: &str = "other@shopbip.test";
pub const NO_API: &str = "noapi@shopbip.test";

pub mod read_pdf;

/// The text of a PDF (see [`read_pdf::pages`]).
pub fn pdf_text(pdf: &[u8]) -> String {
    read_pdf::text(pdf)
}

pub fn pdf(text: &str) -> bytes::Bytes {
    bytes::Bytes::from(shopbip::cli::demo::placeholder_pdf(text))
}

pub mod app;
pub mod browser;
pub mod db;
pub mod serve;

pub mod sign {
    use shopbip::platforms::signature::sign_base64;

    pub fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap_or_else(|e| panic!("fixture {path}: {e}"))
    }

    pub fn woo_headers(
        secret: &str,
        topic: &str,
        body: &[u8],
        delivery: &str,
    ) -> Vec<(&'static str, String)> {
        vec![
            ("X-WC-Webhook-Signature", sign_base64(secret, body)),
            ("X-WC-Webhook-Topic", topic.to_owned()),
            ("X-WC-Webhook-Resource", "order".to_owned()),
            ("X-WC-Webhook-Source", "https://shop.acme.test/".to_owned()),
            ("X-WC-Webhook-ID", "12".to_owned()),
            ("X-WC-Webhook-Delivery-ID", delivery.to_owned()),
        ]
    }

    pub fn shopify_headers(
        secret: &str,
        topic: &str,
        body: &[u8],
        webhook_id: &str,
    ) -> Vec<(&'static str, String)> {
        vec![
            ("X-Shopify-Hmac-Sha256", sign_base64(secret, body)),
            ("X-Shopify-Topic", topic.to_owned()),
            (
                "X-Shopify-Shop-Domain",
                "atlas-argan.myshopify.com".to_owned(),
            ),
            ("X-Shopify-API-Version", "2026-10".to_owned()),
            ("X-Shopify-Webhook-Id", webhook_id.to_owned()),
            ("X-Shopify-Event-Id", format!("evt-{webhook_id}")),
        ]
    }
}
