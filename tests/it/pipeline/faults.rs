//! Buzzbip failing mid-run: an unapproved template, throttling and server errors, a token
//! expiring. Each ends with exactly one send or a dead job, never two.

use super::{WOO_PAID, both_stores, post_woo};

use crate::common::app::{start, woo_profile};
use crate::common::sign::*;

use shopbip::jobs::JobState;
use shopbip::sandbox::{Fault, FaultKind, FaultTarget};

#[tokio::test]
async fn an_unapproved_template_kills_the_job_and_deletes_its_media() {
    let p = start(|dir, url| {
        std::fs::write(
            dir.join("acme-woo.toml"),
            woo_profile(url).replace("template_id = 1289", "template_id = 1300"),
        )
        .unwrap();
    })
    .await;
    post_woo(&p, "acme-woo", fixture(WOO_PAID), "d1").await;
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].state, JobState::Dead);
    let reason = jobs[0].last_error.clone().unwrap();
    assert!(
        reason.contains("not approved") && reason.contains("DRAFT"),
        "{reason}"
    );
    assert!(
        p.sandbox.control.media().await.unwrap().is_empty(),
        "the uploaded media was deleted"
    );
    let deletes = p
        .sandbox
        .control
        .calls()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.method == "DELETE")
        .count();
    assert_eq!(deletes, 1);
}

#[tokio::test]
async fn throttling_and_server_errors_still_send_exactly_once() {
    let p = start(both_stores).await;
    let control = &p.sandbox.control;
    control
        .add_fault(&Fault {
            on: FaultTarget::Send,
            kind: FaultKind::RateLimit {
                retry_after_secs: Some(1),
            },
            times: 1,
        })
        .await
        .unwrap();
    control
        .add_fault(&Fault {
            on: FaultTarget::Send,
            kind: FaultKind::ServerError { status: 500 },
            times: 1,
        })
        .await
        .unwrap();
    control
        .add_fault(&Fault {
            on: FaultTarget::Upload,
            kind: FaultKind::ServerError { status: 503 },
            times: 1,
        })
        .await
        .unwrap();
    post_woo(&p, "acme-woo", fixture(WOO_PAID), "d1").await;
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].state, JobState::Done, "{:?}", jobs[0].last_error);
    assert_eq!(
        jobs[0].attempts, 4,
        "upload 503, send 429, send 500, then success"
    );
    let sends = control
        .calls_to("/api/v2/whatsapp/templates")
        .await
        .unwrap();
    let statuses: Vec<u16> = sends.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 500, 200]);
    let uploads = control.calls_to("/api/v2/whatsapp/media").await.unwrap();
    assert_eq!(
        uploads.iter().filter(|c| c.status == 200).count(),
        1,
        "the retry reused the uploaded media"
    );
}

#[tokio::test]
async fn a_token_expiring_mid_run_costs_one_login_and_no_failed_job() {
    let p = start(both_stores).await;
    post_woo(&p, "acme-woo", fixture(WOO_PAID), "d1").await;
    p.settled(1).await;
    p.sandbox.control.expire_tokens().await.unwrap();
    post_woo(
        &p,
        "acme-woo",
        fixture("woocommerce/order-updated-paid-eur.json"),
        "d2",
    )
    .await;
    let jobs = p.settled(2).await;
    assert!(jobs.iter().all(|j| j.state == JobState::Done), "{jobs:?}");
    assert!(jobs.iter().all(|j| j.attempts == 1), "no attempt failed");
    assert_eq!(p.sandbox.logins().await, 2);
}
