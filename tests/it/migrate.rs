//! Moving from one machine (SQLite) to replicas (PostgreSQL) keeps every pending job.

use crate::common;

use std::process::Command;
use std::time::Duration;

use shopbip::jobs::{JobFilter, JobState, NewEvent, RetryPolicy};
use shopbip::order::{EventKind, Order};
use shopbip::stores::NotifyRule;

fn event(n: u32) -> NewEvent {
    NewEvent {
        store_id: "acme".into(),
        platform: "woocommerce".into(),
        delivery_key: format!("d{n}"),
        topic: "order.updated".into(),
        kind: EventKind::OrderPaid,
        order: Order {
            id: n.to_string(),
            number: n.to_string(),
            currency: "TND".into(),
            ..Order::default()
        },
        rules: vec![NotifyRule {
            on: EventKind::OrderPaid,
            template_id: 1289,
            template_ids: Default::default(),
            body_params: vec![],
            attach_invoice: true,
            buttons: vec![],
            payment: vec![],
        }],
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: SHOPBIP_TEST_POSTGRES"]
async fn migrate_sqlite_to_postgres_keeps_pending_jobs_and_invoice_numbers() {
    common::db::require_postgres();
    let dir = tempfile::tempdir().unwrap();
    let from = format!("sqlite://{}", dir.path().join("old.db").display());
    let sqlite = shopbip::jobs::open(&from, RetryPolicy::default())
        .await
        .unwrap();
    for n in 1..=5 {
        sqlite.ingest(event(n)).await.unwrap();
    }
    let claimed = sqlite
        .claim("old-worker", Duration::from_secs(60), 2)
        .await
        .unwrap();
    sqlite
        .finish(claimed[0].id, "old-worker", JobState::Done, None)
        .await
        .unwrap();
    assert_eq!(sqlite.invoice_number("acme", "1").await.unwrap(), 1);
    assert_eq!(sqlite.invoice_number("acme", "2").await.unwrap(), 2);
    assert!(
        sqlite
            .opt_out("acme", "+21696816277", "keyword", 1)
            .await
            .unwrap()
    );
    // A store swept up to 5000 (ms): the sweeps on PostgreSQL go on from there.
    let lease = Duration::from_secs(60);
    assert_eq!(
        sqlite
            .claim_sweep("acme", "o", 1000, lease, false)
            .await
            .unwrap(),
        Some(None)
    );
    assert!(
        sqlite
            .advance_sweep("acme", "o", 5000, 61_000)
            .await
            .unwrap()
    );
    sqlite.close().await;

    let to = common::db::fresh_url(dir.path()).await;
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["migrate-sqlite-to-postgres", "--from", &from, "--to", &to])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("copied 5 events, 5 jobs, 2 invoice numbers, 0 Buzzbip events, 1 opt-outs, 1 sweep watermarks"),
        "{text}"
    );

    let pg = shopbip::jobs::open(&to, RetryPolicy::default())
        .await
        .unwrap();
    let jobs = pg
        .list(&JobFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 5);
    let states: Vec<JobState> = jobs.iter().rev().map(|j| j.state).collect();
    assert_eq!(
        states,
        [
            JobState::Done,
            JobState::Queued,
            JobState::Queued,
            JobState::Queued,
            JobState::Queued
        ],
        "the running job comes back queued"
    );
    // The sent job's delivery lookups go on from the new database; the opt-out came along.
    let sent = jobs.iter().find(|j| j.state == JobState::Done).unwrap();
    assert_eq!(sent.delivery.state.as_deref(), Some("accepted"));
    assert!(sent.delivery.poll_at.is_some());
    assert!(pg.is_opted_out("acme", "+21696816277").await.unwrap());
    let sweep = pg.sweep_record("acme").await.unwrap().unwrap();
    assert_eq!(sweep.watermark, Some(5000));
    assert_eq!(sweep.lease_owner, None, "no lease comes along");
    assert_eq!(
        pg.invoice_number("acme", "2").await.unwrap(),
        2,
        "same number after the move"
    );
    assert_eq!(
        pg.invoice_number("acme", "9").await.unwrap(),
        3,
        "the sequence continues"
    );
    // New rows take ids after the copied ones, and the dedupe keys came along.
    assert!(matches!(
        pg.ingest(event(3)).await.unwrap(),
        shopbip::jobs::IngestOutcome::DuplicateDelivery
    ));
    match pg.ingest(event(6)).await.unwrap() {
        shopbip::jobs::IngestOutcome::Stored {
            event_id,
            jobs_created: 1,
            ..
        } => assert!(event_id > 5),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        pg.claim("new", Duration::from_secs(60), 10)
            .await
            .unwrap()
            .len(),
        5
    );

    let again = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["migrate-sqlite-to-postgres", "--from", &from, "--to", &to])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("migrate into an empty one"));
}
