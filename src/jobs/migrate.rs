//! `shopbip migrate-sqlite-to-postgres`: moves a one-machine deployment's database to
//! PostgreSQL without losing pending jobs. Run it with shopbip stopped; jobs that were running
//! are copied as queued (their worker is gone).

use std::str::FromStr;

use anyhow::{Context, bail};
use sqlx::Row;
use sqlx::sqlite::SqliteConnectOptions;

use super::RetryPolicy;

const BATCH: i64 = 500;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub events: u64,
    pub jobs: u64,
    pub invoice_numbers: u64,
}

pub async fn sqlite_to_postgres(from: &str, to: &str) -> anyhow::Result<Copied> {
    if !from.starts_with("sqlite:")
        || !(to.starts_with("postgres:") || to.starts_with("postgresql:"))
    {
        bail!("--from must be sqlite://… and --to postgres://…");
    }
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
    let mut copied = Copied::default();
    let mut tx = pg.begin().await?;

    let mut last = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT id, store_id, platform, delivery_key, topic, kind, order_id, order_json, received_at \
             FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .bind(last)
        .bind(BATCH)
        .fetch_all(&source)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            last = r.try_get(0)?;
            sqlx::query(
                "INSERT INTO events (id, store_id, platform, delivery_key, topic, kind, order_id, order_json, received_at) \
                 OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(last)
            .bind(r.try_get::<String, _>(1)?)
            .bind(r.try_get::<String, _>(2)?)
            .bind(r.try_get::<String, _>(3)?)
            .bind(r.try_get::<String, _>(4)?)
            .bind(r.try_get::<String, _>(5)?)
            .bind(r.try_get::<String, _>(6)?)
            .bind(r.try_get::<String, _>(7)?)
            .bind(r.try_get::<i64, _>(8)?)
            .execute(&mut *tx)
            .await?;
            copied.events += 1;
        }
    }

    let mut last = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT id, event_id, store_id, order_id, kind, rule_key, rule_json, \
             CASE WHEN state = 'running' THEN 'queued' ELSE state END, attempts, max_attempts, run_at, \
             last_error, steps_json, replays, created_at, updated_at \
             FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .bind(last)
        .bind(BATCH)
        .fetch_all(&source)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            last = r.try_get(0)?;
            sqlx::query(
                "INSERT INTO jobs (id, event_id, store_id, order_id, kind, rule_key, rule_json, state, \
                 attempts, max_attempts, run_at, last_error, steps_json, replays, created_at, updated_at) \
                 OVERRIDING SYSTEM VALUE \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(last)
            .bind(r.try_get::<i64, _>(1)?)
            .bind(r.try_get::<String, _>(2)?)
            .bind(r.try_get::<String, _>(3)?)
            .bind(r.try_get::<String, _>(4)?)
            .bind(r.try_get::<String, _>(5)?)
            .bind(r.try_get::<String, _>(6)?)
            .bind(r.try_get::<String, _>(7)?)
            .bind(r.try_get::<i64, _>(8)?)
            .bind(r.try_get::<i64, _>(9)?)
            .bind(r.try_get::<i64, _>(10)?)
            .bind(r.try_get::<Option<String>, _>(11)?)
            .bind(r.try_get::<String, _>(12)?)
            .bind(r.try_get::<i64, _>(13)?)
            .bind(r.try_get::<i64, _>(14)?)
            .bind(r.try_get::<i64, _>(15)?)
            .execute(&mut *tx)
            .await?;
            copied.jobs += 1;
        }
    }

    let rows = sqlx::query("SELECT store_id, order_id, number, created_at FROM invoice_numbers")
        .fetch_all(&source)
        .await?;
    for r in &rows {
        sqlx::query(
            "INSERT INTO invoice_numbers (store_id, order_id, number, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(r.try_get::<String, _>(0)?)
        .bind(r.try_get::<String, _>(1)?)
        .bind(r.try_get::<i64, _>(2)?)
        .bind(r.try_get::<i64, _>(3)?)
        .execute(&mut *tx)
        .await?;
        copied.invoice_numbers += 1;
    }
    // New rows continue after the copied ids.
    for table in ["events", "jobs"] {
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
