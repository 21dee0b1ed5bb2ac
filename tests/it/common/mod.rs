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

pub mod app {
    //! A real shopbip server on port 0 over a real SQLite file in a temp folder.
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use shopbip::http::Server;
    use shopbip::jobs::{JobFilter, JobStore, RetryPolicy};
    use shopbip::settings::Settings;
    use shopbip::stores::StoreRegistry;

    pub const WOO_SECRET: &str = "woo-secret-2026";
    pub const WOO_OLD_SECRET: &str = "woo-secret-2025";
    pub const SHOPIFY_SECRET: &str = "shpss_4c1d2b0e";

    pub struct TestApp {
        pub base: String,
        pub http: reqwest::Client,
        pub store: Arc<dyn JobStore>,
        pub db_url: String,
        pub dir: tempfile::TempDir,
    }

    pub fn woo_profile(buzzbip_url: &str) -> String {
        format!(
            r#"platform = "woocommerce"
base_uri = "https://shop.acme.test"
default_country = "TN"
[webhook]
secrets = ["{WOO_OLD_SECRET}", "{WOO_SECRET}"]
[buzzbip]
base_url = "{buzzbip_url}"
username = "demo@shopbip.test"
password = "demo-password"
api_key = "demo-api-key"
[invoice]
language = "fr"
seller_name = "Acme SARL"
[[notify]]
on = "order.paid"
template_id = 1289
body_params = ["{{customer.first_name}}", "{{order.number}}"]
"#
        )
    }

    pub fn shopify_profile(buzzbip_url: &str) -> String {
        format!(
            r#"platform = "shopify"
base_uri = "https://atlas-argan.myshopify.com"
default_country = "MA"
[webhook]
secrets = ["{SHOPIFY_SECRET}"]
[buzzbip]
base_url = "{buzzbip_url}"
username = "demo@shopbip.test"
password = "demo-password"
api_key = "demo-api-key"
[[notify]]
on = "order.created"
template_id = 1290
body_params = ["{{order.number}}"]
attach_invoice = false
[[notify]]
on = "order.paid"
template_id = 1289
body_params = ["{{customer.first_name}}", "{{order.number}}"]
"#
        )
    }

    pub fn write_profiles(dir: &Path, buzzbip_url: &str) -> PathBuf {
        let stores = dir.join("plugin-config");
        std::fs::create_dir_all(&stores).unwrap();
        std::fs::write(stores.join("acme-woo.toml"), woo_profile(buzzbip_url)).unwrap();
        std::fs::write(
            stores.join("atlas-shopify.toml"),
            shopify_profile(buzzbip_url),
        )
        .unwrap();
        stores
    }

    pub async fn spawn_app() -> TestApp {
        spawn_app_with(|_| {}).await
    }

    pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let stores_dir = write_profiles(dir.path(), "http://127.0.0.1:9");
        let mut settings = Settings::default();
        settings.server.port = 0;
        settings.stores.dir = stores_dir;
        settings.database.url = super::db::fresh_url(dir.path()).await;
        adjust(&mut settings);
        let registry = Arc::new(arc_swap::ArcSwap::from_pointee(
            StoreRegistry::load_dir(&settings.stores.dir).expect("profiles load"),
        ));
        let store = shopbip::jobs::open(&settings.database.url, RetryPolicy::default())
            .await
            .unwrap();
        let app = Server::build(&settings, registry, store.clone()).unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            http: reqwest::Client::new(),
            store,
            db_url: settings.database.url,
            dir,
        }
    }

    impl TestApp {
        pub async fn post(
            &self,
            store: &str,
            headers: &[(&str, String)],
            body: Vec<u8>,
        ) -> reqwest::Response {
            let mut req = self
                .http
                .post(format!("{}/webhooks/{store}", self.base))
                .header("content-type", "application/json")
                .body(body);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            req.send().await.unwrap()
        }

        pub async fn jobs(&self) -> Vec<shopbip::jobs::Job> {
            self.store
                .list(&JobFilter {
                    limit: 1000,
                    ..JobFilter::default()
                })
                .await
                .unwrap()
        }

        /// Counted with SQL on the database, not through the store under test.
        pub async fn count(&self, table: &str) -> i64 {
            super::db::scalar(&self.db_url, &format!("SELECT COUNT(*) FROM {table}")).await
        }
    }
}

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

pub mod pipeline {
    //! The whole service (receiver, workers, reaper) on a real SQLite file, talking to a real
    //! sandbox over loopback.
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use shopbip::app::Application;
    use shopbip::jobs::{Job, JobFilter, JobState};
    use shopbip::settings::Settings;
    use shopbip::stores::StoreRegistry;

    use super::TestSandbox;

    pub struct Pipeline {
        pub sandbox: TestSandbox,
        pub service: Application,
        pub base: String,
        pub http: reqwest::Client,
        pub dir: tempfile::TempDir,
    }

    pub async fn test_settings(dir: &Path, stores: PathBuf) -> Settings {
        let mut settings = Settings::default();
        settings.server.port = 0;
        settings.stores.dir = stores;
        settings.database.url = super::db::fresh_url(dir).await;
        settings.worker.poll_interval_ms = 20;
        settings.worker.concurrency = 4;
        settings.worker.rate_per_second = 1000;
        settings.worker.retry_base_ms = 200;
        settings.worker.lease_secs = 10;
        settings.admin.token = secrecy::SecretString::from(ADMIN_TOKEN);
        settings
    }

    pub const ADMIN_TOKEN: &str = "admin-test-token";

    /// `profiles` gets the sandbox URL and writes store profiles into the folder it is given.
    pub async fn start(profiles: impl FnOnce(&Path, &str)) -> Pipeline {
        let sandbox = super::spawn_sandbox();
        let dir = tempfile::tempdir().unwrap();
        let stores = dir.path().join("plugin-config");
        std::fs::create_dir_all(&stores).unwrap();
        profiles(&stores, &sandbox.handle.base_url());
        let settings = test_settings(dir.path(), stores.clone()).await;
        let registry = StoreRegistry::load_dir(&stores).unwrap_or_else(|e| panic!("{e:?}"));
        let service = Application::build(&settings, registry, shopbip::stores::reload::as_loaded())
            .await
            .unwrap();
        Pipeline {
            base: format!("http://127.0.0.1:{}", service.port),
            sandbox,
            service,
            http: reqwest::Client::new(),
            dir,
        }
    }

    impl Pipeline {
        pub async fn post(
            &self,
            store: &str,
            headers: &[(&str, String)],
            body: Vec<u8>,
        ) -> reqwest::Response {
            let mut req = self
                .http
                .post(format!("{}/webhooks/{store}", self.base))
                .header("content-type", "application/json")
                .body(body);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            req.send().await.unwrap()
        }

        pub async fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
            self.http
                .request(method, format!("{}{path}", self.base))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
        }

        pub async fn jobs(&self) -> Vec<Job> {
            self.service
                .jobs
                .list(&JobFilter {
                    limit: 1000,
                    ..Default::default()
                })
                .await
                .unwrap()
        }

        /// Waits until `n` jobs exist and none is queued or running.
        pub async fn settled(&self, n: usize) -> Vec<Job> {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let jobs = self.jobs().await;
                let open = jobs
                    .iter()
                    .any(|j| matches!(j.state, JobState::Queued | JobState::Running));
                if jobs.len() >= n && !open {
                    return jobs;
                }
                assert!(
                    Instant::now() < deadline,
                    "jobs never settled: {:#?}",
                    jobs.iter()
                        .map(|j| (j.id, j.state, j.last_error.clone()))
                        .collect::<Vec<_>>()
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }
}

pub mod db {
    //! A fresh database per test: a SQLite file in the test's folder, or, when
    //! `SHOPBIP_TEST_POSTGRES` names a server (`postgres://postgres@127.0.0.1:5432`), a new
    //! PostgreSQL database on it (`.ci/run` drops them afterwards).
    use std::path::Path;
    use std::sync::atomic::{AtomicU32, Ordering};

    use sqlx::Connection;

    static NEXT: AtomicU32 = AtomicU32::new(0);

    pub fn postgres_server() -> Option<String> {
        std::env::var("SHOPBIP_TEST_POSTGRES")
            .ok()
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches('/').to_owned())
    }

    /// The server of a test that needs PostgreSQL (ignored by default, run by `.ci/run`'s
    /// PostgreSQL step): a test run without it fails rather than passes having checked nothing.
    pub fn require_postgres() -> String {
        postgres_server().unwrap_or_else(|| {
            panic!(
                "this test needs PostgreSQL: set SHOPBIP_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432"
            )
        })
    }

    pub async fn fresh_url(dir: &Path) -> String {
        match postgres_server() {
            Some(server) => {
                let name = format!(
                    "shopbip_t_{}_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::SeqCst),
                    rand::random::<u32>()
                );
                let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
                    .await
                    .expect("the test PostgreSQL server answers");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                format!("{server}/{name}")
            }
            None => format!("sqlite://{}", dir.join("shopbip.db").display()),
        }
    }

    /// Binds `$pool` to a pool of whichever backend `$url` names, runs `$body`, closes the pool.
    macro_rules! with_pool {
        ($url:expr, |$pool:ident| $body:expr) => {
            if $url.starts_with("sqlite:") {
                let $pool = sqlx::SqlitePool::connect($url).await.unwrap();
                let out = $body;
                $pool.close().await;
                out
            } else {
                let $pool = sqlx::PgPool::connect($url).await.unwrap();
                let out = $body;
                $pool.close().await;
                out
            }
        };
    }

    /// One number from SQL, on whichever backend `url` names.
    pub async fn scalar(url: &str, sql: &str) -> i64 {
        with_pool!(url, |pool| {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        })
    }

    pub async fn exec(url: &str, sql: &str) {
        with_pool!(url, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .unwrap();
        })
    }

    pub async fn text(url: &str, sql: &str) -> String {
        with_pool!(url, |pool| {
            let s: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&pool)
                .await
                .unwrap();
            s
        })
    }
}
