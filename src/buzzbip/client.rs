//! The Buzzbip HTTP client: login, media upload, template send and media delete, each with the
//! plugin headers and the account's shared token. What each answer means is `answer`'s.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};

use super::answer::{Answer, Interpreted, classify_common, interpret, parse_retry_after};
use super::auth::{AccountKey, AccountSlot, TokenCache};
use super::error::{BuzzbipError, Endpoint};
use super::jsend::{Jsend, JsendStatus};
use super::request::{SendReceipt, SendRequest};
use crate::telemetry::redact_phones;

/// WhatsApp's own document limit is 100 MB; Buzzbip publishes none, so we stay well below.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 16 * 1024 * 1024;
/// No answer shopbip needs comes near this (a delivery page of 100 items is a few dozen KB); an
/// answer past it is not read further, so a broken proxy or a runaway list cannot fill memory.
pub const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;

/// What identifies a store to Buzzbip. Secrets stay in `SecretString`, so `Debug` is safe.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub base_url: String,
    pub username: String,
    pub password: SecretString,
    /// Sent as `x-api-key`.
    pub api_key: SecretString,
    /// Sent as `x-platform-type`, e.g. `woocommerce`.
    pub platform_type: String,
    /// Sent as `x-base-uri`: the shop's public URL.
    pub base_uri: String,
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub max_upload_bytes: u64,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
        }
    }
}

/// A client for one store's Buzzbip account. Cheap to clone.
#[derive(Clone)]
pub struct BuzzbipClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    username: String,
    password: SecretString,
    plugin_headers: HeaderMap,
    slot: Arc<AccountSlot>,
    options: ClientOptions,
}

impl fmt::Debug for BuzzbipClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuzzbipClient")
            .field("base", &self.inner.base.as_str())
            .field("username", &self.inner.username)
            .finish_non_exhaustive()
    }
}

/// The reqwest client every Buzzbip client should share (one connection pool per process).
/// Redirects are off: a redirected POST would silently lose its body or its token.
pub fn http_client(options: &ClientOptions) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shopbip/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building fails only when the TLS backend cannot initialise, which no config changes.
        .unwrap_or_else(|e| panic!("cannot initialise the HTTP client: {e}"))
}

/// Checks a Buzzbip base URL: https, or http to a loopback host (the sandbox).
pub fn parse_base_url(raw: &str) -> Result<Url, BuzzbipError> {
    crate::net::parse_base_url(raw).map_err(BuzzbipError::from)
}

impl BuzzbipClient {
    pub fn new(
        http: reqwest::Client,
        tokens: &TokenCache,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Self, BuzzbipError> {
        let base = parse_base_url(&credentials.base_url)?;
        let mut plugin_headers = HeaderMap::new();
        for (name, value, sensitive) in [
            ("x-api-key", credentials.api_key.expose_secret(), true),
            ("x-platform-type", credentials.platform_type.as_str(), false),
            ("x-base-uri", credentials.base_uri.as_str(), false),
        ] {
            let mut v = HeaderValue::from_str(value).map_err(|_| BuzzbipError::InvalidBaseUrl {
                url: credentials.base_url.clone(),
                reason: format!("the {name} value is not a valid HTTP header value"),
            })?;
            v.set_sensitive(sensitive);
            plugin_headers.insert(HeaderName::from_static(name), v);
        }
        let slot = tokens.slot(AccountKey {
            base_url: base.as_str().trim_end_matches('/').to_owned(),
            username: credentials.username.clone(),
        });
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                username: credentials.username,
                password: credentials.password,
                plugin_headers,
                slot,
                options,
            }),
        })
    }

    /// Uploads a PDF as WhatsApp header media; returns the media id exactly as Buzzbip gave it.
    pub async fn upload_pdf(
        &self,
        filename: &str,
        pdf: bytes::Bytes,
    ) -> Result<String, BuzzbipError> {
        let size = pdf.len() as u64;
        let limit = self.inner.options.max_upload_bytes;
        if size > limit {
            return Err(BuzzbipError::TooLarge { size, limit });
        }
        let url = self.url(&["api", "v2", "whatsapp", "media"]);
        let answer = self
            .call(Endpoint::Upload, false, |http| {
                let part = reqwest::multipart::Part::stream_with_length(
                    reqwest::Body::from(pdf.clone()),
                    size,
                )
                .file_name(filename.to_owned())
                .mime_str("application/pdf")
                .expect("application/pdf is a valid MIME type");
                http.post(url.clone())
                    .multipart(reqwest::multipart::Form::new().part("file", part))
            })
            .await?;
        answer.media_id().ok_or_else(|| BuzzbipError::Unexpected {
            endpoint: Endpoint::Upload,
            status: 200,
            missing: "a media id",
            body: redact_phones(&answer.body_text()),
        })
    }

    /// Sends an approved template; the returned bulk group id is the key for delivery lookups.
    pub async fn send_template(
        &self,
        template_id: u64,
        request: &SendRequest,
    ) -> Result<SendReceipt, BuzzbipError> {
        let id = template_id.to_string();
        let url = self.url(&["api", "v2", "whatsapp", "templates", &id, "send"]);
        let answer = self
            .call(Endpoint::Send, false, |http| {
                http.post(url.clone()).json(request)
            })
            .await?;
        let whatsapp_bulk_group_id =
            answer
                .bulk_group_id()
                .ok_or_else(|| BuzzbipError::Unexpected {
                    endpoint: Endpoint::Send,
                    status: 200,
                    missing: "a whatsapp_bulk_group_id",
                    body: redact_phones(&answer.body_text()),
                })?;
        Ok(SendReceipt {
            whatsapp_bulk_group_id,
        })
    }

    /// Deletes uploaded media that will not be used. An id Buzzbip does not know is already gone.
    pub async fn delete_media(&self, media_id: &str) -> Result<(), BuzzbipError> {
        let url = self.url(&["api", "v2", "whatsapp", "media", media_id]);
        self.call(Endpoint::DeleteMedia, true, |http| http.delete(url.clone()))
            .await
            .map(drop)
    }

    pub(super) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .expect("parse_base_url refused URLs that cannot be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Runs one authenticated call; a 401 about the token logs in again and repeats it once.
    pub(super) async fn call<F>(
        &self,
        endpoint: Endpoint,
        not_found_is_ok: bool,
        build: F,
    ) -> Result<Jsend, BuzzbipError>
    where
        F: Fn(&reqwest::Client) -> RequestBuilder,
    {
        let mut rejected = None;
        loop {
            let token = self.inner.slot.token(rejected, || self.login()).await?;
            let request = build(&self.inner.http)
                .headers(self.inner.plugin_headers.clone())
                .bearer_auth(token.token.expose_secret());
            let answer = self.execute(endpoint, request).await;
            let answer = answer.inspect_err(|_| count_call(endpoint, "transient"))?;
            match interpret(endpoint, answer, not_found_is_ok, &self.inner.username) {
                Interpreted::Done(result) => {
                    let outcome = match &result {
                        Ok(_) => "success",
                        Err(e) if e.is_transient() => "transient",
                        Err(_) => "permanent",
                    };
                    count_call(endpoint, outcome);
                    return result;
                }
                Interpreted::TokenRefused(_) if rejected.is_none() => {
                    count_call(endpoint, "token_refused");
                    tracing::info!(account = %self.inner.username, %endpoint, "Buzzbip refused the token; logging in again");
                    rejected = Some(token.generation);
                }
                Interpreted::TokenRefused(body) => {
                    count_call(endpoint, "token_refused");
                    return Err(BuzzbipError::TokenRejected { endpoint, body });
                }
            }
        }
    }

    async fn login(&self) -> Result<SecretString, BuzzbipError> {
        let url = self.url(&["api", "login_check"]);
        let body = serde_json::json!({
            "username": self.inner.username,
            "password": self.inner.password.expose_secret(),
        });
        let request = self
            .inner
            .http
            .post(url)
            .headers(self.inner.plugin_headers.clone())
            .json(&body);
        let answer = self.execute(Endpoint::Login, request).await;
        let ok = answer
            .as_ref()
            .is_ok_and(|a| a.status.is_success() && a.jsend.token().is_some());
        metrics::counter!(crate::metrics::LOGINS, "outcome" => if ok { "success" } else { "failure" }).increment(1);
        let answer = answer?;
        let account = self.inner.username.clone();
        let body_text = redact_phones(&answer.jsend.body_text());
        match answer.status {
            s if s.is_success() && answer.jsend.status != JsendStatus::Fail => {
                match answer.jsend.token() {
                    Some(token) => {
                        tracing::info!(account = %account, "logged in to Buzzbip");
                        Ok(SecretString::from(token))
                    }
                    None => Err(BuzzbipError::Unexpected {
                        endpoint: Endpoint::Login,
                        status: s.as_u16(),
                        missing: "a token",
                        body: body_text,
                    }),
                }
            }
            StatusCode::UNAUTHORIZED => Err(BuzzbipError::BadCredentials {
                account,
                body: body_text,
            }),
            StatusCode::FORBIDDEN => Err(BuzzbipError::NoApiAccess {
                account,
                body: body_text,
            }),
            _ => match classify_common(Endpoint::Login, &answer) {
                Some(err) => Err(err),
                None => Err(BuzzbipError::BadCredentials {
                    account,
                    body: body_text,
                }),
            },
        }
    }

    async fn execute(
        &self,
        endpoint: Endpoint,
        request: RequestBuilder,
    ) -> Result<Answer, BuzzbipError> {
        let started = Instant::now();
        let response = request.send().await.map_err(|e| {
            tracing::warn!(%endpoint, error = %redact_phones(&e.to_string()), "Buzzbip call failed before an answer");
            BuzzbipError::network(endpoint, &e)
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_capped(endpoint, response, MAX_ANSWER_BYTES).await?;
        metrics::histogram!(crate::metrics::UPSTREAM_SECONDS, "endpoint" => endpoint.label())
            .record(started.elapsed().as_secs_f64());
        tracing::debug!(
            %endpoint,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Buzzbip answered"
        );
        let jsend = match body {
            Some(body) => Jsend::parse(&body),
            // Never a JSend success, so the status alone decides the class: a 5xx stays
            // transient, a 2xx becomes a permanent failure saying why.
            None => Jsend::parse(
                format!("(an answer over {MAX_ANSWER_BYTES} bytes, not read)").as_bytes(),
            ),
        };
        Ok(Answer {
            status,
            retry_after,
            jsend,
        })
    }
}

/// The body, or `None` when it is longer than `limit` (what was read is dropped).
async fn read_capped(
    endpoint: Endpoint,
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, BuzzbipError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BuzzbipError::network(endpoint, &e))?
    {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

fn count_call(endpoint: Endpoint, outcome: &'static str) {
    metrics::counter!(crate::metrics::UPSTREAM_CALLS, "endpoint" => endpoint.label(), "outcome" => outcome)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_must_be_tls_unless_loopback() {
        assert!(parse_base_url("https://app.buzzbip.com").is_ok());
        assert!(parse_base_url("http://127.0.0.1:9000").is_ok());
        assert!(parse_base_url("http://localhost:9000/").is_ok());
        assert!(parse_base_url("http://[::1]:9000").is_ok());
        assert!(matches!(
            parse_base_url("http://app.buzzbip.com"),
            Err(BuzzbipError::InsecureBaseUrl { .. })
        ));
        assert!(matches!(
            parse_base_url("http://10.0.0.5:8080"),
            Err(BuzzbipError::InsecureBaseUrl { .. })
        ));
        assert!(matches!(
            parse_base_url("ftp://app.buzzbip.com"),
            Err(BuzzbipError::InvalidBaseUrl { .. })
        ));
        assert!(parse_base_url("not a url").is_err());
    }

    #[test]
    fn urls_never_gain_or_lose_a_trailing_slash() {
        let tokens = TokenCache::new();
        for base in [
            "https://b.test",
            "https://b.test/",
            "https://b.test/prefix/",
        ] {
            let client = BuzzbipClient::new(
                http_client(&ClientOptions::default()),
                &tokens,
                Credentials {
                    base_url: base.to_owned(),
                    username: "u".into(),
                    password: SecretString::from("p"),
                    api_key: SecretString::from("k"),
                    platform_type: "woocommerce".into(),
                    base_uri: "https://shop.test".into(),
                },
                ClientOptions::default(),
            )
            .unwrap();
            let url = client.url(&["api", "v2", "whatsapp", "media"]);
            assert!(url.path().ends_with("/api/v2/whatsapp/media"), "{url}");
            assert!(!url.path().contains("//"), "{url}");
        }
    }
}
