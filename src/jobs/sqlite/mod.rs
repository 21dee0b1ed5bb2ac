//! The embedded job store: one SQLite file in WAL mode; every write transaction starts with
//! `BEGIN IMMEDIATE` so concurrent writers queue on `busy_timeout` instead of failing.
//!
//! Reads go through a small sqlx pool; every write goes through one writer thread with its own
//! connection (`writer`), which batches them into group commits.

mod apply;
mod checkpoints;
mod connection;
mod delivery_loop;
#[cfg(unix)]
mod files;
mod queue;
mod sessions;
mod sweeps;
mod syncer;
#[cfg(test)]
mod tests;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use super::invoice_numbers::Issued;
use super::reads::impl_job_reads;
use super::{Health, InvoiceNumbers, JobStore, RetryPolicy, StoreError};
use crate::stores::profile::{NumberReset, SeriesKind};
use apply::Prepared;
use writer::{Arg, Changed, MAX_BATCH, Update, Write};

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    policy: RetryPolicy,
    /// The group-commit writer: webhooks' events and the workers' single-row job updates.
    writes: mpsc::Sender<Write>,
    /// Set once the writer has stopped for good (a failed flush, a connection beyond repair).
    writer_stopped: Arc<AtomicBool>,
    stop_checkpoints: Arc<tokio::sync::watch::Sender<bool>>,
}

impl SqliteStore {
    /// Opens (creating it and its folder if needed) and migrates the database at `url`
    /// (`sqlite://path/to/file.db`).
    pub async fn open(url: &str, policy: RetryPolicy) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a webhook we answered 200 for survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Checkpoints run on their own task (below), not inside whichever commit crossed
            // the threshold: that commit's webhooks would wait for the copy.
            .pragma("wal_autocheckpoint", "0")
            // A rewound log is cut back to this size, so a burst does not keep its disk space.
            .pragma("journal_size_limit", "67108864");
        if let Some(parent) = Path::new(options.get_filename()).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Invalid(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        #[cfg(unix)]
        files::create_private(options.get_filename())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        #[cfg(unix)]
        files::match_side_files(options.get_filename());
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        // The writer keeps a connection of its own on a thread of its own (see
        // `writer`): its page cache stays warm and a batch needs no hand-offs.
        let (writes, rx) = mpsc::channel(4 * MAX_BATCH);
        let rewind = Arc::new(AtomicBool::new(false));
        // Opening may wait on the busy handler: off the runtime's threads.
        let file = options.get_filename().to_path_buf();
        let start_rewind = rewind.clone();
        let wake = writes.downgrade();
        let writer_stopped =
            tokio::task::spawn_blocking(move || writer::start(&file, rx, wake, start_rewind))
                .await
                .map_err(|e| {
                    StoreError::Invalid(format!("cannot start the job store's writer: {e}"))
                })??;
        let checkpointer = SqliteConnection::connect_with(&options).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(checkpoints::checkpoints(checkpointer, stopped, rewind));
        Ok(Self {
            pool,
            policy,
            writes,
            writer_stopped,
            stop_checkpoints: Arc::new(stop),
        })
    }

    async fn submit<T>(
        &self,
        write: Write,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let stopped = || StoreError::Invalid("the job store's writer has stopped".into());
        self.writes.send(write).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs a one-row job update through the group-commit writer: many workers' step records
    /// share one transaction and one fsync instead of taking one each.
    async fn update(&self, sql: &'static str, args: Vec<Arg>) -> Result<Changed, StoreError> {
        self.run_update(sql, args, false).await
    }

    /// An update ending in `RETURNING` one integer column: answers the returned values.
    async fn update_returning(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(self.run_update(sql, args, true).await?.ids)
    }

    async fn run_update(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
        returning: bool,
    ) -> Result<Changed, StoreError> {
        let (reply, answer) = oneshot::channel();
        let update = Update {
            sql,
            args,
            returning,
        };
        self.submit(Write::Update(update, reply), answer).await
    }

    /// An update of one job, answered with whether it applied (the worker still held it).
    async fn update_one(&self, sql: &'static str, args: Vec<Arg>) -> Result<bool, StoreError> {
        Ok(self.update(sql, args).await?.rows == 1)
    }
}

#[async_trait]
impl InvoiceNumbers for SqliteStore {
    async fn find(
        &self,
        store_id: &str,
        kind: crate::stores::profile::SeriesKind,
        order_id: &str,
    ) -> Result<Option<super::Issued>, StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(super::invoice_numbers::FIND_NUMBER)
            .bind(store_id)
            .bind(kind.as_str())
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(number, at_ms)| super::Issued {
            number: number as u64,
            at_ms,
        }))
    }

    async fn allocate(
        &self,
        store_id: &str,
        kind: SeriesKind,
        reset: NumberReset,
        order_id: &str,
        at_ms: i64,
    ) -> Result<Issued, StoreError> {
        // One statement through the writer: the document's number if it has one (the no-op
        // update returns it, whatever its period), else the next of its series. The writer's
        // transaction (BEGIN IMMEDIATE, one writer per file) makes MAX + 1 gap-free.
        let numbers = self
            .update_returning(
                "INSERT INTO invoice_numbers (store_id, kind, period, order_id, number, created_at) \
                 SELECT $1, $2, $3, $4, COALESCE(MAX(number), 0) + 1, $5 FROM invoice_numbers \
                 WHERE store_id = $1 AND kind = $2 AND period = $3 \
                 ON CONFLICT (store_id, kind, order_id) DO UPDATE SET number = invoice_numbers.number \
                 RETURNING number",
                vec![
                    Arg::Text(store_id.to_owned()),
                    Arg::Text(kind.as_str().to_owned()),
                    Arg::Text(reset.period(at_ms)),
                    Arg::Text(order_id.to_owned()),
                    Arg::Int(at_ms),
                ],
            )
            .await?;
        let number = match numbers.as_slice() {
            [n] => *n as u64,
            _ => {
                return Err(StoreError::Invalid(format!(
                    "allocating an invoice number returned {} rows",
                    numbers.len()
                )));
            }
        };
        // When it was allocated, which may be long before `at_ms`: the writer answers once the
        // row is committed, so the pool reads it.
        let at_ms: i64 = sqlx::query_scalar(
            "SELECT created_at FROM invoice_numbers \
             WHERE store_id = ?1 AND kind = ?2 AND order_id = ?3",
        )
        .bind(store_id)
        .bind(kind.as_str())
        .bind(order_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Issued { number, at_ms })
    }
}

#[async_trait]
impl Health for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        if self.writes.is_closed() || self.writer_stopped.load(Ordering::Acquire) {
            return Err(StoreError::Invalid(
                "the job store's writer has stopped; see the log for why".into(),
            ));
        }
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        let _ = self.stop_checkpoints.send(true);
        // The writer commits what it holds and stops; later writes are refused, so none can
        // land in the log after the final checkpoint below.
        let (stopped, writer_gone) = oneshot::channel();
        if self.writes.send(Write::Stop(stopped)).await.is_ok() {
            let _ = writer_gone.await;
        }
        // Leave the database file complete on its own (a copy of `shopbip.db` without its
        // `-wal` then holds every committed job); best effort, the WAL is as durable.
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "final WAL checkpoint failed");
        }
        self.pool.close().await;
    }
}

// Reads run on the pool: WAL readers never wait for the writer.
impl_job_reads!(SqliteStore, crate::jobs::sql::STORE_COUNTS_SQLITE);
super::messages::impl_messages!(SqliteStore);

/// One process owns the file: pacing stays in-process (the trait's default).
impl JobStore for SqliteStore {}
