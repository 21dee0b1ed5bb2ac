//! The checks of one delivery's answer, its jobs and their sends against the meta's `check`.

use serde_json::Value;
use shopbip::jobs::{Job, JobState};

use super::order::{canonical_order, check_order, check_pdf_text, check_reconcile, render};
use super::{Failures, Outcome, answer_status, shown};
use crate::common::app::TestApp;

pub(super) fn check_answer(f: &mut Failures, label: &str, check: &Value, o: &Outcome) {
    if let Some(http) = check["http"].as_u64()
        && u64::from(o.status) != http
    {
        f.add(
            label,
            format!("http: expected {http}, got {}", shown(o.status, &o.answer)),
        );
    }
    if let Some(want) = check["status"].as_str()
        && answer_status(&o.answer) != want
    {
        f.add(
            label,
            format!(
                "status: expected {want:?}, got {}",
                shown(o.status, &o.answer)
            ),
        );
    }
    let accepted = check["status"].as_str() == Some("accepted");
    let want_created = check["jobs_created"]
        .as_u64()
        .unwrap_or(if accepted { 1 } else { 0 });
    if o.created.len() as u64 != want_created {
        f.add(
            label,
            format!(
                "jobs_created: expected {want_created}, {} job(s) created ({})",
                o.created.len(),
                o.created
                    .iter()
                    .map(|j| j.kind.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if let Some(said) = o.answer["jobs_created"].as_u64()
        && said != o.created.len() as u64
    {
        f.add(
            label,
            format!(
                "jobs_created: the answer says {said}, {} job(s) created",
                o.created.len()
            ),
        );
    }
    let want_existing = check["jobs_existing"].as_u64().unwrap_or(0);
    if answer_status(&o.answer) == "accepted" || check.get("jobs_existing").is_some() {
        let got = o.answer["jobs_existing"].as_u64();
        if got != Some(want_existing) && !(got.is_none() && want_existing == 0 && !accepted) {
            f.add(
                label,
                format!(
                    "jobs_existing: expected {want_existing}, got {}",
                    got.map_or("none in the answer".into(), |n| n.to_string())
                ),
            );
        }
    }
}

/// The send the sandbox received for `job`: the one carrying the job's uploaded document.
async fn send_of(p: &TestApp, job: &Job) -> Option<Value> {
    let media = job.steps["media_id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| job.steps["media_id"].as_i64().map(|n| n.to_string()))?;
    p.sandbox
        .control
        .calls_to(&format!(
            "/api/v2/whatsapp/templates/{}/send",
            job.rule.template_id
        ))
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.status == 200)
        .filter_map(|c| c.json)
        .find(|j| {
            j["header_media_id"].as_str() == Some(media.as_str())
                || j["header_media_id"].as_i64().map(|n| n.to_string()) == Some(media.clone())
        })
}

pub(super) async fn check_jobs(
    p: &TestApp,
    f: &mut Failures,
    label: &str,
    check: &Value,
    o: &Outcome,
) {
    if let Some(want) = check["outcome"].as_str() {
        if o.created.is_empty() {
            f.add(
                label,
                format!("outcome: expected {want:?}, no job was created"),
            );
        }
        for job in &o.created {
            if job.state.as_str() != want {
                f.add(
                    label,
                    format!(
                        "outcome: job {} ({}) expected {want:?}, got {:?} ({})",
                        job.id,
                        job.kind,
                        job.state.as_str(),
                        job.last_error.as_deref().unwrap_or("no error")
                    ),
                );
            }
        }
    }
    if let Some(word) = check["reason"].as_str() {
        for job in &o.created {
            let reason = job.last_error.as_deref().unwrap_or("");
            if !reason.to_lowercase().contains(&word.to_lowercase()) {
                f.add(
                    label,
                    format!(
                        "reason: job {} ({}) expected a reason with {word:?}, got {reason:?}",
                        job.id, job.kind
                    ),
                );
            }
        }
    }

    // Sends: `to` and `params` as the meta says, and a country consistent with the number.
    let mut sent_document = None;
    for job in &o.created {
        let send = send_of(p, job).await;
        if let Some(send) = &send {
            check_country(f, label, send);
            if sent_document.is_none() {
                sent_document = send["header_media_id"].as_str().map(str::to_owned);
            }
        }
        let wants_send = !check["to"].is_null() || !check["params"].is_null();
        match (send, wants_send) {
            (None, true) => f.add(
                label,
                format!(
                    "to/params: job {} ({}) sent nothing (state {}, {:?})",
                    job.id,
                    job.kind,
                    job.state.as_str(),
                    job.last_error
                ),
            ),
            (Some(send), true) => {
                if let Some(to) = check["to"].as_str()
                    && send["to"].as_str() != Some(to)
                {
                    f.add(label, format!("to: expected {to:?}, got {}", send["to"]));
                }
                if let Some(want) = check["params"].as_array() {
                    let got = send["body_params"].as_array().cloned().unwrap_or_default();
                    let same = got.len() == want.len()
                        && want.iter().zip(&got).all(|(w, g)| w.is_null() || w == g);
                    if !same {
                        f.add(
                            label,
                            format!(
                                "params: expected {}, got {}",
                                Value::Array(want.clone()),
                                send["body_params"]
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    let needs_order = ["order", "pdf", "reconcile"]
        .iter()
        .any(|k| !check[*k].is_null());
    if !needs_order {
        return;
    }
    let order = match canonical_order(p, o).await {
        Ok(order) => order,
        Err(e) => return f.add(label, format!("order: {e}")),
    };
    check_order(f, label, &check["order"], &order);
    if check["reconcile"].as_bool() == Some(true) {
        check_reconcile(f, label, &order);
    }
    if let Some(needles) = check["pdf"].as_array() {
        let (pdf, source) = match sent_document {
            Some(id) => match p.sandbox.control.media_content(&id).await {
                Ok(bytes) => (bytes.to_vec(), "uploaded invoice".to_owned()),
                Err(e) => return f.add(label, format!("pdf: media {id}: {e}")),
            },
            None => match render(p, o, &order).await {
                Ok(pdf) => (pdf, "invoice rendered for the order".to_owned()),
                Err(e) => return f.add(label, format!("pdf: {e}")),
            },
        };
        check_pdf_text(f, label, &pdf, needles, &source);
    }
}

/// `country_code` must be the country of the `to` number, whatever the meta says.
fn check_country(f: &mut Failures, label: &str, send: &Value) {
    let (Some(to), Some(cc)) = (send["to"].as_str(), send["country_code"].as_str()) else {
        return f.add(label, format!("send without to/country_code: {send}"));
    };
    match shopbip::phone::Phone::parse(&format!("+{to}"), cc) {
        Ok(phone) if phone.country_code() == cc && phone.to() == to => {}
        Ok(phone) => f.add(
            label,
            format!(
                "country_code: {cc:?} sent with +{to}, which is a {} number",
                phone.country_code()
            ),
        ),
        Err(e) => f.add(label, format!("to: +{to} is not a valid number: {e}")),
    }
}

/// However a platform repeats itself, no job sends twice.
pub(super) async fn check_sends_once(p: &TestApp, f: &mut Failures, label: &str) {
    let sends = p
        .sandbox
        .control
        .calls_to("/api/v2/whatsapp/templates/")
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.status == 200 && c.path.ends_with("/send"))
        .count();
    let done = p
        .jobs()
        .await
        .iter()
        .filter(|j| j.state == JobState::Done)
        .count();
    if sends != done {
        f.add(
            label,
            format!("{sends} accepted sends for {done} done jobs so far"),
        );
    }
}
