//! The SQLite job store on a real file: dedupe, leases, retries, replay, restarts.

use std::sync::Arc;
use std::time::Duration;

use crate::common;

use shopbip::clock::now_ms;
use shopbip::jobs::{
    Failure, IngestOutcome, JobFilter, JobState, JobStore, NewEvent, ReplayOutcome, RetryPolicy,
};
use shopbip::order::{EventKind, Order};
use shopbip::stores::NotifyRule;

fn rule(on: EventKind, template_id: u64) -> NotifyRule {
    NotifyRule {
        on,
        template_id,
        body_params: vec!["{order.number}".into()],
        attach_invoice: true,
        buttons: vec![],
        payment: vec![],
    }
}

fn event(delivery: &str, order_id: &str, kind: EventKind, rules: Vec<NotifyRule>) -> NewEvent {
    NewEvent {
        store_id: "acme".into(),
        platform: "woocommerce".into(),
        delivery_key: delivery.into(),
        topic: "order.updated".into(),
        kind,
        order: Order {
            id: order_id.into(),
            number: order_id.into(),
            currency: "EUR".into(),
            ..Order::default()
        },
        rules,
    }
}

/// A fresh database (SQLite file, or PostgreSQL with `SHOPBIP_TEST_POSTGRES`).
struct TestDb {
    url: String,
    _dir: tempfile::TempDir,
}

async fn test_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    TestDb {
        url: common::db::fresh_url(&dir.path().join("data")).await,
        _dir: dir,
    }
}

impl TestDb {
    async fn open(&self) -> Arc<dyn JobStore> {
        self.open_with(RetryPolicy::default()).await
    }

    async fn open_with(&self, policy: RetryPolicy) -> Arc<dyn JobStore> {
        shopbip::jobs::open(&self.url, policy).await.unwrap()
    }
}

async fn all(store: &Arc<dyn JobStore>) -> Vec<shopbip::jobs::Job> {
    store
        .list(&JobFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
}

const LEASE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn one_job_per_order_event_and_rule_ever() {
    let db = test_db().await;
    let store = db.open().await;
    let paid = || {
        vec![
            rule(EventKind::OrderPaid, 1289),
            rule(EventKind::OrderPaid, 1300),
        ]
    };
    let first = store
        .ingest(event("d1", "42", EventKind::OrderPaid, paid()))
        .await
        .unwrap();
    assert!(
        matches!(
            first,
            IngestOutcome::Stored {
                jobs_created: 2,
                jobs_existing: 0,
                ..
            }
        ),
        "{first:?}"
    );
    assert_eq!(
        store
            .ingest(event("d1", "42", EventKind::OrderPaid, paid()))
            .await
            .unwrap(),
        IngestOutcome::DuplicateDelivery
    );
    let again = store
        .ingest(event("d2", "42", EventKind::OrderPaid, paid()))
        .await
        .unwrap();
    assert!(
        matches!(
            again,
            IngestOutcome::Stored {
                jobs_created: 0,
                jobs_existing: 2,
                ..
            }
        ),
        "{again:?}"
    );
    let other = store
        .ingest(event("d3", "43", EventKind::OrderPaid, paid()))
        .await
        .unwrap();
    assert!(matches!(
        other,
        IngestOutcome::Stored {
            jobs_created: 2,
            ..
        }
    ));
    assert_eq!(all(&store).await.len(), 4);
}

#[tokio::test]
async fn jobs_survive_closing_and_reopening_the_file() {
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
    store.close().await;
    drop(store);
    let reopened = db.open().await;
    let jobs = all(&reopened).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(jobs[0].order.id, "42");
    let claimed = reopened.claim("w1", LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
}

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
async fn claimed_paid_job(store: &Arc<dyn JobStore>) -> shopbip::jobs::Job {
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

#[tokio::test]
async fn invoice_numbers_are_allocated_once_per_order_in_a_per_store_sequence() {
    let db = test_db().await;
    let store = db.open().await;
    assert_eq!(store.invoice_number("acme", "42").await.unwrap(), 1);
    assert_eq!(store.invoice_number("acme", "43").await.unwrap(), 2);
    assert_eq!(
        store.invoice_number("acme", "42").await.unwrap(),
        1,
        "a retry gets the same number"
    );
    assert_eq!(
        store.invoice_number("other", "42").await.unwrap(),
        1,
        "each store counts alone"
    );
    let many = (0..30).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .invoice_number("acme", &format!("o{i}"))
                .await
                .unwrap()
        })
    });
    let mut numbers: Vec<u64> = futures_util::future::join_all(many)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (3..=32).collect::<Vec<u64>>(),
        "gapless and never shared"
    );
    assert_eq!(shopbip::jobs::format_invoice_number(7), "INV-000007");
}

/// Under a steady flood the WAL is rewound by the background checkpointer instead of growing
/// with every event: ~100 MB of orders go through, the `-wal` file stays a fraction of that.
/// SQLite in both CI runs: PostgreSQL manages its own log.
#[tokio::test]
async fn the_wal_stays_small_under_a_steady_flood() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flood.db");
    let store = shopbip::jobs::open(
        &format!("sqlite://{}", path.display()),
        RetryPolicy::default(),
    )
    .await
    .unwrap();
    let lines: Vec<shopbip::order::LineItem> = (0..60)
        .map(|i| shopbip::order::LineItem {
            name: format!("Line {i}: a product name long enough to make the order realistic"),
            sku: Some(format!("SKU-{i:05}")),
            ..Default::default()
        })
        .collect();
    let wal = dir.path().join("flood.db-wal");
    let (mut written, mut largest_wal) = (0u64, 0u64);
    for round in 0..40 {
        let batch = (0..300).map(|i| {
            let store = store.clone();
            let mut e = event(
                &format!("d{round}-{i}"),
                &format!("o{round}-{i}"),
                EventKind::OrderPaid,
                vec![rule(EventKind::OrderPaid, 1289)],
            );
            e.order.lines = lines.clone();
            written += serde_json::to_vec(&e.order).unwrap().len() as u64;
            tokio::spawn(async move { store.ingest(e).await.unwrap() })
        });
        futures_util::future::join_all(batch).await;
        largest_wal = largest_wal.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert_eq!(all(&store).await.len(), 1000, "the list is capped at 1,000");
    assert!(
        written > 80 << 20,
        "the test must push a lot through: {written} bytes"
    );
    // Rewound at 16 MB (plus what arrives during one 200 ms round), cut back to 64 MB.
    assert!(
        largest_wal < 64 << 20,
        "WAL reached {largest_wal} bytes for {written} bytes of orders"
    );
    store.close().await;
}

/// After `close()` the database file holds every committed job on its own: a copy of
/// `shopbip.db` without its `-wal` (what an operator might move to another machine) loses none.
#[tokio::test]
async fn closing_leaves_the_database_file_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let store = shopbip::jobs::open(
        &format!("sqlite://{}", path.display()),
        RetryPolicy::default(),
    )
    .await
    .unwrap();
    for i in 0..25 {
        let e = event(
            &format!("d{i}"),
            &format!("o{i}"),
            EventKind::OrderPaid,
            vec![rule(EventKind::OrderPaid, 1289)],
        );
        store.ingest(e).await.unwrap();
    }
    store.close().await;
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let jobs = common::db::scalar(
        &format!("sqlite://{}", copy.display()),
        "SELECT COUNT(*) FROM jobs",
    )
    .await;
    assert_eq!(jobs, 25);
}
