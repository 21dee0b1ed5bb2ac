//! A job's life in the store: leases that expire, retries on their schedule, replay.

use std::sync::Arc;
use std::time::Duration;

use super::{LEASE, event, rule, test_db};
use crate::common;
use shopbip::clock::now_ms;
use shopbip::jobs::{Failure, JobState, JobStore, ReplayOutcome, RetryPolicy};
use shopbip::order::EventKind;

#[tokio::test]
async fn an_expired_lease_is_reclaimed_by_another_worker() {
    let db = test_db().await;
    let store = db.open().await;
    store
        .ingest(event(
            "d1",
            "42",
            EventKind::OrderPaid,
            vec![rule(EventKind::OrderPaid, 1289)],
        ))
        .await
        .unwrap();
    let job = store
        .claim("crashed", Duration::from_millis(50), 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(job.attempts, 1);
    assert!(
        store.claim("w2", LEASE, 10).await.unwrap().is_empty(),
        "leased jobs are not claimable"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(store.reap_expired().await.unwrap(), 1);
    let again = store.claim("w2", LEASE, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert!(
        again[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("lease expired")
    );
    // The crashed worker, come back, cannot finish or save a job it no longer holds.
    assert!(
        !store
            .finish(job.id, "crashed", JobState::Done, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_steps(job.id, "crashed", &serde_json::json!({"x": 1}))
            .await
            .unwrap()
    );
    assert!(store.renew(job.id, "w2", LEASE).await.unwrap());
    assert!(
        store
            .finish(job.id, "w2", JobState::Done, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get(job.id).await.unwrap().unwrap().state,
        JobState::Done
    );
}

#[tokio::test]
async fn failures_follow_the_retry_schedule_and_end_dead() {
    let db = test_db().await;
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    let store = db.open_with(policy).await;
    let rules = vec![
        rule(EventKind::OrderPaid, 1),
        rule(EventKind::OrderPaid, 2),
        rule(EventKind::OrderPaid, 3),
    ];
    store
        .ingest(event("d1", "42", EventKind::OrderPaid, rules))
        .await
        .unwrap();
    let jobs = store.claim("w", LEASE, 10).await.unwrap();
    let (a, b, c) = (jobs[0].id, jobs[1].id, jobs[2].id);

    let before = now_ms();
    let s = store
        .fail(a, "w", "HTTP 503", Failure::Transient { retry_after: None })
        .await
        .unwrap();
    assert_eq!(s, Some(JobState::Queued));
    let ja = store.get(a).await.unwrap().unwrap();
    let wait = ja.run_at - before;
    assert!(
        (8_000..=12_100).contains(&wait),
        "first retry after ~10 s ±20 %, got {wait} ms"
    );
    assert_eq!(ja.last_error.as_deref(), Some("HTTP 503"));

    store
        .fail(
            b,
            "w",
            "HTTP 429",
            Failure::Transient {
                retry_after: Some(Duration::from_secs(90)),
            },
        )
        .await
        .unwrap();
    let jb = store.get(b).await.unwrap().unwrap();
    assert!(
        (89_900..=90_500).contains(&(jb.run_at - before)),
        "Retry-After wins"
    );

    let s = store
        .fail(c, "w", "template rejected", Failure::Permanent)
        .await
        .unwrap();
    assert_eq!(s, Some(JobState::Dead));
    assert_eq!(
        store.get(c).await.unwrap().unwrap().last_error.as_deref(),
        Some("template rejected")
    );

    // Not due yet: nothing to claim. Once due, the second attempt failing is the last.
    assert!(store.claim("w", LEASE, 10).await.unwrap().is_empty());
    common::db::exec(
        &db.url,
        &format!("UPDATE jobs SET run_at = 0 WHERE id = {a}"),
    )
    .await;
    let retried = store.claim("w", LEASE, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 2);
    let s = store
        .fail(a, "w", "HTTP 503", Failure::Transient { retry_after: None })
        .await
        .unwrap();
    assert_eq!(s, Some(JobState::Dead));
    let dead = store.get(a).await.unwrap().unwrap();
    assert!(
        dead.last_error
            .unwrap()
            .starts_with("gave up after 2 attempts"),
        "reason kept"
    );
    let counts = store.count_by_state().await.unwrap();
    assert!(
        counts.contains(&(JobState::Dead, 2)) && counts.contains(&(JobState::Queued, 1)),
        "{counts:?}"
    );
}

/// Order 42's paid event stored and its one job claimed by worker `w`.
pub(super) async fn claimed_paid_job(store: &Arc<dyn JobStore>) -> shopbip::jobs::Job {
    store
        .ingest(event(
            "d1",
            "42",
            EventKind::OrderPaid,
            vec![rule(EventKind::OrderPaid, 1289)],
        ))
        .await
        .unwrap();
    store.claim("w", LEASE, 1).await.unwrap().remove(0)
}

#[tokio::test]
async fn replay_requeues_a_finished_job_and_records_it() {
    let db = test_db().await;
    let store = db.open().await;
    let job = claimed_paid_job(&store).await;
    assert_eq!(
        store.replay(job.id).await.unwrap(),
        ReplayOutcome::NotFinished(JobState::Running)
    );
    let steps = serde_json::json!({"invoice_number": "INV-7", "media_id": "5001", "whatsapp_bulk_group_id": "g1"});
    assert!(store.save_steps(job.id, "w", &steps).await.unwrap());
    store
        .finish(job.id, "w", JobState::Done, None)
        .await
        .unwrap();

    assert_eq!(store.replay(job.id).await.unwrap(), ReplayOutcome::Requeued);
    let replayed = store.get(job.id).await.unwrap().unwrap();
    assert_eq!(
        (replayed.state, replayed.replays, replayed.attempts),
        (JobState::Queued, 1, 0)
    );
    assert_eq!(
        replayed.steps["invoice_number"], "INV-7",
        "the invoice number stays"
    );
    assert!(
        replayed.steps.get("whatsapp_bulk_group_id").is_none(),
        "the send runs again"
    );
    assert_eq!(
        replayed.steps["previous_runs"][0]["whatsapp_bulk_group_id"],
        "g1"
    );
    assert_eq!(store.replay(999).await.unwrap(), ReplayOutcome::NotFound);
}
