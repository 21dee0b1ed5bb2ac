//! Signature vectors: the platforms' official SDK test vectors (`vectors/vectors.json`).

use secrecy::SecretString;
use serde_json::Value;
use shopbip::platforms::standard_webhooks::{self as sw, KeyForm};
use shopbip::platforms::{VerifyError, shopware, stripe};

use super::corpus::corpus_dir;
use super::{Failures, answer_status, shown};
use crate::common::app::start;
use crate::platforms::{now, post, profile, rule};

/// One entry of `vectors/vectors.json`, as the README describes its keys.
struct Vector {
    id: String,
    platform: String,
    secret: String,
    json: Value,
    body: Vec<u8>,
    /// `None` for "fresh" (now) and for Shopware, whose vectors carry no timestamp.
    fixed_ts: Option<i64>,
    valid: bool,
}

fn vectors() -> Vec<Vector> {
    let dir = corpus_dir().join("vectors");
    let list: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("vectors.json")).unwrap()).unwrap();
    list.into_iter()
        .map(|v| {
            let mut body = match v["body_file"].as_str() {
                Some(file) => std::fs::read(dir.join(file)).unwrap(),
                None => v["body"].as_str().unwrap_or_default().as_bytes().to_vec(),
            };
            body.extend_from_slice(v["body_suffix"].as_str().unwrap_or("").as_bytes());
            Vector {
                id: v["id"].as_str().unwrap().to_owned(),
                platform: v["platform"].as_str().unwrap().to_owned(),
                secret: v["secret"].as_str().unwrap().to_owned(),
                fixed_ts: v["timestamp"].as_i64(),
                valid: v["valid"].as_bool().unwrap(),
                body,
                json: v,
            }
        })
        .collect()
}

impl Vector {
    fn store(&self) -> String {
        format!("vec-{}", self.id)
    }

    /// The request headers, with the time used (`None`: the vector signs no time).
    fn headers(&self, now: i64) -> (Vec<(&'static str, String)>, Option<i64>) {
        let v = &self.json;
        match self.platform.as_str() {
            "standard" => {
                let ts = self.fixed_ts.unwrap_or(now);
                let id = v["webhook_id"].as_str().unwrap_or("msg_vector");
                let valid = sw::sign(&self.secret, KeyForm::Whsec, id, ts, &self.body);
                let signature = match (v["signature"].as_str(), v["signature_template"].as_str()) {
                    (Some(s), _) => s.to_owned(),
                    (None, Some(t)) => t.replace("{VALID}", &valid),
                    (None, None) => valid,
                };
                (
                    vec![
                        ("webhook-id", id.to_owned()),
                        ("webhook-timestamp", ts.to_string()),
                        ("webhook-signature", signature),
                    ],
                    Some(ts),
                )
            }
            "stripe" => {
                let ts = self.fixed_ts.unwrap_or(now);
                let mut header = match v["header"].as_str() {
                    Some(h) => h.to_owned(),
                    None if v["scheme"].as_str() == Some("v0") => {
                        let valid = stripe::sign(&self.secret, ts, &self.body);
                        valid.replace(",v1=", ",v0=")
                    }
                    None => {
                        let valid = stripe::sign(&self.secret, ts, &self.body);
                        match v["other_secret"].as_str() {
                            // The header carries one v1 per active secret while one is rolled.
                            Some(other) => {
                                let old = stripe::sign(other, ts, &self.body);
                                format!("{old},{}", valid.split_once(',').unwrap().1)
                            }
                            None => valid,
                        }
                    }
                };
                header += v["append"].as_str().unwrap_or("");
                (vec![("Stripe-Signature", header)], Some(ts))
            }
            "shopware" => (
                vec![(
                    "shopware-shop-signature",
                    v["signature"].as_str().unwrap_or_default().to_owned(),
                )],
                None,
            ),
            other => panic!("{}: no vector harness for {other:?}", self.id),
        }
    }

    /// The platform's own verification at the vector's time (`at`).
    fn verify_at(&self, headers: &[(&'static str, String)], at: i64) -> Result<(), VerifyError> {
        let secrets = [SecretString::from(self.secret.clone())];
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let window = shopbip::platforms::DEFAULT_TOLERANCE;
        match self.platform.as_str() {
            "standard" => sw::verify_at(
                &sw::Signed {
                    id: get(sw::ID),
                    timestamp: get(sw::TIMESTAMP),
                    signature: get(sw::SIGNATURE),
                },
                &self.body,
                &secrets,
                KeyForm::Whsec,
                at,
                window,
            ),
            "stripe" => stripe::verify_at(get(stripe::SIGNATURE), &self.body, &secrets, at, window),
            "shopware" => {
                shopware::verify_at(get(shopware::SIGNATURE), &self.body, &secrets, at, window)
            }
            other => panic!("{other}"),
        }
    }
}

fn mentions_window(error: &str) -> bool {
    let e = error.to_lowercase();
    e.contains("tolerance") || e.contains("outside") || e.contains("stale")
}

fn mentions_mismatch(error: &str) -> bool {
    let e = error.to_lowercase();
    e.contains("does not match") || e.contains("mismatch") || e.contains("malformed signature")
}

/// Official SDK test vectors: each gets the verdict its `valid` says, from the platform's own
/// verification and over HTTP. A valid vector refused for its old timestamp must be refused as
/// stale, never as a bad signature: that is how an operator tells a slow queue from a wrong
/// secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_vectors_get_the_verdict_their_sdks_expect() {
    let vectors = vectors();
    assert!(!vectors.is_empty());
    let profiles: Vec<(String, String)> = vectors
        .iter()
        .map(|v| {
            let rules = match v.platform.as_str() {
                "stripe" => rule("invoice.paid", 1290, &["{invoice.number}"], false),
                _ => rule("order.paid", 1290, &["{order.number}"], false),
            };
            (
                v.store(),
                profile(&v.platform, &[&v.secret], "BUZZBIP_URL", &rules),
            )
        })
        .collect();
    let p = start(move |dir, url| {
        for (store, toml) in &profiles {
            std::fs::write(
                dir.join(format!("{store}.toml")),
                toml.replace("BUZZBIP_URL", url),
            )
            .unwrap();
        }
    })
    .await;

    let mut f = Failures(Vec::new());
    let mut answers = Vec::new();
    for v in &vectors {
        let label = format!("vectors/{}", v.id);
        let t = now();
        let (headers, ts) = v.headers(t);

        // The platform's verification at the vector's own time.
        let direct = v.verify_at(&headers, ts.unwrap_or(t));
        match (v.platform.as_str(), v.valid, &direct) {
            // Shopware's signed send time is in the JSON body; "body" has none.
            ("shopware", true, Err(e))
                if *e != VerifyError::Mismatch
                    && *e != VerifyError::Malformed(shopware::SIGNATURE)
                    && e.to_string().contains("timestamp") => {}
            ("shopware", true, other) => f.add(
                &label,
                format!("verify_at: expected the signature to pass and the body's timestamp to be missing, got {other:?}"),
            ),
            (_, true, Ok(())) => {}
            (_, true, Err(e)) => f.add(&label, format!("verify_at: a valid vector refused: {e:?}")),
            (_, false, Err(VerifyError::Mismatch | VerifyError::Malformed(_))) => {}
            (_, false, other) => f.add(
                &label,
                format!("verify_at: expected a signature refusal, got {other:?}"),
            ),
        }

        // Over HTTP, at the real time.
        let before = p.jobs().await.len();
        let (status, answer) = post(&p, &v.store(), &headers, v.body.clone()).await;
        let error = answer["error"].as_str().unwrap_or("").to_owned();
        answers.push(format!("{label}: {}", shown(status, &answer)));
        let stale = v.fixed_ts.is_some_and(|ts| (now() - ts).abs() > 300);
        match (v.platform.as_str(), v.valid) {
            ("shopware", true) => {
                if status != 401 || !error.contains("timestamp") || mentions_mismatch(&error) {
                    f.add(
                        &label,
                        format!(
                            "http: expected 401 naming the body's timestamp, got {}",
                            shown(status, &answer)
                        ),
                    );
                }
            }
            (_, true) if stale => {
                if status != 401 || !mentions_window(&error) || mentions_mismatch(&error) {
                    f.add(
                        &label,
                        format!(
                            "http: expected 401 as stale (outside the window), got {}",
                            shown(status, &answer)
                        ),
                    );
                }
            }
            (_, true) => {
                // Verified: the body is then read; these SDK bodies are no order, so the answer
                // is `ignored`, or 400 when the body is not an event of the platform at all
                // (no `type`). Never a signature refusal.
                let ok = (status == 200 && answer_status(&answer) == "ignored")
                    || (status == 400 && !mentions_mismatch(&error) && !mentions_window(&error));
                if !ok {
                    f.add(
                        &label,
                        format!("http: expected the signature accepted (200 ignored, or 400 for a body that is no event), got {}", shown(status, &answer)),
                    );
                }
            }
            (_, false) => {
                if status != 401 || !mentions_mismatch(&error) {
                    f.add(
                        &label,
                        format!(
                            "http: expected 401 for the signature, got {}",
                            shown(status, &answer)
                        ),
                    );
                }
            }
        }
        if p.jobs().await.len() != before {
            f.add(&label, "http: a vector created a job");
        }
    }
    println!("vector answers:\n{}", answers.join("\n"));
    if !f.0.is_empty() {
        panic!(
            "{} mismatches over {} signature vectors:\n{}",
            f.0.len(),
            vectors.len(),
            f.0.join("\n")
        );
    }
}
