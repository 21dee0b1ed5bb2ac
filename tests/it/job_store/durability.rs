//! What the store keeps across closing and reopening, and the size of its write-ahead log.

use super::{LEASE, all, event, rule, test_db};
use crate::common;

use shopbip::jobs::{JobState, RetryPolicy};
use shopbip::order::EventKind;

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
