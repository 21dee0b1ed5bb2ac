//! The real-webhook corpus (`tests/fixtures/real`, described by its README): bodies that the
//! platforms themselves or real shops produced, each with a `.meta.json` stating the answer and
//! outcome a correct run gives. Hand-written fixtures only test what their author believed a
//! platform sends; these test what it does send. Every body is signed and posted as its
//! platform would, retried as its platform retries, and every `check` key is compared. All
//! mismatches are collected and reported together, so one run shows the whole gap.
//!
//! Here: the run (one store per platform, each body posted, retried and checked). The corpus
//! is read in `corpus`, each platform's store and its way of signing and retrying are in
//! `platform`, the checks of the answer, jobs and sends in `checks`, those of the canonical
//! order (fields, arithmetic, PDF text) in `order`, and the SDKs' signature vectors in
//! `vectors`.

mod checks;
mod corpus;
mod order;
mod platform;
mod vectors;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use shopbip::jobs::{Job, JobState};
use shopbip::sandbox::{HeaderKind, Template, TemplateState};

use self::checks::{check_answer, check_jobs, check_sends_once};
use self::corpus::{Case, corpus, corpus_dir};
use self::platform::Platform;
use super::common::app::{TestApp, start};
use super::post;

const STORE: &str = "real-corpus";
/// Order events, and Stripe's invoice events: the stores have a rule for each (README).
const ORDER_EVENTS: &[&str] = &[
    "order.created",
    "order.paid",
    "order.fulfilled",
    "order.cancelled",
    "order.refunded",
];
const INVOICE_EVENTS: &[&str] = &["invoice.created", "invoice.paid"];
/// Templates added to the sandbox, one per event, so a send tells which rule made it.
const FIRST_TEMPLATE: u64 = 7100;
const BIGCOMMERCE_HASH: &str = "realhash01";

/// A mismatch, kept until the end so that every body is checked.
struct Failures(Vec<String>);

impl Failures {
    fn add(&mut self, case: &str, what: impl Into<String>) {
        self.0.push(format!("{case}: {}", what.into()));
    }
}

/// Waits until no job is queued or running. A job left retrying is a finding, not a reason
/// to stop checking the rest of the corpus.
async fn settle(p: &TestApp) -> Result<Vec<Job>, String> {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let jobs = p.jobs().await;
        let open: Vec<_> = jobs
            .iter()
            .filter(|j| matches!(j.state, JobState::Queued | JobState::Running))
            .map(|j| (j.id, j.state.as_str(), j.last_error.clone()))
            .collect();
        if open.is_empty() {
            return Ok(jobs);
        }
        if Instant::now() > deadline {
            return Err(format!("jobs never settled: {open:?}"));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn answer_status(answer: &Value) -> &str {
    answer["status"].as_str().unwrap_or("")
}

/// The answer as the report shows it: status, and the JSON (with any error text).
fn shown(status: u16, answer: &Value) -> String {
    format!("{status} {answer}")
}

/// What one delivery produced, for the checks.
struct Outcome {
    status: u16,
    answer: Value,
    created: Vec<Job>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_body_gets_the_answer_and_outcome_its_meta_states() {
    let corpus = corpus();
    assert!(!corpus.is_empty(), "no bodies under {:?}", corpus_dir());
    let mut f = Failures(Vec::new());
    let mut bodies = 0;
    for (name, cases) in &corpus {
        bodies += cases.len();
        let Some(platform) = Platform::new(name, cases) else {
            for case in cases {
                f.add(&case.label(), format!("no harness for platform {name:?}"));
            }
            continue;
        };
        run_platform(platform, cases, &mut f).await;
    }
    if !f.0.is_empty() {
        panic!(
            "{} mismatches over {bodies} real bodies:\n{}",
            f.0.len(),
            f.0.join("\n")
        );
    }
}

async fn run_platform(mut platform: Platform, cases: &[Case], f: &mut Failures) {
    let toml = platform.profile("BUZZBIP_URL");
    let p = start(move |dir, url| {
        std::fs::write(
            dir.join(format!("{STORE}.toml")),
            toml.replace("BUZZBIP_URL", url),
        )
        .unwrap();
    })
    .await;
    for event in platform.events {
        p.sandbox
            .control
            .add_template(&Template {
                id: platform.template(event),
                name: format!("real_{}", event.replace('.', "_")),
                placeholders: 3,
                header: HeaderKind::Document,
                state: TemplateState::Approved,
                url_buttons: 0,
            })
            .await
            .unwrap();
    }
    for case in cases {
        run_case(&p, &mut platform, case, f).await;
    }
}

async fn run_case(p: &TestApp, platform: &mut Platform, case: &Case, f: &mut Failures) {
    let label = case.label();
    let check = case.check();
    let known: HashSet<i64> = p.jobs().await.iter().map(|j| j.id).collect();

    let first = match platform.first(case) {
        Ok(d) => d,
        Err(e) => return f.add(&label, e),
    };
    let (status, answer) = post(p, STORE, &first.headers, first.body.clone()).await;
    let after_first: HashSet<i64> = p.jobs().await.iter().map(|j| j.id).collect();

    let retry = platform.retry(&first);
    let (retry_status, retry_answer) = post(p, STORE, &retry.headers, retry.body).await;
    let after_retry = p.jobs().await.len();
    let expected_retry = if answer_status(&answer) == "accepted" {
        (200, "duplicate".to_owned())
    } else {
        (status, answer_status(&answer).to_owned())
    };
    if (retry_status, answer_status(&retry_answer).to_owned()) != expected_retry {
        f.add(
            &label,
            format!(
                "retry: expected {} {:?}, got {}",
                expected_retry.0,
                expected_retry.1,
                shown(retry_status, &retry_answer)
            ),
        );
    }
    if after_retry != after_first.len() {
        f.add(
            &label,
            format!(
                "retry: created {} more job(s)",
                after_retry - after_first.len()
            ),
        );
    }

    let jobs = match settle(p).await {
        Ok(jobs) => jobs,
        Err(e) => return f.add(&label, e),
    };
    let created: Vec<Job> = jobs
        .into_iter()
        .filter(|j| after_first.contains(&j.id) && !known.contains(&j.id))
        .collect();
    let outcome = Outcome {
        status,
        answer,
        created,
    };
    // Shown with --nocapture: what each body did, for reading a run, not for the verdict.
    println!(
        "{label}: {} / retry {} / jobs {:?}",
        shown(outcome.status, &outcome.answer),
        shown(retry_status, &retry_answer),
        outcome
            .created
            .iter()
            .map(|j| format!(
                "{} {} {}",
                j.kind,
                j.state.as_str(),
                j.last_error.as_deref().unwrap_or("")
            ))
            .collect::<Vec<_>>()
    );
    check_answer(f, &label, check, &outcome);
    check_jobs(p, f, &label, check, &outcome).await;
    check_sends_once(p, f, &label).await;

    if let Some(fresh_http) = check["fresh_http"].as_u64() {
        let fresh = match platform.fresh(case) {
            Ok(d) => d,
            Err(e) => return f.add(&label, format!("fresh: {e}")),
        };
        let before = p.jobs().await.len();
        let (status, answer) = post(p, STORE, &fresh.headers, fresh.body).await;
        if u64::from(status) != fresh_http {
            f.add(
                &label,
                format!(
                    "fresh_http: expected {fresh_http}, got {}",
                    shown(status, &answer)
                ),
            );
        }
        if let Some(want) = check["fresh_status"].as_str()
            && answer_status(&answer) != want
        {
            f.add(
                &label,
                format!(
                    "fresh_status: expected {want:?}, got {}",
                    shown(status, &answer)
                ),
            );
        }
        if answer_status(&answer) != "accepted" && p.jobs().await.len() != before {
            f.add(
                &label,
                "fresh: an answer that is not `accepted` created jobs",
            );
        }
    }
}
