//! The console's message list (issue 18) on a big database: fills a SQLite file (or a fresh
//! PostgreSQL database) with `jobs` jobs over `stores` stores straight in SQL, then times the
//! list queries the console runs through `shopbip::jobs::messages`, the CSV export, and what
//! the console's indexes cost ingestion (`--ingest`).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use secrecy::SecretString;
use shopbip::jobs::messages::{MessageQuery, StoreScope, write_csv};
use shopbip::jobs::{JobQueue, JobState, JobStore, NewEvent, RetryPolicy};
use shopbip::order::{EventKind, Order};
use shopbip::stores::NotifyRule;

use crate::support::{body, database, percentile};

pub struct ConsoleRun {
    pub jobs: u64,
    pub stores: u64,
    pub runs: usize,
    pub postgres: Option<String>,
    /// Webhooks to ingest with and without the console's indexes (0: skip).
    pub ingest: usize,
}

/// The indexes migrations sqlite/0004 and postgres/0005 add, dropped for the "before" ingest.
const CONSOLE_INDEXES: [&str; 6] = [
    "jobs_store",
    "jobs_store_state",
    "jobs_state",
    "jobs_order_id",
    "jobs_order_ref",
    "jobs_phone_rev",
];

pub async fn run(run: ConsoleRun) -> anyhow::Result<()> {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into()))?;
    let url = database(dir.path(), run.postgres.as_deref()).await?;
    println!(
        "== {} jobs over {} stores on {}",
        run.jobs,
        run.stores,
        backend(&url)
    );
    let store = shopbip::jobs::open(&url, RetryPolicy::default()).await?;
    let started = Instant::now();
    fill(&url, run.jobs, run.stores).await?;
    println!(
        "fill: {:.1} s (one INSERT … SELECT per table, straight in SQL)",
        started.elapsed().as_secs_f64()
    );
    queries(&*store, &run).await?;
    store.close().await;
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept: {url}");
        let _ = dir.keep();
    } else {
        drop_database(&url, run.postgres.as_deref()).await?;
    }
    if run.ingest > 0 {
        for round in 1..=2 {
            for with_indexes in [true, false] {
                ingest(&run, with_indexes, round).await?;
            }
        }
    }
    Ok(())
}

fn backend(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    }
}

async fn drop_database(url: &str, postgres: Option<&str>) -> anyhow::Result<()> {
    let Some(server) = postgres else {
        return Ok(());
    };
    use sqlx::Connection;
    let name = url.rsplit('/').next().unwrap_or_default();
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}

/// A real order as the store keeps it, with markers the fill replaces per row.
fn order_template() -> anyhow::Result<String> {
    let mut order: Order = serde_json::from_str(&serde_json::to_string(&sample_order()?)?)?;
    order.id = "{ID}".into();
    order.number = "{ID}".into();
    order.name = "#{ID}".into();
    order.customer.first_name = "{FIRST}".into();
    order.customer.phone = None;
    if let Some(b) = order.billing.as_mut() {
        b.phone = Some("{PHONE}".into());
    }
    if let Some(s) = order.shipping.as_mut() {
        s.phone = None;
    }
    Ok(serde_json::to_string(&order)?)
}

/// The WooCommerce fixture as shopbip parses it (a few lines, ~1.5 KB of JSON stored).
fn sample_order() -> anyhow::Result<Order> {
    Ok(parse(crate::support::FIXTURE.as_bytes())?.order)
}

fn parse(b: &[u8]) -> anyhow::Result<shopbip::platforms::CanonicalEvent> {
    use shopbip::platforms::woocommerce::{SIGNATURE, TOPIC, WooCommerce};
    use shopbip::platforms::{Headers, Parsed, WebhookPlatform};
    let headers = Headers::new([
        (TOPIC.to_owned(), "order.updated".to_owned()),
        (
            SIGNATURE.to_owned(),
            shopbip::platforms::signature::sign_base64(crate::support::SECRET, b),
        ),
    ]);
    let secrets = [SecretString::from(crate::support::SECRET)];
    WooCommerce.verify(&headers, b, &secrets, Duration::from_secs(300))?;
    match WooCommerce.parse(&headers, b)? {
        Parsed::Event(e) => Ok(*e),
        Parsed::Ignored { reason, .. } => anyhow::bail!("the bench order is ignored: {reason}"),
    }
}

fn rule(template_id: u64) -> NotifyRule {
    NotifyRule {
        on: EventKind::OrderPaid,
        template_id,
        template_ids: Default::default(),
        body_params: vec!["{customer.first_name}".into(), "{order.number}".into()],
        attach_invoice: true,
        buttons: vec![],
        payment: vec![],
    }
}

/// The rows, per job number `i` (1…n): store `i % stores`; order id `100000 + i` (name
/// `#…`, phone `+2169` and 7 digits from `i`); created over the last 90 days in id order; 85%
/// done, 5% skipped, 5% dead, 4% queued (half waiting for a backoff), 1% running, in every
/// store alike.
async fn fill(url: &str, n: u64, stores: u64) -> anyhow::Result<()> {
    let template = order_template()?;
    let rule_json = serde_json::to_string(&rule(1289))?;
    let now = shopbip::clock::now_ms();
    let start = now - 90 * 86_400_000;
    let step = 90 * 86_400_000 / n as i64;
    let phone7 = "substr('000000' || ((i * 7919) % 10000000), -7)";
    // `k` picks the state, independently of the store (`i % stores`).
    let k = format!("((i / {stores}) % 100)");
    let state = "CASE WHEN i % 100 < 85 THEN 'done' WHEN i % 100 < 90 THEN 'skipped' \
                 WHEN i % 100 < 95 THEN 'dead' WHEN i % 100 < 99 THEN 'queued' ELSE 'running' END";
    let jobs_cols = "(id, event_id, store_id, order_id, kind, rule_key, rule_json, state, attempts, \
         max_attempts, run_at, locked_by, locked_until, last_error, steps_json, created_at, \
         updated_at, order_ref, phone_rev)";
    let job_values = |rev: &str| {
        let values = format!(
            "i, i, 'store-' || (i % {stores}), CAST(100000 + i AS TEXT), 'order.paid', 'order.paid:1289', \
             $1, {state}, CASE WHEN i % 100 < 85 THEN 1 WHEN i % 100 < 95 THEN 5 ELSE 1 END, 5, \
             {start} + i * {step} + CASE WHEN i % 100 BETWEEN 95 AND 96 THEN 600000000 ELSE 0 END, \
             CASE WHEN i % 100 = 99 THEN 'bench-worker' END, \
             CASE WHEN i % 100 = 99 THEN {now} + 60000 END, \
             CASE WHEN i % 100 BETWEEN 85 AND 89 THEN 'no usable phone: billing phone: not a number' \
                  WHEN i % 100 BETWEEN 90 AND 94 THEN 'buzzbip send: 400 template 1289 is not approved for +21696816277' \
                  WHEN i % 100 BETWEEN 95 AND 96 THEN 'buzzbip upload: 503 Service Unavailable' END, \
             CASE WHEN i % 100 < 85 THEN '{{\"to\":\"+2169' || {phone7} || '\",\"country_code\":\"TN\",\"invoice_number\":\"' || i || '\",\"media_id\":\"' || (5000 + i) || '\",\"message_id\":\"wamid.' || i || '\"}}' ELSE '{{}}' END, \
             {start} + i * {step}, {start} + i * {step} + 4000, CAST(100000 + i AS TEXT), {rev}"
        );
        values.replace("i % 100", &k)
    };
    let event_values = "i, 'store-' || (i % {stores}), 'woocommerce', 'bench-' || i, 'order.updated', 'order.paid', \
         CAST(100000 + i AS TEXT), replace(replace(replace($1, '{ID}', CAST(100000 + i AS TEXT)), \
         '{FIRST}', 'Name' || (i % 97)), '{PHONE}', '+2169' || PHONE7), {start} + i * {step}"
        .replace("{stores}", &stores.to_string())
        .replace("{start}", &start.to_string())
        .replace("{step}", &step.to_string())
        .replace("PHONE7", phone7);
    let events_cols =
        "(id, store_id, platform, delivery_key, topic, kind, order_id, order_json, received_at)";
    if url.starts_with("sqlite:") {
        use sqlx::{ConnectOptions, Connection};
        let mut conn = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()?
            .pragma("synchronous", "OFF")
            .connect()
            .await?;
        // SQLite has no reverse(): the 7 digits reversed, then the reversed `2169`.
        let rev7: String = (1..=7)
            .rev()
            .map(|k| format!("substr({phone7}, {k}, 1)"))
            .collect::<Vec<_>>()
            .join(" || ");
        let series = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})"
        );
        let mut tx = conn.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{series} INSERT INTO events {events_cols} SELECT {event_values} FROM n"
        )))
        .bind(&template)
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{series} INSERT INTO jobs {jobs_cols} SELECT {} FROM n",
            job_values(&format!("{rev7} || '9612'"))
        )))
        .bind(&rule_json)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        conn.close().await?;
    } else {
        let pool = sqlx::PgPool::connect(url).await?;
        let series = format!("FROM generate_series(1::bigint, {n}) AS s(i)");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO events {events_cols} OVERRIDING SYSTEM VALUE SELECT {event_values} {series}"
        )))
        .bind(&template)
        .execute(&pool)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO jobs {jobs_cols} OVERRIDING SYSTEM VALUE SELECT {} {series}",
            job_values(&format!("reverse({phone7}) || '9612'"))
        )))
        .bind(&rule_json)
        .execute(&pool)
        .await?;
        for table in ["events", "jobs"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n} + 1, false)"
            )))
            .execute(&pool)
            .await?;
        }
        // Autovacuum would analyse the new rows within a minute; the bench does not wait.
        sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
        pool.close().await;
    }
    Ok(())
}

/// p50 and p99 (ms) of `runs` calls of `f`, after a few warm-up calls.
async fn time<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(f64, f64, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut rows = 0;
    for _ in 0..runs.div_ceil(20) {
        rows = f().await?;
    }
    let mut took = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        rows = f().await?;
        took.push(t.elapsed());
    }
    took.sort();
    Ok((percentile(&took, 0.5), percentile(&took, 0.99), rows))
}

async fn queries(store: &dyn JobStore, run: &ConsoleRun) -> anyhow::Result<()> {
    let all = MessageQuery::new(StoreScope::All);
    let store7 = MessageQuery {
        store_id: Some("store-7".into()),
        ..all.clone()
    };
    let done7 = MessageQuery {
        state: Some(JobState::Done),
        ..store7.clone()
    };
    // The cursor after 200 pages of 50, reached by paging.
    let mut deep = done7.clone();
    for _ in 0..200 {
        let page = store.messages(&deep).await?;
        deep.before_id = page.next_before_id;
    }
    let now = shopbip::clock::now_ms();
    let viewer = MessageQuery {
        scope: StoreScope::only(["store-3", "store-7", "store-11"]),
        state: Some(JobState::Dead),
        ..all.clone()
    };
    let cases: Vec<(&str, MessageQuery)> = vec![
        ("store + state=done, first page", done7.clone()),
        ("store + state=done, page 201 (cursor)", deep),
        (
            "store + state=dead, first page",
            MessageQuery {
                state: Some(JobState::Dead),
                ..store7.clone()
            },
        ),
        ("store, first page", store7.clone()),
        ("all stores, first page", all.clone()),
        (
            "all stores + state=dead, first page",
            MessageQuery {
                state: Some(JobState::Dead),
                ..all.clone()
            },
        ),
        ("viewer of 3 stores + state=dead", viewer),
        (
            "store + event + last 7 days",
            MessageQuery {
                event: Some(EventKind::OrderPaid),
                created_from: Some(now - 7 * 86_400_000),
                ..store7.clone()
            },
        ),
        (
            "store + a day 60 days ago",
            MessageQuery {
                created_from: Some(now - 61 * 86_400_000),
                created_to: Some(now - 60 * 86_400_000),
                ..store7.clone()
            },
        ),
        (
            "search: phone suffix (4 digits), all stores",
            MessageQuery {
                search: Some("6277".into()),
                ..all.clone()
            },
        ),
        (
            "search: order name #…, all stores",
            MessageQuery {
                search: Some(format!("#{}", 100_000 + run.jobs / 2)),
                ..all.clone()
            },
        ),
        (
            "search: order id, store",
            MessageQuery {
                search: Some((100_000 + run.jobs / 2 / run.stores * run.stores + 7).to_string()),
                ..store7.clone()
            },
        ),
    ];
    println!(
        "{:<46} {:>8} {:>8} {:>6}",
        "list query (50 rows a page)", "p50 ms", "p99 ms", "rows"
    );
    for (name, query) in &cases {
        let (p50, p99, rows) = time(run.runs, || async {
            Ok(store.messages(query).await?.rows.len())
        })
        .await?;
        println!("{name:<46} {p50:>8.2} {p99:>8.2} {rows:>6}");
    }
    // The overview's figures (`JobReads::store_stats`): on PostgreSQL first with the fill's
    // deltas not yet folded (the worst a read can meet), then as the reaper leaves them.
    for folded in [false, true] {
        if folded {
            let t = Instant::now();
            let moved = store.fold_counts().await?;
            println!(
                "fold of {moved} count rows: {:.1} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        let (p50, p99, rows) =
            time(run.runs, || async { Ok(store.store_stats().await?.len()) }).await?;
        let name = format!("overview counts (folded: {folded})");
        println!("{name:<46} {p50:>8.2} {p99:>8.2} {rows:>6}");
    }
    let (p50, p99, bytes) = time(10, || async {
        let mut out = Vec::new();
        let summary = write_csv(store, &store7, 10_000, &mut out).await?;
        anyhow::ensure!(summary.rows == 10_000 || !summary.capped, "{summary:?}");
        Ok(out.len())
    })
    .await?;
    println!(
        "{:<46} {p50:>8.1} {p99:>8.1} {:>6}",
        "CSV of 10,000 rows (store), 10 runs",
        format!("{}KB", bytes / 1024)
    );
    Ok(())
}

/// `run.ingest` webhooks' events through `JobQueue::ingest`, 64 at a time, on a fresh
/// database with the console's indexes or without them.
async fn ingest(run: &ConsoleRun, with_indexes: bool, round: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into()))?;
    let url = database(dir.path(), run.postgres.as_deref()).await?;
    let store = shopbip::jobs::open(&url, RetryPolicy::default()).await?;
    if !with_indexes {
        let drops: Vec<String> = CONSOLE_INDEXES
            .iter()
            .map(|i| format!("DROP INDEX {i}"))
            .collect();
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&url).await?;
            for d in &drops {
                sqlx::query(sqlx::AssertSqlSafe(d.clone()))
                    .execute(&pool)
                    .await?;
            }
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&url).await?;
            for d in &drops {
                sqlx::query(sqlx::AssertSqlSafe(d.clone()))
                    .execute(&pool)
                    .await?;
            }
            pool.close().await;
        }
    }
    let events: Vec<NewEvent> = (0..run.ingest as u64)
        .map(|i| {
            let e = parse(&body(50_000_000 + i))?;
            Ok(NewEvent {
                store_id: format!("store-{}", i % run.stores),
                platform: "woocommerce".into(),
                delivery_key: e.delivery_key.clone(),
                topic: e.topic.clone(),
                kind: e.kind(),
                order: e.order,
                rules: vec![rule(1289)],
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let queue: &dyn JobQueue = &*store;
    let started = Instant::now();
    let mut took: Vec<Duration> = futures_util::stream::iter(events)
        .map(|e| async move {
            let t = Instant::now();
            queue.ingest(e).await.map(|_| t.elapsed())
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let elapsed = started.elapsed();
    took.sort();
    println!(
        "ingest round {round}, {}: {:.0} events/s, p50 {:.2} ms, p99 {:.2} ms ({} events, 64 in flight)",
        if with_indexes {
            "with the console's indexes"
        } else {
            "without them"
        },
        run.ingest as f64 / elapsed.as_secs_f64(),
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        run.ingest
    );
    store.close().await;
    drop_database(&url, run.postgres.as_deref()).await
}
