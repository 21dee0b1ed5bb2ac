//! The writer's behaviour under contention and failure, on a real file.

use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

use super::SqliteStore;
use super::writer::Arg;
use crate::jobs::{
    Health, IngestOutcome, JobFilter, JobQueue, JobReads, JobState, NewEvent, ReplayOutcome,
    RetryPolicy, StoreError,
};
use crate::order::{EventKind, Order};
use crate::stores::NotifyRule;

fn paid(order_id: &str) -> NewEvent {
    NewEvent {
        store_id: "acme".into(),
        platform: "woocommerce".into(),
        delivery_key: format!("{order_id}/d"),
        topic: "order.updated".into(),
        kind: EventKind::OrderPaid,
        order: Order {
            id: order_id.into(),
            number: order_id.into(),
            currency: "EUR".into(),
            ..Order::default()
        },
        rules: vec![NotifyRule {
            on: EventKind::OrderPaid,
            template_id: 7,
            template_ids: Default::default(),
            body_params: vec![],
            attach_invoice: false,
            buttons: vec![],
            payment: vec![],
        }],
    }
}

/// A store on a fresh file, with its URL (the directory lives as long as the first).
async fn fresh_store() -> (tempfile::TempDir, String, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let store = SqliteStore::open(&url, RetryPolicy::default())
        .await
        .unwrap();
    (dir, url, store)
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The database, its WAL and its shared-memory index hold customers' data: all three are
/// created readable by the service's user alone, whatever the umask lets files have.
#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_wal_are_created_private() {
    let (dir, _url, store) = fresh_store().await;
    store.ingest(paid("o1")).await.unwrap();
    for name in ["jobs.db", "jobs.db-wal", "jobs.db-shm"] {
        let path = dir.path().join(name);
        assert!(path.exists(), "{name} not there");
        assert_eq!(mode(&path), 0o600, "{name}");
    }
}

/// A WAL left by an earlier run with wider permissions is narrowed to the database's own.
#[cfg(unix)]
#[tokio::test]
async fn a_wider_leftover_wal_is_narrowed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    let wal = dir.path().join("jobs.db-wal");
    let url = format!("sqlite://{}", db.display());
    let first = SqliteStore::open(&url, RetryPolicy::default())
        .await
        .unwrap();
    first.close().await;
    drop(first);
    // A database in WAL mode with a leftover log: not empty (SQLite itself resets the mode
    // of an empty one), not a valid log either, so SQLite starts it afresh in place.
    std::fs::write(&wal, [0u8; 64]).unwrap();
    std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = SqliteStore::open(&url, RetryPolicy::default())
        .await
        .unwrap();
    store.ingest(paid("o1")).await.unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&wal), 0o600);
    // An operator's own choice for an existing database is kept.
    drop(store);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    let _store = SqliteStore::open(&url, RetryPolicy::default())
        .await
        .unwrap();
    assert_eq!(mode(&db), 0o640);
}

/// Posts order `o{n}`'s paid event on a task of its own.
fn ingest_task(
    store: &SqliteStore,
    n: usize,
) -> tokio::task::JoinHandle<Result<IngestOutcome, StoreError>> {
    let store = store.clone();
    tokio::spawn(async move { store.ingest(paid(&format!("o{n}"))).await })
}

/// Another connection holding the write lock until it rolls back.
async fn hold_write_lock(url: &str) -> SqliteConnection {
    let mut blocker = SqliteConnection::connect(url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    blocker
}

/// Replays that all read the job before any of them writes (the write lock is held
/// elsewhere meanwhile) still requeue it once: each requeue applies only to the job as read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_that_read_the_same_finished_job_requeue_it_once() {
    let (_dir, url, store) = fresh_store().await;
    store.ingest(paid("o1")).await.unwrap();
    let job = store.claim("w", Duration::from_secs(60), 1).await.unwrap();
    store
        .finish(job[0].id, "w", JobState::Done, None)
        .await
        .unwrap();
    let mut blocker = hold_write_lock(&url).await;
    let replays: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            let id = job[0].id;
            tokio::spawn(async move { store.replay(id).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let mut requeued = 0;
    for r in replays {
        match r.await.unwrap().unwrap() {
            ReplayOutcome::Requeued => requeued += 1,
            ReplayOutcome::NotFinished(JobState::Queued) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(requeued, 1);
    assert_eq!(store.get(job[0].id).await.unwrap().unwrap().replays, 1);
}

fn all_jobs() -> JobFilter {
    JobFilter {
        limit: 1000,
        ..JobFilter::default()
    }
}

/// A write the database refuses (here a NOT NULL column set to NULL) fails alone: the
/// webhooks that shared its transaction are stored and answered, and the writer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_does_not_fail_the_writes_committed_with_it() {
    let (_dir, url, store) = fresh_store().await;
    let ingest = |n| ingest_task(&store, n);
    // Another connection holds the write lock: the writer takes the first webhook and
    // waits on the lock while everything else queues, so the rest share one transaction.
    let mut blocker = hold_write_lock(&url).await;
    let mut ingests = vec![ingest(0)];
    tokio::time::sleep(Duration::from_millis(100)).await;
    ingests.extend((1..64).map(ingest));
    let refused = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .update(
                    "UPDATE jobs SET state = NULL WHERE id = ?1",
                    vec![Arg::Int(1)],
                )
                .await
        })
    };
    ingests.extend((64..96).map(ingest));
    tokio::time::sleep(Duration::from_millis(100)).await;
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();

    assert!(
        refused.await.unwrap().is_err(),
        "the NOT NULL constraint refuses it"
    );
    for ingest in ingests {
        let outcome = ingest.await.unwrap().unwrap();
        assert!(
            matches!(
                outcome,
                IngestOutcome::Stored {
                    jobs_created: 1,
                    ..
                }
            ),
            "{outcome:?}"
        );
    }
    store.ping().await.unwrap();
    let jobs = store.list(&all_jobs()).await.unwrap();
    assert_eq!(jobs.len(), 96);
    assert!(jobs.iter().all(|j| j.state == JobState::Queued));
    assert!(
        matches!(
            store.ingest(paid("after")).await,
            Ok(IngestOutcome::Stored { .. })
        ),
        "the writer takes writes after a refused one"
    );
}

/// A write lock held elsewhere past the busy timeout fails a waiting batch whole, at once:
/// writing its webhooks one by one would make each wait the timeout again (256 × 10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_locked_out_fails_at_once_and_the_writer_goes_on() {
    let (_dir, url, store) = fresh_store().await;
    let ingest = |n| ingest_task(&store, n);
    let mut blocker = hold_write_lock(&url).await;
    let started = std::time::Instant::now();
    let first = ingest(0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let queued: Vec<_> = (1..=20).map(ingest).collect();
    // The first batch gives up after one busy timeout (10 s), the queued one after a
    // second; one by one, the queued webhooks would take 20 more.
    assert!(first.await.unwrap().is_err());
    for write in queued {
        assert!(write.await.unwrap().is_err());
    }
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(28),
        "answered after {waited:?}: the batch was retried write by write"
    );
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    assert!(matches!(
        store.ingest(paid("after")).await,
        Ok(IngestOutcome::Stored { .. })
    ));
    store.ping().await.unwrap();
}

/// `close` stops the writer after what it holds: a write arriving later is refused (the
/// caller is never told "stored" for a row that missed the final checkpoint).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_after_close_are_refused() {
    let (_dir, url, store) = fresh_store().await;
    assert!(matches!(
        store.ingest(paid("before")).await,
        Ok(IngestOutcome::Stored { .. })
    ));
    store.close().await;
    assert!(store.ingest(paid("after")).await.is_err());
    assert!(store.ping().await.is_err());
    let reopened = SqliteStore::open(&url, RetryPolicy::default())
        .await
        .unwrap();
    let orders: Vec<String> = reopened
        .list(&all_jobs())
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.order_id)
        .collect();
    assert_eq!(orders, ["before"]);
}
