//! Each platform as the corpus run plays it: its store (secret, profile, the stand-ins for its
//! APIs) and its requests, signed and retried the way the platform does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use serde_json::Value;
use shopbip::platforms::signature::{hmac_sha256, sign_base64};
use shopbip::platforms::standard_webhooks::KeyForm;
use shopbip::platforms::stripe;

use super::corpus::{Case, corpus_dir};
use super::{BIGCOMMERCE_HASH, FIRST_TEMPLATE, INVOICE_EVENTS, ORDER_EVENTS};
use crate::platforms::{StandIn, now, profile, rule, standard_webhooks_headers};

/// How one platform's store is set up: its secret, profile extras and stand-ins.
pub(super) struct Platform {
    pub(super) name: String,
    secret: String,
    pub(super) events: &'static [&'static str],
    /// Kept alive for the platform's run: the servers standing in for the platform's APIs.
    _stand_ins: Vec<StandIn>,
    extra: String,
    default_country: &'static str,
    /// WooCommerce: one webhook (and so one `X-WC-Webhook-ID`) per topic, as a shop sets them up.
    woo_webhook_ids: HashMap<String, String>,
}

impl Platform {
    pub(super) fn new(name: &str, cases: &[Case]) -> Option<Platform> {
        let mut stand_ins = Vec::new();
        let mut extra = String::new();
        let mut events = ORDER_EVENTS;
        // The shop's own country is not any customer's, so each phone is read with its
        // address's country unless the body has none.
        let mut default_country = "US";
        let secret = match name {
            "woocommerce" => "wc-real-corpus-secret-4f1a".to_owned(),
            "shopify" => "shpss_real_corpus_9b2c".to_owned(),
            "stripe" => {
                // Stripe's `invoice_pdf` (pay.stripe.com) cannot be reached offline: the store
                // fetches from a stand-in instead, which serves a real PDF.
                let files = StandIn::start(vec![(
                    "/stripe/invoice.pdf",
                    200,
                    "application/pdf",
                    crate::common::pdf("Stripe invoice").to_vec(),
                )]);
                extra = format!(
                    "[invoice]\nsource = \"fetch\"\nfetch_url = \"{}/stripe/invoice.pdf?number={{invoice.number}}\"\n",
                    files.base
                );
                stand_ins.push(files);
                events = INVOICE_EVENTS;
                "whsec_real_corpus_stripe_7d3e".to_owned()
            }
            "standard" => format!(
                "whsec_{}",
                base64::engine::general_purpose::STANDARD
                    .encode(b"real-corpus-standard-secret-32b!")
            ),
            "bigcommerce" => {
                let api = bigcommerce_api(cases);
                extra = format!(
                    "[bigcommerce]\nstore_hash = \"{BIGCOMMERCE_HASH}\"\naccess_token = \"bc-real-token\"\napi_base_url = \"{}\"\n",
                    api.base
                );
                stand_ins.push(api);
                "bc-real-corpus-client-secret".to_owned()
            }
            "shopware" => {
                default_country = "DE";
                "sw-real-corpus-shop-secret".to_owned()
            }
            _ => return None,
        };
        Some(Platform {
            name: name.to_owned(),
            secret,
            events,
            _stand_ins: stand_ins,
            extra,
            default_country,
            woo_webhook_ids: HashMap::new(),
        })
    }

    pub(super) fn template(&self, event: &str) -> u64 {
        FIRST_TEMPLATE + self.events.iter().position(|e| *e == event).unwrap() as u64
    }

    /// First name, order (Stripe: invoice) number, formatted total: what the metas' `params`
    /// name.
    fn params(&self) -> [&'static str; 3] {
        let number = if self.name == "stripe" {
            "{invoice.number}"
        } else {
            "{order.number}"
        };
        ["{customer.first_name}", number, "{order.total}"]
    }

    pub(super) fn profile(&self, buzzbip_url: &str) -> String {
        let mut extra = self.extra.clone();
        for event in self.events {
            extra += &rule(event, self.template(event), &self.params(), true);
        }
        profile(&self.name, &[&self.secret], buzzbip_url, &extra).replace(
            "default_country = \"FR\"",
            &format!("default_country = {:?}", self.default_country),
        )
    }
}

/// BigCommerce's REST API for the orders the metas name (`order_id`, answered with the
/// `api_order` example), with the documented products and shipping-address examples.
fn bigcommerce_api(cases: &[Case]) -> StandIn {
    let examples: Value = serde_json::from_slice(
        &std::fs::read(corpus_dir().join("bigcommerce/_api_examples.json")).unwrap(),
    )
    .unwrap();
    let mut routes = Vec::new();
    for case in cases {
        let (Some(id), Some(example)) = (
            case.meta["order_id"].as_u64(),
            case.meta["api_order"].as_str(),
        ) else {
            continue;
        };
        let base = format!("/stores/{BIGCOMMERCE_HASH}/v2/orders/{id}");
        for (path, answer) in [
            (base.clone(), &examples[example]),
            (format!("{base}/products"), &examples["products:response"]),
            (
                format!("{base}/shipping_addresses"),
                &examples["shipping_addresses:response"],
            ),
        ] {
            assert!(
                !answer.is_null(),
                "{}: no {example:?} example",
                case.label()
            );
            routes.push((path, serde_json::to_vec(answer).unwrap()));
        }
    }
    StandIn::start(
        routes
            .iter()
            .map(|(p, b)| (p.as_str(), 200, "application/json", b.clone()))
            .collect(),
    )
}

/// Unique ids for deliveries, as platforms make them.
fn fresh_id(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}{:08x}-{:04x}-{:012x}",
        rand::random::<u32>(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        rand::random::<u64>() & 0xffff_ffff_ffff
    )
}

/// One HTTP request a platform makes.
#[derive(Clone)]
pub(super) struct Delivery {
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) body: Vec<u8>,
}

/// The body with its top-level `timestamp` (Shopware's signed send time) set to `ts`, the
/// other bytes untouched: re-serialising would change PHP's escaping of the rest.
fn with_body_timestamp(body: &[u8], ts: i64) -> Result<Vec<u8>, String> {
    let key = b"\"timestamp\":";
    let at = body
        .windows(key.len())
        .rposition(|w| w == key)
        .ok_or("no \"timestamp\" in the body")?;
    let start = at + key.len();
    let end = start
        + body[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'-')
            .count();
    let mut out = body[..start].to_vec();
    out.extend_from_slice(ts.to_string().as_bytes());
    out.extend_from_slice(&body[end..]);
    let top: Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    if top["timestamp"].as_i64() != Some(ts) {
        return Err("the last \"timestamp\" in the body is not the top-level one".into());
    }
    Ok(out)
}

/// `2026-03-01T12:00:00.000Z` for Shopify's `X-Shopify-Triggered-At`.
fn rfc3339(secs: i64) -> String {
    shopbip::platforms::unix_rfc3339(secs).replace('Z', ".000Z")
}

impl Platform {
    /// The case's first delivery: headers and bytes exactly as the platform sends them.
    pub(super) fn first(&mut self, case: &Case) -> Result<Delivery, String> {
        let topic = case.meta["topic"].as_str().unwrap_or_default().to_owned();
        let body = case.body.clone();
        Ok(match self.name.as_str() {
            "woocommerce" => {
                let next = 101 + self.woo_webhook_ids.len();
                let webhook_id = self
                    .woo_webhook_ids
                    .entry(topic.clone())
                    .or_insert_with(|| next.to_string())
                    .clone();
                let (resource, event) = topic.split_once('.').unwrap_or((&topic, ""));
                Delivery {
                    headers: vec![
                        ("X-WC-Webhook-Source", "https://woo.shop.test/".to_owned()),
                        ("X-WC-Webhook-Topic", topic.clone()),
                        ("X-WC-Webhook-Resource", resource.to_owned()),
                        ("X-WC-Webhook-Event", event.to_owned()),
                        ("X-WC-Webhook-Signature", sign_base64(&self.secret, &body)),
                        ("X-WC-Webhook-ID", webhook_id),
                        ("X-WC-Webhook-Delivery-ID", fresh_id("")),
                    ],
                    body,
                }
            }
            "shopify" => {
                let webhook_id = fresh_id("");
                Delivery {
                    headers: vec![
                        ("X-Shopify-Topic", topic.clone()),
                        ("X-Shopify-Hmac-Sha256", sign_base64(&self.secret, &body)),
                        (
                            "X-Shopify-Shop-Domain",
                            "real-corpus.myshopify.com".to_owned(),
                        ),
                        ("X-Shopify-API-Version", "2024-07".to_owned()),
                        ("X-Shopify-Webhook-Id", webhook_id.clone()),
                        ("X-Shopify-Event-Id", fresh_id("")),
                        ("X-Shopify-Triggered-At", rfc3339(now())),
                    ],
                    body,
                }
            }
            "stripe" => Delivery {
                headers: vec![("Stripe-Signature", stripe::sign(&self.secret, now(), &body))],
                body,
            },
            "standard" | "bigcommerce" => {
                let id = case.meta["webhook_id"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| fresh_id("msg_"));
                self.standard_webhooks(&id, body)
            }
            "shopware" => {
                let body = match case.meta["body_timestamp"].as_str() {
                    Some("now") => with_body_timestamp(&body, now())?,
                    _ => body,
                };
                self.shopware(body)
            }
            other => return Err(format!("no way to sign for platform {other:?}")),
        })
    }

    /// The same delivery again, the way the platform retries it.
    pub(super) fn retry(&self, first: &Delivery) -> Delivery {
        match self.name.as_str() {
            // Same body and signature; each send gets a new delivery id.
            "woocommerce" => {
                let mut again = first.clone();
                for (k, v) in &mut again.headers {
                    if *k == "X-WC-Webhook-Delivery-ID" {
                        *v = fresh_id("");
                    }
                }
                again
            }
            // Same event, signed again at the time of the retry.
            "stripe" => Delivery {
                headers: vec![(
                    "Stripe-Signature",
                    stripe::sign(&self.secret, now(), &first.body),
                )],
                body: first.body.clone(),
            },
            // Same webhook-id, signed again at the time of the retry.
            "standard" | "bigcommerce" => {
                let id = header(first, "webhook-id");
                self.standard_webhooks(&id, first.body.clone())
            }
            // Shopify keeps X-Shopify-Webhook-Id; Shopware resends the very same bytes, send
            // time included.
            _ => first.clone(),
        }
    }

    /// The body signed with the current time (Shopware: its body's timestamp set to now), for
    /// `fresh_http`.
    pub(super) fn fresh(&mut self, case: &Case) -> Result<Delivery, String> {
        match self.name.as_str() {
            "shopware" => Ok(self.shopware(with_body_timestamp(&case.body, now())?)),
            _ => self.first(case),
        }
    }

    fn standard_webhooks(&self, id: &str, body: Vec<u8>) -> Delivery {
        let form = if self.name == "bigcommerce" {
            KeyForm::RawOrWhsec
        } else {
            KeyForm::Whsec
        };
        Delivery {
            headers: standard_webhooks_headers(&self.secret, form, id, now(), &body),
            body,
        }
    }

    fn shopware(&self, body: Vec<u8>) -> Delivery {
        Delivery {
            headers: vec![(
                "shopware-shop-signature",
                hex::encode(hmac_sha256(self.secret.as_bytes(), &[&body])),
            )],
            body,
        }
    }
}

fn header(d: &Delivery, name: &str) -> String {
    d.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[test]
fn the_body_timestamp_is_replaced_in_place() {
    let body = br#"{"data":{"payload":{"timestamp":5,"x":"a\/b"}},"timestamp":0}"#;
    let out = with_body_timestamp(body, 1_700_000_000).unwrap();
    assert_eq!(
        out,
        br#"{"data":{"payload":{"timestamp":5,"x":"a\/b"}},"timestamp":1700000000}"#
    );
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20.000Z");
}
