//! Numbering (issue 21): invoice and credit-note series per store, kind and year, gap-free
//! across a year's end, replays, another job of the same order and two processes on one
//! database; the rendered invoice carries the number as `invoice.number_format` prints it.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use shopbip::jobs::{JobState, JobStore};
use shopbip::stores::profile::{NumberFormat, NumberReset, SeriesKind};

use super::test_db;
use crate::common::app::{TestApp, WOO_SECRET, start, woo_profile};
use crate::common::db::scalar;
use crate::common::pdf_text;
use crate::common::sign::{fixture, woo_headers};

/// 2026-12-31T23:59:59.999Z.
const LAST_MS_OF_2026: i64 = 1_798_761_599_999;
/// 2026-12-31T09:00:00Z.
const DEC_31_MORNING: i64 = 1_798_707_600_000;
/// 2027-01-01T00:00:00Z, and a week into January.
const JAN_1_2027: i64 = LAST_MS_OF_2026 + 1;
const JAN_8_2027: i64 = JAN_1_2027 + 7 * 86_400_000;

async fn invoice(store: &Arc<dyn JobStore>, order: &str, reset: NumberReset, at: i64) -> String {
    let format = NumberFormat::parse("FA-{year}-{seq:05}").unwrap();
    let issued = store
        .allocate("acme", SeriesKind::Invoice, reset, order, at)
        .await
        .unwrap();
    format.render(issued.number, issued.at_ms)
}

#[tokio::test]
async fn a_yearly_series_starts_again_on_the_first_of_january() {
    let db = test_db().await;
    let store = db.open().await;
    let yearly = NumberReset::Yearly;
    assert_eq!(
        invoice(&store, "a", yearly, DEC_31_MORNING).await,
        "FA-2026-00001"
    );
    assert_eq!(
        invoice(&store, "b", yearly, DEC_31_MORNING).await,
        "FA-2026-00002"
    );
    assert_eq!(
        invoice(&store, "c", yearly, LAST_MS_OF_2026).await,
        "FA-2026-00003"
    );
    assert_eq!(
        invoice(&store, "d", yearly, JAN_1_2027).await,
        "FA-2027-00001"
    );
    assert_eq!(
        invoice(&store, "e", yearly, JAN_8_2027).await,
        "FA-2027-00002"
    );
    // An order numbered in December keeps its number, and its year, when its invoice is made
    // again in January; it takes nothing from the new year's series.
    assert_eq!(
        invoice(&store, "b", yearly, JAN_8_2027).await,
        "FA-2026-00002"
    );
    assert_eq!(
        invoice(&store, "f", yearly, JAN_8_2027).await,
        "FA-2027-00003"
    );
    // A store that never resets goes on counting across the year's end.
    let never = NumberReset::Never;
    let store_never = |order: &'static str, at| {
        let store = store.clone();
        async move {
            store
                .allocate("never", SeriesKind::Invoice, never, order, at)
                .await
                .unwrap()
                .number
        }
    };
    assert_eq!(store_never("a", LAST_MS_OF_2026).await, 1);
    assert_eq!(store_never("b", JAN_1_2027).await, 2);
}

#[tokio::test]
async fn a_retry_or_a_replay_of_the_same_order_reuses_its_number() {
    let db = test_db().await;
    let store = db.open().await;
    let first = store
        .allocate(
            "acme",
            SeriesKind::Invoice,
            NumberReset::Yearly,
            "42",
            DEC_31_MORNING,
        )
        .await
        .unwrap();
    assert_eq!((first.number, first.at_ms), (1, DEC_31_MORNING));
    for at in [DEC_31_MORNING, LAST_MS_OF_2026, JAN_8_2027] {
        let again = store
            .allocate("acme", SeriesKind::Invoice, NumberReset::Yearly, "42", at)
            .await
            .unwrap();
        assert_eq!(again, first, "asked again at {at}");
    }
    // Reopened (a restart between the attempts), the number is still the order's.
    store.close().await;
    let store = db.open().await;
    let again = store
        .allocate(
            "acme",
            SeriesKind::Invoice,
            NumberReset::Yearly,
            "42",
            JAN_8_2027,
        )
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(
        invoice(&store, "43", NumberReset::Yearly, JAN_8_2027).await,
        "FA-2027-00001",
        "only one number was ever taken for order 42"
    );
    assert_eq!(
        scalar(&db.url, "SELECT COUNT(*) FROM invoice_numbers").await,
        2
    );
}

#[tokio::test]
async fn credit_notes_count_in_a_series_of_their_own() {
    let db = test_db().await;
    let store = db.open().await;
    let take = |kind: SeriesKind, store_id: &'static str, key: &'static str| {
        let store = store.clone();
        async move {
            store
                .allocate(store_id, kind, NumberReset::Never, key, DEC_31_MORNING)
                .await
                .unwrap()
                .number
        }
    };
    use SeriesKind::{CreditNote, Invoice};
    assert_eq!(take(Invoice, "acme", "1").await, 1);
    assert_eq!(take(Invoice, "acme", "2").await, 2);
    // A credit note for order 1 is not order 1's invoice, and does not move the invoices on.
    assert_eq!(take(CreditNote, "acme", "1").await, 1);
    assert_eq!(take(CreditNote, "acme", "1").await, 1, "asked again");
    assert_eq!(take(CreditNote, "acme", "2/refund-7").await, 2);
    assert_eq!(take(Invoice, "acme", "3").await, 3);
    assert_eq!(take(Invoice, "acme", "1").await, 1);
    assert_eq!(
        take(CreditNote, "other", "1").await,
        1,
        "each store counts alone"
    );
    assert_eq!(take(CreditNote, "acme", "3").await, 3);
    // The old entry point is the invoice series that never resets.
    assert_eq!(store.invoice_number("acme", "4").await.unwrap(), 4);
    assert_eq!(store.invoice_number("acme", "2").await.unwrap(), 2);
}

/// Two processes on one database (two `jobs::open` of the same URL: PostgreSQL replicas, or
/// two SQLite handles on one file, each with its own writer), numbering many orders at once,
/// some of them on both at the same time.
#[tokio::test]
async fn two_processes_numbering_at_once_leave_no_gap_and_no_duplicate() {
    const ORDERS: usize = 120;
    let db = test_db().await;
    let replicas = [db.open().await, db.open().await];
    let mut tasks = Vec::new();
    for i in 0..ORDERS {
        // Every third order is numbered by both: a webhook retried to the other replica.
        let on: &[usize] = if i % 3 == 0 { &[0, 1] } else { &[i % 2] };
        for &r in on {
            let store = replicas[r].clone();
            tasks.push(tokio::spawn(async move {
                let kind = if i % 10 == 9 {
                    SeriesKind::CreditNote
                } else {
                    SeriesKind::Invoice
                };
                let issued = store
                    .allocate(
                        "acme",
                        kind,
                        NumberReset::Yearly,
                        &format!("o{i}"),
                        JAN_1_2027,
                    )
                    .await
                    .unwrap();
                (kind, i, issued.number)
            }));
        }
    }
    let mut numbers: BTreeMap<(&str, usize), HashSet<u64>> = BTreeMap::new();
    for task in futures_util::future::join_all(tasks).await {
        let (kind, order, number) = task.unwrap();
        numbers
            .entry((kind.as_str(), order))
            .or_default()
            .insert(number);
    }
    assert_eq!(numbers.len(), ORDERS);
    for kind in [SeriesKind::Invoice, SeriesKind::CreditNote] {
        let mut series: Vec<u64> = Vec::new();
        for ((k, order), got) in &numbers {
            if *k == kind.as_str() {
                assert_eq!(got.len(), 1, "order {order} got two numbers: {got:?}");
                series.extend(got);
            }
        }
        series.sort_unstable();
        let n = series.len() as u64;
        assert_eq!(
            series,
            (1..=n).collect::<Vec<u64>>(),
            "{kind:?}: 1..={n}, no gap, no duplicate"
        );
    }
    assert_eq!(
        scalar(&db.url, "SELECT COUNT(*) FROM invoice_numbers").await,
        ORDERS as i64
    );
}

/// Numbers allocated before series existed are the invoices of the never-resetting series: a
/// store upgraded with numbers 1 and 2 taken goes on with 3, and keeps 1 and 2 for their orders.
#[tokio::test]
async fn numbers_taken_before_the_upgrade_continue_their_series() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::common::db::fresh_url(dir.path()).await;
    let (folder, before) = if url.starts_with("sqlite:") {
        ("migrations/sqlite", 8)
    } else {
        ("migrations/postgres", 9)
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut migrator = sqlx::migrate::Migrator::new(path).await.unwrap();
    let older: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version < before)
        .cloned()
        .collect();
    assert!(older.len() as i64 == before - 1, "{folder} has 1..{before}");
    migrator.migrations = older.into();
    let insert = "INSERT INTO invoice_numbers (store_id, order_id, number, created_at) VALUES \
                  ('acme', '10', 1, 0), ('acme', '11', 2, 0), ('other', '10', 1, 0)";
    if url.starts_with("sqlite:") {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(url.trim_start_matches("sqlite://"))
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::query(insert).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::query(insert).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let store = shopbip::jobs::open(&url, Default::default()).await.unwrap();
    assert_eq!(store.invoice_number("acme", "11").await.unwrap(), 2);
    assert_eq!(store.invoice_number("acme", "12").await.unwrap(), 3);
    assert_eq!(store.invoice_number("other", "12").await.unwrap(), 2);
    let credit = store
        .allocate(
            "acme",
            SeriesKind::CreditNote,
            NumberReset::Never,
            "10",
            JAN_1_2027,
        )
        .await
        .unwrap();
    assert_eq!(credit.number, 1);
    store.close().await;
}

const WOO_PAID: &str = "woocommerce/order-updated-paid-tnd.json";

/// The store of the pipeline tests with yearly `FA-{year}-{seq:05}` numbers and a second rule
/// attaching the invoice, on `order.fulfilled`: two jobs of one order.
fn numbered_store(dir: &std::path::Path, url: &str) {
    let profile = woo_profile(url)
        .replace(
            "[invoice]\n",
            "[invoice]\nnumber_format = \"FA-{year}-{seq:05}\"\nreset = \"yearly\"\n",
        )
        .replace(
            "[[notify]]\n",
            "[[notify]]\non = \"order.fulfilled\"\ntemplate_id = 1289\n\
             body_params = [\"{customer.first_name}\", \"{order.number}\"]\n[[notify]]\n",
        );
    std::fs::write(dir.join("acme-woo.toml"), profile).unwrap();
}

async fn post_order(p: &TestApp, id: u64, status: &str, delivery: &str) {
    let mut body: Value = serde_json::from_slice(&fixture(WOO_PAID)).unwrap();
    body["id"] = id.into();
    body["status"] = status.into();
    body["number"] = id.to_string().into();
    let body = serde_json::to_vec(&body).unwrap();
    let resp = p
        .post(
            "acme-woo",
            &woo_headers(WOO_SECRET, "order.updated", &body, delivery),
            body,
        )
        .await;
    assert_eq!(resp.status(), 200);
}

/// The invoice numbers of the settled jobs by order, each job's PDF read back from the
/// sandbox: every PDF must print its job's number.
async fn numbers_in_pdfs(p: &TestApp, jobs: usize) -> BTreeMap<String, HashSet<String>> {
    let jobs = p.settled(jobs).await;
    let media = p.sandbox.control.media().await.unwrap();
    let mut texts = Vec::new();
    for m in &media {
        let pdf = p.sandbox.control.media_content(&m.id).await.unwrap();
        texts.push(pdf_text(&pdf));
    }
    let mut by_order: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for job in &jobs {
        assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
        let number = job.steps["invoice_number"].as_str().unwrap().to_owned();
        assert!(
            texts.iter().any(|t| t.contains(&number)),
            "no uploaded invoice prints {number}: {texts:#?}"
        );
        by_order
            .entry(job.order_id.clone())
            .or_default()
            .insert(number);
    }
    by_order
}

#[tokio::test]
async fn the_rendered_invoice_prints_the_number_in_the_stores_format() {
    let p = start(numbered_store).await;
    post_order(&p, 5120, "processing", "d1").await;
    post_order(&p, 5121, "processing", "d2").await;
    post_order(&p, 5120, "completed", "d3").await;
    let by_order = numbers_in_pdfs(&p, 3).await;
    // The year the numbers were taken in, as the database keeps the series.
    let year = scalar(
        &p.db_url,
        "SELECT CAST(MAX(period) AS BIGINT) FROM invoice_numbers",
    )
    .await;
    assert!(year >= 2026, "{year}");
    let one = |order: &str| {
        let numbers = &by_order[order];
        assert_eq!(
            numbers.len(),
            1,
            "both jobs of order {order} print one number"
        );
        numbers.iter().next().unwrap().clone()
    };
    let mut numbers = [one("5120"), one("5121")];
    numbers.sort();
    assert_eq!(
        numbers,
        [format!("FA-{year}-00001"), format!("FA-{year}-00002")]
    );
    assert_eq!(p.count("invoice_numbers").await, 2);
    let jobs = p.jobs().await;
    assert_eq!(jobs.iter().filter(|j| j.order_id == "5120").count(), 2);

    // A replay renders the invoice again with the same number, and takes none.
    let job = jobs.iter().find(|j| j.order_id == "5120").unwrap();
    let resp = p
        .admin(
            reqwest::Method::POST,
            &format!("/admin/jobs/{}/replay", job.id),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    let replayed = numbers_in_pdfs(&p, 3).await;
    assert_eq!(replayed, by_order);
    let again = p.jobs().await.into_iter().find(|j| j.id == job.id).unwrap();
    assert_eq!(again.replays, 1);
    assert_eq!(p.count("invoice_numbers").await, 2);
}

/// `migrate-sqlite-to-postgres` carries every series over (kind, period and the day each
/// number was taken): each goes on where it was, and a document keeps its number.
#[tokio::test]
#[ignore = "needs PostgreSQL: SHOPBIP_TEST_POSTGRES"]
async fn moving_to_postgres_keeps_every_series() {
    crate::common::db::require_postgres();
    let dir = tempfile::tempdir().unwrap();
    let from = format!("sqlite://{}", dir.path().join("old.db").display());
    let sqlite = shopbip::jobs::open(&from, Default::default())
        .await
        .unwrap();
    for (kind, order, at) in [
        (SeriesKind::Invoice, "a", DEC_31_MORNING),
        (SeriesKind::Invoice, "b", DEC_31_MORNING),
        (SeriesKind::Invoice, "c", JAN_1_2027),
        (SeriesKind::CreditNote, "a", JAN_1_2027),
    ] {
        sqlite
            .allocate("acme", kind, NumberReset::Yearly, order, at)
            .await
            .unwrap();
    }
    sqlite.close().await;
    let to = crate::common::db::fresh_url(dir.path()).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["migrate-sqlite-to-postgres", "--from", &from, "--to", &to])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("4 invoice numbers"), "{text}");

    let pg = shopbip::jobs::open(&to, Default::default()).await.unwrap();
    assert_eq!(
        invoice(&pg, "b", NumberReset::Yearly, JAN_8_2027).await,
        "FA-2026-00002",
        "the same number, printed with the year it was taken in"
    );
    assert_eq!(
        invoice(&pg, "d", NumberReset::Yearly, JAN_8_2027).await,
        "FA-2027-00002"
    );
    assert_eq!(
        invoice(&pg, "e", NumberReset::Yearly, LAST_MS_OF_2026).await,
        "FA-2026-00003"
    );
    let credit = |order: &'static str| {
        let pg = pg.clone();
        async move {
            pg.allocate(
                "acme",
                SeriesKind::CreditNote,
                NumberReset::Yearly,
                order,
                JAN_8_2027,
            )
            .await
            .unwrap()
        }
    };
    let a = credit("a").await;
    assert_eq!(
        (a.number, a.at_ms),
        (1, JAN_1_2027),
        "order a's credit note"
    );
    assert_eq!(credit("b").await.number, 2);
    pg.close().await;
}
