//! A client for the sandbox's control API, for tests, the demo and scripts.

use anyhow::{Context, Result, bail};
use reqwest::Url;
use serde::de::DeserializeOwned;

use super::model::{
    Account, Call, DeliveryConfig, DeliveryUpdate, EventsTarget, Fault, Inbound, Media,
    PostedEvent, Template,
};

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

    pub async fn delivery(&self) -> Result<DeliveryConfig> {
        self.get("/_sandbox/delivery").await
    }

    /// Changes the delays and the numbers not on WhatsApp; what `update` leaves out stays.
    pub async fn set_delivery(&self, update: &DeliveryUpdate) -> Result<DeliveryConfig> {
        self.send_json(reqwest::Method::PUT, "/_sandbox/delivery", update)
            .await
    }

    /// Sends move on at once: `delivered`, or `failed` for the numbers not on WhatsApp.
    pub async fn deliver_immediately(&self) -> Result<DeliveryConfig> {
        self.set_delivery(&DeliveryUpdate {
            sent_after_ms: Some(0),
            delivered_after_ms: Some(0),
            not_on_whatsapp: None,
        })
        .await
    }

    pub async fn set_not_on_whatsapp(&self, numbers: &[&str]) -> Result<DeliveryConfig> {
        self.set_delivery(&DeliveryUpdate {
            not_on_whatsapp: Some(numbers.iter().map(|n| n.to_string()).collect()),
            ..DeliveryUpdate::default()
        })
        .await
    }

    /// Where every account's events go (`url: None` stops them), signed with `secret`.
    pub async fn set_events_target(&self, url: Option<&str>, secret: Option<&str>) -> Result<()> {
        self.put_target(None, url, secret).await
    }

    /// Where one account's events go, whatever the sandbox-wide target.
    pub async fn set_account_events_target(
        &self,
        account: &str,
        url: Option<&str>,
        secret: Option<&str>,
    ) -> Result<()> {
        self.put_target(Some(account), url, secret).await
    }

    async fn put_target(
        &self,
        account: Option<&str>,
        url: Option<&str>,
        secret: Option<&str>,
    ) -> Result<()> {
        let target = EventsTarget {
            account: account.map(str::to_owned),
            url: url.map(str::to_owned),
            secret: secret.map(str::to_owned),
        };
        let resp = self
            .http
            .put(self.url("/_sandbox/events/target")?)
            .json(&target)
            .send()
            .await?;
        Self::ok(&resp)
    }

    /// Every event posted (or being retried), oldest first.
    pub async fn events(&self) -> Result<Vec<PostedEvent>> {
        self.get("/_sandbox/events").await
    }

    /// A customer's message `body` from `from` to `account` (username or API key): its signed
    /// `message.received` event is posted; returns the event.
    pub async fn inbound(
        &self,
        account: &str,
        from: &str,
        body: &str,
    ) -> Result<serde_json::Value> {
        let inbound = Inbound {
            account: account.to_owned(),
            from: from.to_owned(),
            body: body.to_owned(),
        };
        self.send_json(reqwest::Method::POST, "/_sandbox/inbound", &inbound)
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

    async fn send_json<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let resp = self
            .http
            .request(method, self.url(path)?)
            .json(body)
            .send()
            .await?;
        Self::ok(&resp)?;
        Ok(resp.json().await?)
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
