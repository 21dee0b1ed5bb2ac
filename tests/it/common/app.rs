//! The one harness: the whole service (receiver, workers, reaper, hot reload) on port 0 over a
//! fresh database (SQLite file in a temp folder, or PostgreSQL with `SHOPBIP_TEST_POSTGRES`),
//! with a real Buzzbip sandbox over loopback. [`start`] runs the workers; [`spawn_app`] runs
//! none (`worker.concurrency = 0`), for tests of what the receiver alone stores.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shopbip::app::Application;
use shopbip::jobs::{Job, JobFilter, JobState};
use shopbip::settings::Settings;
use shopbip::stores::StoreRegistry;

use super::TestSandbox;

pub const WOO_SECRET: &str = "woo-secret-2026";
pub const WOO_OLD_SECRET: &str = "woo-secret-2025";
pub const SHOPIFY_SECRET: &str = "shpss_4c1d2b0e";
pub const ADMIN_TOKEN: &str = "admin-test-token";

pub struct TestApp {
    pub sandbox: TestSandbox,
    pub service: Application,
    pub base: String,
    pub http: reqwest::Client,
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

/// The WooCommerce and Shopify stores of [`spawn_app`], into the stores folder `stores`.
pub fn write_profiles(stores: &Path, buzzbip_url: &str) {
    std::fs::write(stores.join("acme-woo.toml"), woo_profile(buzzbip_url)).unwrap();
    std::fs::write(
        stores.join("atlas-shopify.toml"),
        shopify_profile(buzzbip_url),
    )
    .unwrap();
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

/// With workers: `profiles` gets the sandbox URL and writes store profiles into the folder it
/// is given.
pub async fn start(profiles: impl FnOnce(&Path, &str)) -> TestApp {
    start_with(profiles, |_| {}).await
}

/// Without workers, the two stores of [`write_profiles`] (pointed at the sandbox): jobs stay
/// queued as the receiver stored them.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with settings of its own (`adjust` runs last).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    start_with(write_profiles, |settings| {
        settings.worker.concurrency = 0;
        adjust(settings);
    })
    .await
}

pub async fn start_with(
    profiles: impl FnOnce(&Path, &str),
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let sandbox = super::spawn_sandbox();
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("plugin-config");
    std::fs::create_dir_all(&stores).unwrap();
    profiles(&stores, &sandbox.handle.base_url());
    let mut settings = test_settings(dir.path(), stores.clone()).await;
    adjust(&mut settings);
    let registry =
        StoreRegistry::load_dir(&settings.stores.dir).unwrap_or_else(|e| panic!("{e:?}"));
    let service = Application::build(&settings, registry, shopbip::stores::reload::as_loaded())
        .await
        .unwrap();
    TestApp {
        base: format!("http://127.0.0.1:{}", service.port),
        sandbox,
        service,
        http: reqwest::Client::new(),
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

    /// Counted with SQL on the database, not through the store under test.
    pub async fn count(&self, table: &str) -> i64 {
        super::db::scalar(&self.db_url, &format!("SELECT COUNT(*) FROM {table}")).await
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
