//! The console's data layer (`shopbip::jobs::messages`) on a real database (SQLite, or
//! PostgreSQL with `SHOPBIP_TEST_POSTGRES`): every filter, the store scope, cursor paging,
//! search, the CSV export and the operator actions.

use std::sync::Arc;

use crate::common;

use shopbip::clock::now_ms;
use shopbip::jobs::messages::{
    MessageQuery, MessageRow, ReplayedShown, RetryNow, StoreScope, write_csv,
};
use shopbip::jobs::{JobState, JobStore, NewEvent, ReplayOutcome, RetryPolicy};
use shopbip::order::{Address, Customer, EventKind, Order};
use shopbip::stores::NotifyRule;

struct Db {
    url: String,
    store: Arc<dyn JobStore>,
    _dir: tempfile::TempDir,
}

async fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = common::db::fresh_url(&dir.path().join("data")).await;
    let store = shopbip::jobs::open(&url, RetryPolicy::default())
        .await
        .unwrap();
    Db {
        url,
        store,
        _dir: dir,
    }
}

/// One order of `store` with one job per rule of `kind`.
struct Ord<'a> {
    store: &'a str,
    id: &'a str,
    name: &'a str,
    first_name: &'a str,
    phone: Option<&'a str>,
    kind: EventKind,
}

fn event(o: Ord<'_>) -> NewEvent {
    let order = Order {
        id: o.id.into(),
        number: o.name.trim_start_matches('#').into(),
        name: o.name.into(),
        currency: "EUR".into(),
        customer: Customer {
            first_name: o.first_name.into(),
            last_name: "Doe".into(),
            ..Customer::default()
        },
        billing: Some(Address {
            phone: o.phone.map(Into::into),
            ..Address::default()
        }),
        ..Order::default()
    };
    NewEvent {
        store_id: o.store.into(),
        platform: "woocommerce".into(),
        delivery_key: format!("{}-{}-{}", o.store, o.id, o.kind),
        topic: "order.updated".into(),
        kind: o.kind,
        order,
        rules: vec![NotifyRule {
            on: o.kind,
            template_id: 1289,
            template_ids: Default::default(),
            body_params: vec![],
            attach_invoice: false,
            buttons: vec![],
            payment: vec![],
        }],
    }
}

impl Db {
    /// Ingests the order; its job's id.
    async fn add(&self, o: Ord<'_>) -> i64 {
        self.store.ingest(event(o)).await.unwrap();
        common::db::scalar(&self.url, "SELECT MAX(id) FROM jobs").await
    }

    /// A plain order: id `n`, name `#n`, no phone.
    async fn plain(&self, store: &str, n: u32) -> i64 {
        let (id, name) = (n.to_string(), format!("#{n}"));
        self.add(Ord {
            store,
            id: &id,
            name: &name,
            first_name: "Ann",
            phone: None,
            kind: EventKind::OrderPaid,
        })
        .await
    }

    async fn sql(&self, sql: &str) {
        common::db::exec(&self.url, sql).await
    }

    async fn ids(&self, query: &MessageQuery) -> Vec<i64> {
        self.store
            .messages(query)
            .await
            .unwrap()
            .rows
            .iter()
            .map(|r| r.id)
            .collect()
    }
}

fn all() -> MessageQuery {
    MessageQuery::new(StoreScope::All)
}

#[tokio::test]
async fn each_filter_narrows_the_list_newest_first() {
    let db = db().await;
    let a1 = db.plain("a", 1).await;
    let a2 = db.plain("a", 2).await;
    let b3 = db.plain("b", 3).await;
    let a4 = db
        .add(Ord {
            store: "a",
            id: "4",
            name: "#4",
            first_name: "Ann",
            phone: None,
            kind: EventKind::OrderFulfilled,
        })
        .await;
    db.sql(&format!(
        "UPDATE jobs SET state = 'dead' WHERE id IN ({a2}, {b3})"
    ))
    .await;
    db.sql(&format!(
        "UPDATE jobs SET created_at = CASE id WHEN {a1} THEN 1000 WHEN {a2} THEN 2000 \
         WHEN {b3} THEN 3000 ELSE 4000 END"
    ))
    .await;

    assert_eq!(db.ids(&all()).await, vec![a4, b3, a2, a1]);
    let store_a = MessageQuery {
        store_id: Some("a".into()),
        ..all()
    };
    assert_eq!(db.ids(&store_a).await, vec![a4, a2, a1]);
    let dead = MessageQuery {
        state: Some(JobState::Dead),
        ..all()
    };
    assert_eq!(db.ids(&dead).await, vec![b3, a2]);
    let dead_a = MessageQuery {
        state: Some(JobState::Dead),
        ..store_a.clone()
    };
    assert_eq!(db.ids(&dead_a).await, vec![a2]);
    let fulfilled = MessageQuery {
        event: Some(EventKind::OrderFulfilled),
        ..all()
    };
    assert_eq!(db.ids(&fulfilled).await, vec![a4]);
    let range = MessageQuery {
        created_from: Some(2000),
        created_to: Some(4000),
        ..all()
    };
    assert_eq!(
        db.ids(&range).await,
        vec![b3, a2],
        "from inclusive, to exclusive"
    );
    let nothing = MessageQuery {
        store_id: Some("nope".into()),
        ..all()
    };
    assert_eq!(db.ids(&nothing).await, Vec::<i64>::new());
}

#[tokio::test]
async fn a_viewer_sees_only_the_stores_of_their_scope_whatever_the_query_names() {
    let db = db().await;
    let a = db.plain("a", 1).await;
    let b = db.plain("b", 2).await;
    let c = db.plain("c", 3).await;
    let viewer_a = MessageQuery::new(StoreScope::only(["a"]));
    assert_eq!(db.ids(&viewer_a).await, vec![a]);
    let naming_b = MessageQuery {
        store_id: Some("b".into()),
        ..viewer_a.clone()
    };
    assert_eq!(db.ids(&naming_b).await, Vec::<i64>::new());
    let searching_b = MessageQuery {
        search: Some("2".into()),
        ..viewer_a.clone()
    };
    assert_eq!(db.ids(&searching_b).await, Vec::<i64>::new());
    let viewer_ac = MessageQuery::new(StoreScope::only(["a", "c"]));
    assert_eq!(db.ids(&viewer_ac).await, vec![c, a]);
    assert_eq!(
        db.ids(&MessageQuery::new(StoreScope::only(Vec::<String>::new())))
            .await,
        Vec::<i64>::new()
    );
    assert!(!db.ids(&all()).await.is_empty() && db.ids(&all()).await.contains(&b));
}

#[tokio::test]
async fn cursor_pages_cover_every_job_once_in_order() {
    let db = db().await;
    let mut expected = Vec::new();
    for n in 0..23 {
        let store = ["a", "b", "c"][n % 3];
        let id = db.plain(store, n as u32 + 100).await;
        if store != "b" {
            expected.push(id);
        }
    }
    expected.reverse();
    for limit in [1, 4, 15, 50] {
        let mut query = MessageQuery {
            limit,
            ..MessageQuery::new(StoreScope::only(["a", "c"]))
        };
        let mut seen = Vec::new();
        loop {
            let page = db.store.messages(&query).await.unwrap();
            assert!(page.rows.len() <= limit as usize);
            seen.extend(page.rows.iter().map(|r| r.id));
            match page.next_before_id {
                Some(next) => query.before_id = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, expected, "limit {limit}");
    }
    // The last full page says there is nothing after it.
    let exact = MessageQuery {
        limit: expected.len() as u32,
        ..MessageQuery::new(StoreScope::only(["a", "c"]))
    };
    assert_eq!(
        db.store.messages(&exact).await.unwrap().next_before_id,
        None
    );
}

#[tokio::test]
async fn search_finds_an_order_by_id_name_or_phone_suffix() {
    let db = db().await;
    let shopify = db
        .add(Ord {
            store: "a",
            id: "450789469",
            name: "#SO-1001",
            first_name: "Amel",
            phone: Some("+216 96 816 277"),
            kind: EventKind::OrderPaid,
        })
        .await;
    let other = db
        .add(Ord {
            store: "a",
            id: "450789470",
            name: "#1002",
            first_name: "Sami",
            phone: Some("+33 6 12 34 56 78"),
            kind: EventKind::OrderPaid,
        })
        .await;
    let search = |s: &str| MessageQuery {
        search: Some(s.into()),
        ..all()
    };
    assert_eq!(db.ids(&search("450789469")).await, vec![shopify]);
    assert_eq!(db.ids(&search("so-1001")).await, vec![shopify]);
    assert_eq!(db.ids(&search("#SO-1001")).await, vec![shopify]);
    assert_eq!(db.ids(&search("1002")).await, vec![other]);
    assert_eq!(db.ids(&search("6277")).await, vec![shopify]);
    assert_eq!(db.ids(&search("816 277")).await, vec![shopify]);
    assert_eq!(db.ids(&search("+21696816277")).await, vec![shopify]);
    assert_eq!(db.ids(&search("5678")).await, vec![other]);
    assert_eq!(
        db.ids(&search("277")).await,
        Vec::<i64>::new(),
        "too short for a phone"
    );
    assert_eq!(
        db.ids(&search("96816")).await,
        Vec::<i64>::new(),
        "a suffix, not a substring"
    );
    assert_eq!(
        db.ids(&search("45078946")).await,
        Vec::<i64>::new(),
        "ids match exactly"
    );

    let row: MessageRow = db
        .store
        .messages(&search("6277"))
        .await
        .unwrap()
        .rows
        .remove(0);
    assert_eq!(row.order_name, "#SO-1001");
    assert_eq!(row.order_id, "450789469");
    assert_eq!(row.first_name, "Amel");
    assert_eq!(row.phone.as_deref(), Some("+216•••••277"));
    assert_eq!(row.event, EventKind::OrderPaid);
    assert_eq!(row.template_id, 1289);
    assert_eq!(row.state, JobState::Queued);
    assert_eq!(row.store_id, "a");
}

#[tokio::test]
async fn csv_quotes_masks_and_defuses_formulas() {
    let db = db().await;
    let id = db
        .add(Ord {
            store: "a",
            id: "7",
            name: "=HYPERLINK(\"http://x\",\"7\")",
            first_name: "Ann, \"Annie\"",
            phone: Some("+216 96 816 277"),
            kind: EventKind::OrderPaid,
        })
        .await;
    db.sql(&format!(
        "UPDATE jobs SET state = 'dead', last_error = 'send: 400 invalid number +216 96 816 277\nline two' \
         WHERE id = {id}"
    ))
    .await;
    db.plain("b", 8).await;
    let mut out = Vec::new();
    let viewer = MessageQuery::new(StoreScope::only(["a"]));
    let summary = write_csv(&*db.store, &viewer, 100, &mut out).await.unwrap();
    assert_eq!((summary.rows, summary.capped), (1, false));
    let csv = String::from_utf8(out).unwrap();
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "id,created_at,store,order_id,order,first_name,phone,event,template_id,state,reason,attempts,max_attempts,run_at"
    );
    let row = lines.next().unwrap();
    assert!(row.starts_with(&format!("{id},20")), "{row}");
    assert!(
        row.contains(
            ",a,7,\"'=HYPERLINK(\"\"http://x\"\",\"\"7\"\")\",\"Ann, \"\"Annie\"\"\",'+216•••••277,order.paid,1289,dead,\"send: 400 invalid number +216•••••277\nline two\",0,"
        ),
        "{row}"
    );
    assert!(!csv.contains("96 816"), "no phone in clear: {csv}");
    assert_eq!(lines.next(), Some(""));
}

#[tokio::test]
async fn csv_pages_through_batches_and_reports_its_cap() {
    let db = db().await;
    // Ingested 50 at a time (one order each): PostgreSQL takes a transaction per event.
    for chunk in (0..2500u32).collect::<Vec<_>>().chunks(50) {
        futures_util::future::try_join_all(chunk.iter().map(|n| {
            let (id, name) = (n.to_string(), format!("#{n}"));
            db.store.ingest(event(Ord {
                store: "a",
                id: &id,
                name: &name,
                first_name: "Ann",
                phone: None,
                kind: EventKind::OrderPaid,
            }))
        }))
        .await
        .unwrap();
    }
    let mut out = Vec::new();
    let capped = write_csv(&*db.store, &all(), 2100, &mut out).await.unwrap();
    assert_eq!((capped.rows, capped.capped), (2100, true));
    assert_eq!(
        String::from_utf8(out).unwrap().matches("\r\n").count(),
        2101
    );
    let mut out = Vec::new();
    let whole = write_csv(&*db.store, &all(), 100_000, &mut out)
        .await
        .unwrap();
    assert_eq!((whole.rows, whole.capped), (2500, false));
    let mut out = Vec::new();
    let exact = write_csv(&*db.store, &all(), 2500, &mut out).await.unwrap();
    assert_eq!((exact.rows, exact.capped), (2500, false));
}

#[tokio::test]
async fn retry_now_makes_a_waiting_job_due_and_nothing_else() {
    let db = db().await;
    let waiting = db.plain("a", 1).await;
    let done = db.plain("a", 2).await;
    let due = db.plain("a", 3).await;
    let later = now_ms() + 3_600_000;
    db.sql(&format!(
        "UPDATE jobs SET run_at = {later}, attempts = 1 WHERE id = {waiting}"
    ))
    .await;
    db.sql(&format!("UPDATE jobs SET state = 'done' WHERE id = {done}"))
        .await;
    let viewer_b = StoreScope::only(["b"]);
    assert_eq!(
        db.store.retry_now(&viewer_b, waiting).await.unwrap(),
        RetryNow::NotFound
    );
    assert_eq!(db.store.get(waiting).await.unwrap().unwrap().run_at, later);
    assert_eq!(
        db.store.retry_now(&StoreScope::All, 999_999).await.unwrap(),
        RetryNow::NotFound
    );
    assert_eq!(
        db.store
            .retry_now(&StoreScope::only(["a"]), waiting)
            .await
            .unwrap(),
        RetryNow::Scheduled
    );
    let job = db.store.get(waiting).await.unwrap().unwrap();
    assert!(job.run_at <= now_ms() && job.state == JobState::Queued && job.attempts == 1);
    assert_eq!(
        db.store.retry_now(&StoreScope::All, waiting).await.unwrap(),
        RetryNow::AlreadyDue
    );
    assert_eq!(
        db.store.retry_now(&StoreScope::All, due).await.unwrap(),
        RetryNow::AlreadyDue
    );
    assert_eq!(
        db.store.retry_now(&StoreScope::All, done).await.unwrap(),
        RetryNow::NotQueued(JobState::Done)
    );
}

#[tokio::test]
async fn replay_and_retry_all_shown_stay_inside_the_scope() {
    let db = db().await;
    let mut dead_a = Vec::new();
    for n in 0..5 {
        dead_a.push(db.plain("a", n).await);
    }
    let dead_b = db.plain("b", 10).await;
    let done_a = db.plain("a", 11).await;
    db.sql(&format!(
        "UPDATE jobs SET state = 'dead', last_error = 'x' WHERE id <> {done_a}"
    ))
    .await;
    db.sql(&format!(
        "UPDATE jobs SET state = 'done' WHERE id = {done_a}"
    ))
    .await;

    let viewer_b = StoreScope::only(["b"]);
    assert_eq!(
        db.store
            .replay_in_scope(&viewer_b, dead_a[0])
            .await
            .unwrap(),
        ReplayOutcome::NotFound
    );
    assert_eq!(
        db.store.replay_in_scope(&viewer_b, dead_b).await.unwrap(),
        ReplayOutcome::Requeued
    );

    // A viewer of store a naming store b, and a query for done jobs: nothing dead shown.
    let naming_b = MessageQuery {
        store_id: Some("b".into()),
        ..MessageQuery::new(StoreScope::only(["a"]))
    };
    assert_eq!(
        db.store.replay_shown(&naming_b).await.unwrap(),
        ReplayedShown::default()
    );
    let done_shown = MessageQuery {
        state: Some(JobState::Done),
        ..all()
    };
    assert_eq!(
        db.store.replay_shown(&done_shown).await.unwrap(),
        ReplayedShown::default()
    );

    db.sql(&format!(
        "UPDATE jobs SET state = 'dead' WHERE id = {dead_b}"
    ))
    .await;
    let shown = MessageQuery {
        state: Some(JobState::Dead),
        before_id: Some(dead_a[1]),
        limit: 1,
        ..MessageQuery::new(StoreScope::only(["a"]))
    };
    let replayed = db.store.replay_shown(&shown).await.unwrap();
    assert_eq!(
        replayed,
        ReplayedShown {
            requeued: 5,
            unchanged: 0,
            more: false
        },
        "every dead job the filters match, not only the page"
    );
    for id in &dead_a {
        let job = db.store.get(*id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(job.replays, 1);
    }
    assert_eq!(
        db.store.get(dead_b).await.unwrap().unwrap().state,
        JobState::Dead
    );
    assert_eq!(
        db.store.get(done_a).await.unwrap().unwrap().state,
        JobState::Done
    );
}
