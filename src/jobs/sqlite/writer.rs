//! The SQLite store's one writer: a thread of its own with its own connection, through which
//! every write of a running service goes (webhooks' events and jobs, the workers' job updates).
//!
//! Why a thread and rusqlite rather than a tokio task on sqlx: SQLite takes one writer at a
//! time, so this loop is the ingestion bottleneck, and through sqlx each statement of a batch
//! was a round trip to sqlx's own SQLite thread (four per batch: ~0.3 ms of a ~0.5 ms batch on
//! two busy cores). Here the batch runs straight through on the thread that owns the
//! connection. rusqlite links the same bundled SQLite as sqlx (one `libsqlite3-sys`), reads and
//! migrations stay on sqlx.
//!
//! The writer applies and commits (`group_commit`); `syncer` makes commits durable before
//! anyone is answered; `apply` holds the statements a batch runs; `connection` opens, reopens
//! and rewinds the writer's connection.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, ToSql};
use tokio::sync::{mpsc, oneshot};

use super::apply::{Prepared, insert_events, run_updates, write_batch};
use super::connection::{connect, reopen, rewind_wal};
use super::syncer::{Acks, Disk, syncer};
use crate::clock::now_ms;
use crate::jobs::{IngestOutcome, StoreError};

/// One write for the writer, with where its answer goes.
pub(super) enum Write {
    Ingest(Prepared, EventReply),
    /// One `UPDATE` (or upsert) of one statement; answered with what it changed.
    Update(Update, UpdateReply),
    /// Commit what came before, close the connection and stop; answered once the writer's
    /// connection is closed (its commits are then all in the WAL).
    Stop(oneshot::Sender<()>),
    /// From the syncer: the disk is free, commit what has gathered.
    DiskFree,
}

pub(super) type EventReply = oneshot::Sender<Result<IngestOutcome, StoreError>>;
pub(super) type UpdateReply = oneshot::Sender<Result<Changed, StoreError>>;

/// A single-statement update: the statement is fixed, only the values vary.
pub(super) struct Update {
    pub sql: &'static str,
    pub args: Vec<Arg>,
    /// The statement ends in `RETURNING <one integer column>`, whose values are answered.
    pub returning: bool,
}

/// Rows an update changed; for a `returning` update, the returned values.
#[derive(Default)]
pub(super) struct Changed {
    pub rows: u64,
    pub ids: Vec<i64>,
}

pub(super) enum Arg {
    Int(i64),
    Text(String),
    OptText(Option<String>),
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Arg::Int(v) => v.to_sql(),
            Arg::Text(v) => v.to_sql(),
            Arg::OptText(v) => v.to_sql(),
        }
    }
}

/// Most writes in one transaction (one flush).
pub(super) const MAX_BATCH: usize = 256;

/// Starts the writer and its syncer on the database file at `db` (already migrated). The
/// writer stops when every sender of `writes` is gone, or for good once a flush fails or its
/// connection is beyond repair; the returned flag then reads `true`.
pub(super) fn start(
    db: &Path,
    writes: mpsc::Receiver<Write>,
    wake: mpsc::WeakSender<Write>,
    rewind: Arc<AtomicBool>,
) -> Result<Arc<AtomicBool>, StoreError> {
    // One descriptor for the store's life, on the file SQLite itself resolved (symlinks
    // followed): a write-back error is reported once per file, to descriptors that were open
    // when it happened, and the syncer must be the one to see it.
    let db = std::fs::canonicalize(db)
        .map_err(|e| StoreError::Invalid(format!("cannot find the job store's file: {e}")))?;
    let conn = connect(&db)?;
    let wal = File::open(format!("{}-wal", db.display()))
        .map_err(|e| StoreError::Invalid(format!("cannot open the job store's WAL: {e}")))?;
    // Bounded: if the disk stalls, the writer waits for the syncer instead of piling up
    // commits nobody can be answered for yet.
    let (acks, unsynced) = std_mpsc::sync_channel(64);
    let stopped = Arc::new(AtomicBool::new(false));
    let (syncer_stopped, writer_stopped) = (stopped.clone(), stopped.clone());
    let disk = Arc::new(Disk {
        unsynced: AtomicUsize::new(0),
        writer_waiting: AtomicBool::new(false),
        wake,
    });
    let writer_disk = disk.clone();
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(f)
            .map_err(|e| StoreError::Invalid(format!("cannot start the job store's {name}: {e}")))
    };
    spawn(
        "sqlite-syncer",
        Box::new(move || syncer(wal, unsynced, syncer_stopped, disk)),
    )?;
    spawn(
        "sqlite-writer",
        Box::new(move || group_commit(conn, db, writes, acks, writer_disk, rewind, writer_stopped)),
    )?;
    Ok(stopped)
}

/// Group commit: webhooks and job updates arriving together share one `BEGIN IMMEDIATE`
/// transaction, and each is answered only once that commit is on disk. A batch refused for
/// what one write holds is retried one write per transaction, so a single bad write cannot
/// fail its neighbours; a batch that failed for the database's state (locked past the busy
/// timeout, an I/O error, a full disk) fails whole at once, since each write alone would only
/// wait or fail the same way.
///
/// While the last commit is still being flushed, a new one would only wait for the next flush
/// too: writes are applied as they come inside one open transaction, which commits when the
/// disk is free (or the batch is full). Every commit rewrites the pages it touches (table and
/// index leaves, the header page), so fewer, larger commits write fewer WAL frames per
/// webhook, and with the statements already run the commit itself is quick.
fn group_commit(
    mut conn: Connection,
    db: PathBuf,
    mut rx: mpsc::Receiver<Write>,
    acks: std_mpsc::SyncSender<Acks>,
    disk: Arc<Disk>,
    rewind: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
) {
    let mut batch = Batch::default();
    let mut stop = None;
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        loop {
            while let Some(write) = next.take() {
                match write {
                    Write::Stop(reply) => stop = Some(reply),
                    Write::DiskFree => {}
                    Write::Ingest(event, reply) => {
                        batch.events.push(event);
                        batch.event_replies.push(reply);
                    }
                    Write::Update(update, reply) => {
                        batch.updates.push(update);
                        batch.update_replies.push(reply);
                    }
                }
                if batch.len() < MAX_BATCH && stop.is_none() {
                    next = rx.try_recv().ok();
                }
            }
            batch.apply(&conn);
            if batch.len() >= MAX_BATCH
                || batch.failed.is_some()
                || stop.is_some()
                || stopped.load(Ordering::Acquire)
                || disk.free()
            {
                break;
            }
            // Woken by the next write, or by the syncer once the flush ends.
            match rx.blocking_recv() {
                Some(write) => next = Some(write),
                None => break,
            }
        }
        disk.writer_waiting.store(false, Ordering::SeqCst);
        if stopped.load(Ordering::Acquire) {
            // A flush failed since the last batch: nothing written now could be promised.
            // Dropping the batch (and the open transaction, with the connection) answers its
            // callers "the writer has stopped".
            break;
        }
        if batch.len() == 0 && stop.is_none() {
            // Only a late wake from the syncer: nothing to commit.
            continue;
        }
        batch.commit(&conn);
        let mut done = Acks::default();
        match batch.failed.take() {
            None => {
                done.events = batch
                    .event_replies
                    .drain(..)
                    .zip(batch.outcomes.drain(..).map(Ok))
                    .collect();
                done.updates = batch
                    .update_replies
                    .drain(..)
                    .zip(batch.changed.drain(..).map(Ok))
                    .collect();
            }
            Some(batch_error) => {
                let alone = worth_retrying_alone(&batch_error);
                tracing::warn!(error = %batch_error, events = batch.events.len(), updates = batch.updates.len(), retry_alone = alone, "group commit failed");
                // After an I/O error or a full disk SQLite may have rolled back on its own
                // and the connection be left in a state no later BEGIN gets past: a fresh
                // connection starts clean. A statement refused for its values leaves it fine.
                if (!alone || !conn.is_autocommit()) && !reopen(&mut conn, &db) {
                    stopped.store(true, Ordering::Release);
                    break;
                }
                if !alone {
                    let failed = || {
                        StoreError::Invalid(format!("the job store could not write: {batch_error}"))
                    };
                    done.events = batch
                        .event_replies
                        .drain(..)
                        .map(|r| (r, Err(failed())))
                        .collect();
                    done.updates = batch
                        .update_replies
                        .drain(..)
                        .map(|r| (r, Err(failed())))
                        .collect();
                }
                for (event, reply) in batch.events.iter().zip(batch.event_replies.drain(..)) {
                    let one = write_batch(&mut conn, std::slice::from_ref(event), &[])
                        .map(|(mut o, _)| o.remove(0))
                        .map_err(StoreError::from);
                    done.events.push((reply, one));
                }
                for (update, reply) in batch.updates.iter().zip(batch.update_replies.drain(..)) {
                    let one = write_batch(&mut conn, &[], std::slice::from_ref(update))
                        .map(|(_, mut c)| c.remove(0))
                        .map_err(StoreError::from);
                    done.updates.push((reply, one));
                }
            }
        }
        batch.clear();
        disk.unsynced.fetch_add(1, Ordering::SeqCst);
        if acks.send(done).is_err() {
            // The syncer stopped on a failed flush: nothing more can be promised.
            stopped.store(true, Ordering::Release);
            break;
        }
        if stop.is_some() {
            break;
        }
        // The writer rewinds the log itself, between two batches: a RESTART from another
        // connection would hold off this writer while it waited for the write lock.
        if rewind.swap(false, Ordering::Relaxed) {
            rewind_wal(&conn);
        }
    }
    // Writes still queued are dropped with the channel: their callers hear "the writer has
    // stopped", never "stored".
    drop(rx);
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the job store's writer connection failed");
    }
    if let Some(reply) = stop {
        let _ = reply.send(());
    }
}

/// The writes gathered for the next commit, and how far they are applied inside the open
/// transaction.
#[derive(Default)]
struct Batch {
    events: Vec<Prepared>,
    event_replies: Vec<EventReply>,
    updates: Vec<Update>,
    update_replies: Vec<UpdateReply>,
    outcomes: Vec<IngestOutcome>,
    changed: Vec<Changed>,
    /// The first failure; the transaction is rolled back and nothing more is applied.
    failed: Option<rusqlite::Error>,
}

impl Batch {
    fn len(&self) -> usize {
        self.events.len() + self.updates.len()
    }

    /// Runs the writes taken since the last call, opening the transaction if none is open.
    fn apply(&mut self, conn: &Connection) {
        if self.failed.is_some() || self.len() == self.outcomes.len() + self.changed.len() {
            return;
        }
        let mut run = || {
            if conn.is_autocommit() {
                conn.execute_batch("BEGIN IMMEDIATE")?;
            }
            let now = now_ms();
            insert_events(
                conn,
                &self.events[self.outcomes.len()..],
                now,
                &mut self.outcomes,
            )?;
            run_updates(conn, &self.updates[self.changed.len()..], &mut self.changed)
        };
        if let Err(e) = run() {
            self.fail(conn, e);
        }
    }

    fn commit(&mut self, conn: &Connection) {
        if self.failed.is_none()
            && !conn.is_autocommit()
            && let Err(e) = conn.execute_batch("COMMIT")
        {
            self.fail(conn, e);
        }
    }

    fn fail(&mut self, conn: &Connection, e: rusqlite::Error) {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.failed = Some(e);
    }

    fn clear(&mut self) {
        self.events.clear();
        self.updates.clear();
        self.outcomes.clear();
        self.changed.clear();
        self.failed = None;
    }
}

/// Whether a failed batch is worth writing again one write at a time: yes when SQLite refused
/// a statement for what it held (a constraint, a value), no when the database itself was the
/// problem.
fn worth_retrying_alone(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    match e {
        rusqlite::Error::SqliteFailure(f, _) => !matches!(
            f.code,
            DatabaseBusy
                | DatabaseLocked
                | SystemIoFailure
                | DiskFull
                | DatabaseCorrupt
                | NotADatabase
                | CannotOpen
                | ReadOnly
                | OutOfMemory
        ),
        _ => true,
    }
}
