//! The SQLite job store on a real file: dedupe, leases, retries, replay, restarts. Here the
//! helpers, dedupe and invoice numbers; leases, retries and replay in `lifecycle`, concurrent
//! workers and replays in `concurrency`, what survives closing and reopening in `durability`,
//! the per-store counts in `counts`, invoice and credit-note series in `numbering`.

mod concurrency;
mod counts;
mod durability;
mod lifecycle;
mod numbering;

use std::sync::Arc;
use std::time::Duration;

use crate::common;

use shopbip::jobs::{IngestOutcome, JobFilter, JobStore, NewEvent, RetryPolicy};
use shopbip::order::{EventKind, Order};
use shopbip::stores::NotifyRule;

pub(super) fn rule(on: EventKind, template_id: u64) -> NotifyRule {
    NotifyRule {
        on,
        template_id,
        template_ids: Default::default(),
        body_params: vec!["{order.number}".into()],
        attach_invoice: true,
        buttons: vec![],
        payment: vec![],
    }
}

pub(super) fn event(
    delivery: &str,
    order_id: &str,
    kind: EventKind,
    rules: Vec<NotifyRule>,
) -> NewEvent {
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
pub(super) struct TestDb {
    url: String,
    _dir: tempfile::TempDir,
}

pub(super) async fn test_db() -> TestDb {
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

pub(super) async fn all(store: &Arc<dyn JobStore>) -> Vec<shopbip::jobs::Job> {
    store
        .list(&JobFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
}

pub(super) const LEASE: Duration = Duration::from_secs(60);

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
