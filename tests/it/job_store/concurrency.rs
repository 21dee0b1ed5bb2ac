//! Many workers and operators at once: a job is claimed once, requeued once, made once.

use super::lifecycle::claimed_paid_job;
use super::{LEASE, all, event, rule, test_db};

use shopbip::jobs::{IngestOutcome, JobState, ReplayOutcome};
use shopbip::order::EventKind;

/// Two operators replaying the same job at once: it is requeued once, with one run recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replays_requeue_a_job_once() {
    let db = test_db().await;
    let store = db.open().await;
    let job = claimed_paid_job(&store).await;
    store
        .finish(job.id, "w", JobState::Done, None)
        .await
        .unwrap();
    let replays: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.replay(job.id).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for r in replays {
        outcomes.push(r.await.unwrap());
    }
    let requeued = outcomes
        .iter()
        .filter(|o| **o == ReplayOutcome::Requeued)
        .count();
    assert_eq!(requeued, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            ReplayOutcome::Requeued | ReplayOutcome::NotFinished(JobState::Queued)
        )),
        "{outcomes:?}"
    );
    let replayed = store.get(job.id).await.unwrap().unwrap();
    assert_eq!(replayed.replays, 1);
    assert_eq!(
        replayed.steps["previous_runs"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_job() {
    let db = test_db().await;
    let store = db.open().await;
    for i in 0..200 {
        let id = i.to_string();
        store
            .ingest(event(
                &id,
                &id,
                EventKind::OrderPaid,
                vec![rule(EventKind::OrderPaid, 1)],
            ))
            .await
            .unwrap();
    }
    let workers = (0..4).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim(&format!("w{w}"), LEASE, 7).await.unwrap();
                if batch.is_empty() {
                    break mine;
                }
                mine.extend(batch.into_iter().map(|j| j.id));
            }
        })
    });
    let mut claimed: Vec<i64> = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    assert_eq!(claimed.len(), 200);
    claimed.sort_unstable();
    claimed.dedup();
    assert_eq!(claimed.len(), 200, "no job claimed twice");
}

#[tokio::test]
async fn concurrent_repeats_in_one_group_commit_still_make_one_job() {
    let db = test_db().await;
    let store = db.open().await;
    let rules = || vec![rule(EventKind::OrderPaid, 1289)];
    // The same delivery 20 times at once, then 20 deliveries of one order at once: they land
    // in the same batches of the group-commit writer.
    let same_delivery = (0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .ingest(event("same", "42", EventKind::OrderPaid, rules()))
                .await
                .unwrap()
        })
    });
    let outcomes = futures_util::future::join_all(same_delivery).await;
    let stored = outcomes
        .iter()
        .filter(|o| matches!(o.as_ref().unwrap(), IngestOutcome::Stored { .. }))
        .count();
    assert_eq!(stored, 1);

    let same_order = (0..20).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .ingest(event(&format!("d{i}"), "77", EventKind::OrderPaid, rules()))
                .await
                .unwrap()
        })
    });
    let created: usize = futures_util::future::join_all(same_order)
        .await
        .into_iter()
        .map(|o| match o.unwrap() {
            IngestOutcome::Stored { jobs_created, .. } => jobs_created,
            IngestOutcome::DuplicateDelivery => panic!("distinct deliveries"),
        })
        .sum();
    assert_eq!(created, 1);
    assert_eq!(all(&store).await.len(), 2);
}
