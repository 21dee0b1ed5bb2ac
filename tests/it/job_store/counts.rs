//! The per-store counts behind the stores overview and `GET /admin/stores`: kept by triggers
//! (and, on PostgreSQL, folded from deltas), they must always equal what grouping every job
//! says, whatever moved the jobs and whether or not a fold ran in between.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{LEASE, all, event, rule, test_db};
use shopbip::clock::now_ms;
use shopbip::jobs::{Failure, JobState, JobStore, NewEvent, ReplayOutcome};
use shopbip::order::EventKind;

/// Jobs by store and state, counted the slow way: every job read and grouped.
async fn truth(store: &Arc<dyn JobStore>) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for job in all(store).await {
        *out.entry(job.store_id.clone())
            .or_default()
            .entry(job.state.as_str().to_owned())
            .or_default() += 1;
    }
    out
}

/// The counts as the overview reads them, checked against `truth`, before and after a fold.
async fn counts_match(store: &Arc<dyn JobStore>, when: &str) {
    let expected = truth(store).await;
    for fold in [false, true] {
        if fold {
            store.fold_counts().await.unwrap();
        }
        let stats = store.store_stats().await.unwrap();
        let got: BTreeMap<String, BTreeMap<String, u64>> = stats
            .iter()
            .filter(|(_, s)| !s.jobs.is_empty())
            .map(|(id, s)| (id.clone(), s.jobs.clone()))
            .collect();
        assert_eq!(got, expected, "{when} (after a fold: {fold})");
    }
}

fn paid(store_id: &str, delivery: &str, order: &str, rules: u64) -> NewEvent {
    let mut ev = event(
        delivery,
        order,
        EventKind::OrderPaid,
        (0..rules)
            .map(|i| rule(EventKind::OrderPaid, 1000 + i))
            .collect(),
    );
    ev.store_id = store_id.into();
    ev
}

#[tokio::test]
async fn store_counts_follow_every_move_of_a_job() {
    let db = test_db().await;
    let store = db.open().await;
    let stats = store.store_stats().await.unwrap();
    assert!(stats.is_empty(), "{stats:?}");

    let before = now_ms();
    store.ingest(paid("acme", "d1", "1", 1)).await.unwrap();
    store.ingest(paid("acme", "d2", "2", 2)).await.unwrap();
    // The same delivery again, and another delivery of an order that has its job: the first
    // stores nothing, the second an event but no job.
    store.ingest(paid("acme", "d1", "1", 1)).await.unwrap();
    store.ingest(paid("acme", "d3", "1", 1)).await.unwrap();
    store.ingest(paid("other", "e1", "9", 1)).await.unwrap();
    let after = now_ms();
    counts_match(&store, "after ingestion").await;
    let stats = store.store_stats().await.unwrap();
    assert_eq!(stats["acme"].jobs["queued"], 3);
    assert_eq!(stats["other"].jobs["queued"], 1);
    for id in ["acme", "other"] {
        let at = stats[id].last_webhook_at.unwrap();
        assert!(
            (before..=after).contains(&at),
            "{id}: {at} not in {before}..={after}"
        );
        assert_eq!(stats[id].last_send_at, None);
    }

    // Leased, then one sent, one dead, the third back to the queue by the reaper.
    let claimed = store.claim("w", LEASE, 2).await.unwrap();
    assert_eq!(claimed.len(), 2);
    counts_match(&store, "after a claim of two").await;
    let sent_before = now_ms();
    assert!(
        store
            .complete(claimed[0].id, "w", &serde_json::json!({}))
            .await
            .unwrap()
    );
    let sent_after = now_ms();
    store
        .fail(claimed[1].id, "w", "template rejected", Failure::Permanent)
        .await
        .unwrap();
    counts_match(&store, "after a send and a dead job").await;
    let crashed = store
        .claim("crashed", Duration::from_millis(30), 10)
        .await
        .unwrap();
    assert_eq!(crashed.len(), 2);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(store.reap_expired().await.unwrap(), 2);
    counts_match(&store, "after the reaper").await;

    let stats = store.store_stats().await.unwrap();
    let sent_store = &claimed[0].store_id;
    let last_send = stats[sent_store].last_send_at.unwrap();
    assert!(
        (sent_before..=sent_after).contains(&last_send),
        "{last_send} not in {sent_before}..={sent_after}"
    );
    assert_eq!(stats[sent_store].jobs["dead"], 1);

    // A replay takes the job out of `done`; the send it made stays the last send.
    assert_eq!(
        store.replay(claimed[0].id).await.unwrap(),
        ReplayOutcome::Requeued
    );
    assert_eq!(
        store.replay(claimed[1].id).await.unwrap(),
        ReplayOutcome::Requeued
    );
    counts_match(&store, "after two replays").await;
    let stats = store.store_stats().await.unwrap();
    assert_eq!(stats[sent_store].last_send_at, Some(last_send));
    assert!(!stats[sent_store].jobs.contains_key("done"));

    // Leases renewed and steps saved change no state: the counts stay.
    let job = store.claim("w2", LEASE, 1).await.unwrap().remove(0);
    assert!(store.renew(job.id, "w2", LEASE).await.unwrap());
    assert!(
        store
            .save_steps(job.id, "w2", &serde_json::json!({"x": 1}))
            .await
            .unwrap()
    );
    assert!(
        store
            .finish(job.id, "w2", JobState::Skipped, Some("no phone"))
            .await
            .unwrap()
    );
    counts_match(&store, "after a skip").await;
}

/// Many writers at once (on PostgreSQL, many connections): no count is lost or doubled, and
/// folds running meanwhile move each delta once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_counts_hold_under_concurrent_writers_and_folds() {
    let db = test_db().await;
    let store = db.open().await;
    let mut tasks = Vec::new();
    for t in 0..4u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let shop = if t % 2 == 0 { "acme" } else { "other" };
            for i in 0..25u64 {
                let order = format!("{t}-{i}");
                store
                    .ingest(paid(shop, &format!("d{order}"), &order, 1 + i % 2))
                    .await
                    .unwrap();
                for job in store.claim(&format!("w{t}"), LEASE, 2).await.unwrap() {
                    if job.id % 3 == 0 {
                        store
                            .fail(job.id, &format!("w{t}"), "no", Failure::Permanent)
                            .await
                            .unwrap();
                    } else {
                        store
                            .complete(job.id, &format!("w{t}"), &serde_json::json!({}))
                            .await
                            .unwrap();
                    }
                }
            }
        }));
    }
    let folder = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                store.fold_counts().await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    folder.await.unwrap();
    counts_match(&store, "after concurrent writers").await;
    let total: u64 = truth(&store).await.values().flat_map(|s| s.values()).sum();
    assert_eq!(total, 148, "4 writers x (13 orders x 1 rule + 12 x 2)");
}

/// A database made before the counts existed gets them, from the jobs and events it holds,
/// when this version first opens it.
#[tokio::test]
async fn an_upgraded_database_counts_what_it_already_held() {
    let db = test_db().await;
    let (dir, before_counts) = if db.url.starts_with("sqlite:") {
        ("migrations/sqlite", 5)
    } else {
        ("migrations/postgres", 6)
    };
    let url = if let Some(file) = db.url.strip_prefix("sqlite://") {
        std::fs::create_dir_all(std::path::Path::new(file).parent().unwrap()).unwrap();
        format!("{}?mode=rwc", db.url)
    } else {
        db.url.clone()
    };
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let migrator = sqlx::migrate::Migrator::new(migrations).await.unwrap();
    crate::common::db::with_pool!(&url, |pool| {
        migrator.run_to(before_counts, &pool).await.unwrap();
        for (id, store_id, at) in [(1, "acme", 1_000), (2, "acme", 3_000), (3, "other", 2_000)] {
            sqlx::query(
                "INSERT INTO events (store_id, platform, delivery_key, topic, kind, order_id, \
                 order_json, received_at) VALUES ($1, 'woocommerce', $2, 'order.updated', \
                 'order.paid', $2, $3, $4)",
            )
            .bind(store_id)
            .bind(format!("k{id}"))
            .bind(serde_json::to_string(&paid(store_id, "-", &format!("k{id}"), 0).order).unwrap())
            .bind(at as i64)
            .execute(&pool)
            .await
            .unwrap();
        }
        for (event, rule_key, state, at) in [
            (1, "a", "done", 5_000),
            (1, "b", "dead", 6_000),
            (2, "a", "done", 7_000),
            (3, "a", "queued", 4_000),
        ] {
            sqlx::query(
                "INSERT INTO jobs (event_id, store_id, order_id, kind, rule_key, rule_json, state, \
                 max_attempts, run_at, created_at, updated_at) \
                 SELECT id, store_id, order_id, kind, $2, $3, $4, 5, $5, $5, $5 \
                 FROM events WHERE delivery_key = $1",
            )
            .bind(format!("k{event}"))
            .bind(rule_key)
            .bind(serde_json::to_string(&rule(EventKind::OrderPaid, 1289)).unwrap())
            .bind(state)
            .bind(at as i64)
            .execute(&pool)
            .await
            .unwrap();
        }
    });
    let store = db.open().await;
    let stats = store.store_stats().await.unwrap();
    assert_eq!(stats["acme"].last_webhook_at, Some(3_000));
    assert_eq!(stats["acme"].last_send_at, Some(7_000));
    assert_eq!(stats["other"].last_webhook_at, Some(2_000));
    assert_eq!(stats["other"].last_send_at, None);
    counts_match(&store, "after the upgrade").await;
    assert_eq!(stats["acme"].jobs["done"], 2);
    assert_eq!(stats["acme"].jobs["dead"], 1);
    // And from then on the triggers count.
    store.ingest(paid("other", "e9", "9", 1)).await.unwrap();
    counts_match(&store, "after a webhook on the upgraded database").await;
}
