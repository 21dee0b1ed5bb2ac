//! A client for the sandbox's control API, for tests, the demo and scripts.

use anyhow::{Context, Result, bail};
use reqwest::Url;
use serde::de::DeserializeOwned;

use super::model::{Account, Call, Fault, Media, Template};

#[derive(Debug, Clone)]
pub struct SandboxControl {
    http: reqwest::Client,
    base: Url,
}

impl SandboxControl {
    pub fn new(base_url: &str) -> Result<Self> {
        Ok(Self {
            http: reqwest::Client::new(),
            base: Url::parse(base_url).with_context(|| format!("sandbox URL {base_url:?}"))?,
        })
    }

    pub async fn calls(&self) -> Result<Vec<Call>> {
        self.get("/_sandbox/calls").await
    }

    /// The recorded calls whose path starts with `prefix`.
    pub async fn calls_to(&self, prefix: &str) -> Result<Vec<Call>> {
        Ok(self
            .calls()
            .await?
            .into_iter()
            .filter(|c| c.path.starts_with(prefix))
            .collect())
    }

    pub async fn media(&self) -> Result<Vec<Media>> {
        self.get("/_sandbox/media").await
    }

    pub async fn media_content(&self, id: &str) -> Result<bytes::Bytes> {
        let resp = self
            .http
            .get(self.url(&format!("/_sandbox/media/{id}/content"))?)
            .send()
            .await?;
        Self::ok(&resp)?;
        Ok(resp.bytes().await?)
    }

    pub async fn templates(&self) -> Result<Vec<Template>> {
        self.get("/_sandbox/templates").await
    }

    pub async fn add_fault(&self, fault: &Fault) -> Result<()> {
        self.post("/_sandbox/faults", fault).await
    }

    pub async fn add_account(&self, account: &Account) -> Result<()> {
        self.post("/_sandbox/accounts", account).await
    }

    pub async fn add_template(&self, template: &Template) -> Result<()> {
        self.post("/_sandbox/templates", template).await
    }

    pub async fn expire_tokens(&self) -> Result<()> {
        self.post("/_sandbox/tokens/expire", &serde_json::json!({}))
            .await
    }

    pub async fn reset(&self) -> Result<()> {
        self.post("/_sandbox/reset", &serde_json::json!({})).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self.http.get(self.url(path)?).send().await?;
        Self::ok(&resp)?;
        Ok(resp.json().await?)
    }

    async fn post<B: serde::Serialize>(&self, path: &str, body: &B) -> Result<()> {
        let resp = self.http.post(self.url(path)?).json(body).send().await?;
        Self::ok(&resp)
    }

    fn url(&self, path: &str) -> Result<Url> {
        Ok(self.base.join(path)?)
    }

    fn ok(resp: &reqwest::Response) -> Result<()> {
        if !resp.status().is_success() {
            bail!(
                "sandbox control call {} answered {}",
                resp.url().path(),
                resp.status()
            );
        }
        Ok(())
    }
}
