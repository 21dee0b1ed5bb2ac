//! Operations: the admin API and its OpenAPI document, replay, /metrics, hot reload. Who may
//! call the admin API and how it refuses in `auth`, jobs as it shows and replays them in `jobs`,
//! /metrics and hot reload in `metrics`, the OpenAPI document against the routes in `openapi`;
//! here the helpers they share.

mod auth;
mod jobs;
mod metrics;
mod openapi;

use std::path::Path;

use crate::common::app::{TestApp, woo_profile};
use crate::common::sign::*;
use reqwest::Method;
use serde_json::Value;

pub(super) const WOO_PAID: &str = "woocommerce/order-updated-paid-tnd.json";

pub(super) fn woo_store(dir: &Path, url: &str) {
    std::fs::write(dir.join("acme-woo.toml"), woo_profile(url)).unwrap();
}

pub(super) async fn post_paid(p: &TestApp, secret: &str, body: Vec<u8>, delivery: &str) -> u16 {
    p.post(
        "acme-woo",
        &woo_headers(secret, "order.updated", &body, delivery),
        body,
    )
    .await
    .status()
    .as_u16()
}

/// `GET /admin/jobs/{id}` as JSON.
pub(super) async fn job_detail(p: &TestApp, id: i64) -> Value {
    p.admin(Method::GET, &format!("/admin/jobs/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

/// The answer is JSON `{"error": "…"}` and nothing else.
pub(super) async fn assert_json_error(resp: reqwest::Response, status: u16, what: &str) -> String {
    assert_eq!(resp.status().as_u16(), status, "{what}");
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await.unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: answered {content_type}: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 1, "{what}: {text}");
    let message = body["error"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "{what}: {text}");
    message
}

/// The keys of a JSON object as the text has them, duplicates included (serde_json's `Value`
/// would silently keep one); fails if any object at any depth repeats a key.
pub(super) fn keys_of(text: &str) -> Vec<String> {
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    struct Unique(Vec<String>);
    struct UniqueVisitor;
    impl<'de> Deserialize<'de> for Unique {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(UniqueVisitor)
        }
    }
    impl<'de> Visitor<'de> for UniqueVisitor {
        type Value = Unique;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_unit<E>(self) -> Result<Unique, E> {
            Ok(Unique(vec![]))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
            while seq.next_element::<Unique>()?.is_some() {}
            Ok(Unique(vec![]))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                if keys.contains(&key) {
                    return Err(de::Error::custom(format!("duplicate key {key:?}")));
                }
                map.next_value::<Unique>()?;
                keys.push(key);
            }
            Ok(Unique(keys))
        }
    }
    serde_json::from_str::<Unique>(text)
        .unwrap_or_else(|e| panic!("{e}: {text}"))
        .0
}

#[test]
fn keys_of_catches_a_repeated_key() {
    assert_eq!(keys_of(r#"{"a": 1, "b": [{"c": null}]}"#), ["a", "b"]);
    let repeated = std::panic::catch_unwind(|| keys_of(r#"{"a": {"e": 1, "e": {}}}"#));
    assert!(repeated.is_err());
}
