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

pub fn pdf(text: &str) -> bytes::Bytes {
    bytes::Bytes::from(shopbip::demo::placeholder_pdf(text))
}
