//! `shopbip migrate-sqlite-to-postgres`: moves a one-machine deployment's database to
//! PostgreSQL without losing pending jobs. Run it with shopbip stopped; jobs that were running
//! are copied as queued (their worker is gone).

use std::str::FromStr;

use anyhow::{Context, bail};
use sqlx::Row;
use sqlx::sqlite::SqliteConnectOptions;

use super::RetryPolicy;

const BATCH: i64 = 500;

/// The statement of migrations/postgres/0005_console_indexes.sql that fills `order_ref` and
/// `phone_rev` from each job's stored order (see `messages::SearchKeys`).
const BACKFILL_SEARCH_KEYS: &str = "UPDATE jobs j SET \
    order_ref = nullif(lower(btrim(ltrim(btrim(CASE WHEN btrim(coalesce(o.name, '')) = '' \
        THEN o.number ELSE o.name END), '#'))), ''), \
    phone_rev = nullif(reverse(right(regexp_replace(coalesce(o.phone, ''), '[^0-9]', '', 'g'), 15)), '') \
    FROM (SELECT e.id, e.order_json::jsonb ->> 'name' AS name, e.order_json::jsonb ->> 'number' AS number, \
        coalesce(nullif(btrim(e.order_json::jsonb -> 'billing' ->> 'phone'), ''), \
            nullif(btrim(e.order_json::jsonb -> 'shipping' ->> 'phone'), ''), \
            nullif(btrim(e.order_json::jsonb -> 'customer' ->> 'phone'), '')) AS phone \
        FROM events e) o \
    WHERE o.id = j.event_id";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub events: u64,
    pub jobs: u64,
    pub invoice_numbers: u64,
    pub buzzbip_events: u64,
    pub optouts: u64,
    pub sweeps: u64,
}

pub async fn sqlite_to_postgres(from: &str, to: &str) -> anyhow::Result<Copied> {
    if !from.starts_with("sqlite:")
        || !(to.starts_with("postgres:") || to.starts_with("postgresql:"))
    {
        bail!("--from must be sqlite://… and --to postgres://…");
    }
    // The file may come from an older version: brought to this version's schema first, as
    // `serve` would on its next start, so every column below exists.
    let rw = sqlx::SqlitePool::connect_with(SqliteConnectOptions::from_str(from)?)
        .await
        .with_context(|| format!("cannot open {from}"))?;
    sqlx::migrate!("migrations/sqlite")
        .run(&rw)
        .await
        .with_context(|| format!("cannot bring {from} to this version's schema"))?;
    rw.close().await;
    let source =
        sqlx::SqlitePool::connect_with(SqliteConnectOptions::from_str(from)?.read_only(true))
            .await
            .with_context(|| format!("cannot open {from}"))?;
    // Creates the schema on the target.
    let target = super::postgres::PgStore::open(to, RetryPolicy::default())
        .await
        .context("cannot open the PostgreSQL database")?;
    let pg = target.pool().clone();
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&pg)
        .await?;
    if existing > 0 {
        bail!("the PostgreSQL database already holds {existing} events: migrate into an empty one");
    }
    let mut tx = pg.begin().await?;
    use Col::{Int, OptInt, OptText, Text};
    let copied = Copied {
        events: copy_table(
            &source,
            &mut tx,
            "SELECT id, store_id, platform, delivery_key, topic, kind, order_id, order_json, received_at \
             FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
            "INSERT INTO events (id, store_id, platform, delivery_key, topic, kind, order_id, order_json, received_at) \
             OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[Int, Text, Text, Text, Text, Text, Text, Text, Int],
            true,
        )
        .await?,
        jobs: copy_table(
            &source,
            &mut tx,
            "SELECT id, event_id, store_id, order_id, kind, rule_key, rule_json, \
             CASE WHEN state = 'running' THEN 'queued' ELSE state END, attempts, max_attempts, run_at, \
             last_error, steps_json, replays, created_at, updated_at, delivery_state, delivery_at, \
             delivery_poll_at, delivery_polls, delivery_json, writeback_at, writeback_json \
             FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?2",
            "INSERT INTO jobs (id, event_id, store_id, order_id, kind, rule_key, rule_json, state, \
             attempts, max_attempts, run_at, last_error, steps_json, replays, created_at, updated_at, \
             delivery_state, delivery_at, delivery_poll_at, delivery_polls, delivery_json, \
             writeback_at, writeback_json) \
             OVERRIDING SYSTEM VALUE \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23)",
            &[
                Int, Int, Text, Text, Text, Text, Text, Text, Int, Int, Int, OptText, Text, Int,
                Int, Int, OptText, OptInt, OptInt, Int, Text, OptInt, Text,
            ],
            true,
        )
        .await?,
        // Keyed by (store, kind, order), so paged by SQLite's rowid, which is not copied.
        invoice_numbers: copy_table(
            &source,
            &mut tx,
            "SELECT rowid, store_id, kind, period, order_id, number, created_at FROM invoice_numbers \
             WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
            "INSERT INTO invoice_numbers (store_id, kind, period, order_id, number, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[Int, Text, Text, Text, Text, Int, Int],
            false,
        )
        .await?,
        buzzbip_events: copy_table(
            &source,
            &mut tx,
            "SELECT id, store_id, event_id, type, body, received_at, processed_at, outcome \
             FROM buzzbip_events WHERE id > ?1 ORDER BY id LIMIT ?2",
            "INSERT INTO buzzbip_events (id, store_id, event_id, type, body, received_at, \
             processed_at, outcome) OVERRIDING SYSTEM VALUE \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[Int, Text, Text, Text, Text, Int, OptInt, OptText],
            true,
        )
        .await?,
        optouts: copy_optouts(&source, &mut tx).await?,
        sweeps: copy_sweeps(&source, &mut tx).await?,
    };
    // The console's search keys, as migration postgres/0005 computes them for older jobs (the
    // SQLite file may predate its own columns for them).
    sqlx::query(BACKFILL_SEARCH_KEYS).execute(&mut *tx).await?;
    // New rows continue after the copied ids.
    for table in ["events", "jobs", "buzzbip_events"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    source.close().await;
    pg.close().await;
    Ok(copied)
}

/// A column's type on both sides.
#[derive(Clone, Copy)]
enum Col {
    Int,
    OptInt,
    Text,
    OptText,
}

/// Copies a table in pages keyed by its first column (`… WHERE key > ?1 ORDER BY key LIMIT ?2`),
/// binding each row's columns in order to `insert`; the key is bound too when `insert_key`.
async fn copy_table(
    source: &sqlx::SqlitePool,
    tx: &mut sqlx::PgConnection,
    select: &'static str,
    insert: &'static str,
    columns: &[Col],
    insert_key: bool,
) -> anyhow::Result<u64> {
    let mut copied = 0;
    let mut last = 0i64;
    loop {
        let rows = sqlx::query(select)
            .bind(last)
            .bind(BATCH)
            .fetch_all(source)
            .await?;
        if rows.is_empty() {
            return Ok(copied);
        }
        for r in &rows {
            last = r.try_get(0)?;
            let mut query = sqlx::query(insert);
            for (i, col) in columns.iter().enumerate().skip(usize::from(!insert_key)) {
                query = match col {
                    Col::Int => query.bind(r.try_get::<i64, _>(i)?),
                    Col::OptInt => query.bind(r.try_get::<Option<i64>, _>(i)?),
                    Col::Text => query.bind(r.try_get::<String, _>(i)?),
                    Col::OptText => query.bind(r.try_get::<Option<String>, _>(i)?),
                };
            }
            query.execute(&mut *tx).await?;
            copied += 1;
        }
    }
}

/// The sweeps' watermarks and what they found, so the first sweep on PostgreSQL goes on from
/// where SQLite's left off; leases are not copied (shopbip is stopped: no sweep runs).
async fn copy_sweeps(
    source: &sqlx::SqlitePool,
    tx: &mut sqlx::PgConnection,
) -> anyhow::Result<u64> {
    let rows = sqlx::query(
        "SELECT store_id, watermark, next_at, last_finished_at, last_error, listed_total, \
         recovered_total FROM sweeps",
    )
    .fetch_all(source)
    .await?;
    for r in &rows {
        sqlx::query(
            "INSERT INTO sweeps (store_id, watermark, next_at, last_finished_at, last_error, \
             listed_total, recovered_total) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(r.try_get::<String, _>(0)?)
        .bind(r.try_get::<Option<i64>, _>(1)?)
        .bind(r.try_get::<i64, _>(2)?)
        .bind(r.try_get::<Option<i64>, _>(3)?)
        .bind(r.try_get::<Option<String>, _>(4)?)
        .bind(r.try_get::<i64, _>(5)?)
        .bind(r.try_get::<i64, _>(6)?)
        .execute(&mut *tx)
        .await?;
    }
    Ok(rows.len() as u64)
}

/// The opt-out lists, whole (a table without a rowid to page by, and lists are short).
async fn copy_optouts(
    source: &sqlx::SqlitePool,
    tx: &mut sqlx::PgConnection,
) -> anyhow::Result<u64> {
    let rows = sqlx::query("SELECT store_id, phone, source, created_at FROM optouts")
        .fetch_all(source)
        .await?;
    for r in &rows {
        sqlx::query(
            "INSERT INTO optouts (store_id, phone, source, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(r.try_get::<String, _>(0)?)
        .bind(r.try_get::<String, _>(1)?)
        .bind(r.try_get::<String, _>(2)?)
        .bind(r.try_get::<i64, _>(3)?)
        .execute(&mut *tx)
        .await?;
    }
    Ok(rows.len() as u64)
}
