//! The SQLite store's one writer: a thread of its own with its own connection, through which
//! every write of a running service goes (webhooks' events and jobs, the workers' job updates).
//!
//! Why a thread and rusqlite rather than a tokio task on sqlx: SQLite takes one writer at a
//! time, so this loop is the ingestion bottleneck, and through sqlx each statement of a batch
//! was a round trip to sqlx's own SQLite thread (four per batch: ~0.3 ms of a ~0.5 ms batch on
//! two busy cores). Here the batch runs straight through on the thread that owns the
//! connection. rusqlite links the same bundled SQLite as sqlx (one `libsqlite3-sys`), reads and
//! migrations stay on sqlx.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OptionalExtension, ToSql, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::{IngestOutcome, NewEvent, StoreError, to_json};
use crate::clock::now_ms;

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

/// An event made ready for the writer: everything serialised before it reaches the one thread
/// that can write.
pub(super) struct Prepared {
    store_id: String,
    platform: String,
    delivery_key: String,
    topic: String,
    kind: &'static str,
    order_id: String,
    order_json: String,
    /// (the rule's event, rule key, rule JSON): one delivery can make jobs for several events.
    rules: Vec<(&'static str, String, String)>,
    max_attempts: i64,
}

impl Prepared {
    pub(super) fn new(event: NewEvent, max_attempts: u32) -> Result<Self, StoreError> {
        let rules = event
            .rules
            .iter()
            .map(|r| Ok((r.on.as_str(), r.key(), to_json(r)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(Self {
            order_json: to_json(&event.order)?,
            store_id: event.store_id,
            platform: event.platform,
            delivery_key: event.delivery_key,
            topic: event.topic,
            kind: event.kind.as_str(),
            order_id: event.order.id,
            rules,
            max_attempts: max_attempts as i64,
        })
    }
}

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

/// The writer's connection. `synchronous=NORMAL`: its commits skip SQLite's fsync, and the
/// syncer makes them durable before anyone is answered (see `syncer`).
fn connect(db: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Invalid(format!(
            "the job store's file would not go into WAL mode (it is in {mode} mode)"
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Checkpoints run on the store's checkpointer, never inside a commit (see `checkpoints`).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", 67_108_864)?;
    // Every update statement of the store, plus the two inserts, stays prepared.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// What the writer and the syncer share about the disk: how many committed batches wait for
/// their flush, and whether the writer is holding a batch back until none does.
struct Disk {
    unsynced: AtomicUsize,
    writer_waiting: AtomicBool,
    /// Wakes the writer; weak, so the writer still stops once every store handle is gone.
    wake: mpsc::WeakSender<Write>,
}

impl Disk {
    /// Called by the syncer once `flushed` batches are answered (or failed).
    fn flushed(&self, flushed: usize) {
        let left = self.unsynced.fetch_sub(flushed, Ordering::SeqCst) - flushed;
        if left == 0 && self.writer_waiting.swap(false, Ordering::SeqCst) {
            self.wake_writer();
        }
    }

    fn wake_writer(&self) {
        if let Some(writes) = self.wake.upgrade() {
            // A full queue wakes the writer anyway.
            let _ = writes.try_send(Write::DiskFree);
        }
    }

    /// Called by the writer: whether no commit waits for a flush. The writer is marked as
    /// waiting first, so if one does the syncer wakes it when the last flush ends (checked in
    /// this order, a wake cannot be missed).
    fn free(&self) -> bool {
        self.writer_waiting.store(true, Ordering::SeqCst);
        self.unsynced.load(Ordering::SeqCst) == 0
    }
}

/// Answers kept back until the writes they report are on disk.
#[derive(Default)]
struct Acks {
    events: Vec<(EventReply, Result<IngestOutcome, StoreError>)>,
    updates: Vec<(UpdateReply, Result<Changed, StoreError>)>,
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

/// Flushes the WAL to disk, then releases the answers of every commit made before the flush
/// began. The writer commits without waiting for the disk (`synchronous=NORMAL` on its
/// connection), so while one flush runs the next batch is already being written (and, unless
/// it fills up, committed once this flush ends). Nobody hears "stored" before its rows are on
/// disk: the same guarantee as `synchronous=FULL`, without the writer idling on each fsync.
///
/// A failed flush stops the syncer, and with it the writer: the kernel may already have
/// dropped the unwritten pages, so no later commit in this WAL can be promised either. Every
/// waiting caller gets an error (webhooks a 503, so the platform retries), `/readyz` turns
/// unready, and a restart recovers from what is on disk.
fn syncer(
    wal: File,
    unsynced: std_mpsc::Receiver<Acks>,
    stopped: Arc<AtomicBool>,
    disk: Arc<Disk>,
) {
    let failed = || StoreError::Invalid("the job store could not flush to disk".into());
    while let Ok(first) = unsynced.recv() {
        let mut pending = vec![first];
        pending.extend(unsynced.try_iter());
        let batches = pending.len();
        let synced = wal.sync_data();
        let ok = synced.is_ok();
        if !ok {
            // Before anyone is answered: `ping` (and so `/readyz`) reports the stop from now on.
            stopped.store(true, Ordering::Release);
        }
        // The writer first: its next commit can start while these answers go out.
        disk.flushed(batches);
        for acks in pending {
            for (reply, outcome) in acks.events {
                let _ = reply.send(if ok { outcome } else { Err(failed()) });
            }
            for (reply, changed) in acks.updates {
                let _ = reply.send(if ok { changed } else { Err(failed()) });
            }
        }
        if let Err(e) = synced {
            tracing::error!(error = %e, "could not flush the job store's WAL to disk; the job store stops taking writes until shopbip restarts");
            for acks in unsynced.try_iter() {
                for (reply, _) in acks.events {
                    let _ = reply.send(Err(failed()));
                }
                for (reply, _) in acks.updates {
                    let _ = reply.send(Err(failed()));
                }
            }
            // Dropping the receiver stops the writer at its next batch; answers it sends
            // meanwhile are dropped, which their callers hear as "the writer has stopped".
            // Woken now, it finds `stopped` and answers what it gathered at once.
            disk.wake_writer();
            return;
        }
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

/// Replaces the writer's connection with a fresh one; failing that, makes sure the old one is
/// out of any transaction. `false`: the writer cannot go on.
fn reopen(conn: &mut Connection, db: &Path) -> bool {
    match connect(db) {
        Ok(fresh) => {
            *conn = fresh;
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "could not reopen the job store's writer");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            conn.is_autocommit()
        }
    }
}

/// Rewinds the WAL. A reader still in the old log would make RESTART wait on the busy handler
/// with every write held up behind it, so the wait is cut short: the checkpointer asks again
/// 200 ms later.
fn rewind_wal(conn: &Connection) {
    let restart = || -> rusqlite::Result<i64> {
        conn.busy_timeout(Duration::from_millis(50))?;
        let outcome = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get(0));
        conn.busy_timeout(Duration::from_secs(10))?;
        outcome
    };
    match restart() {
        Ok(0) => {}
        Ok(_) => tracing::debug!("WAL rewind put off: a reader is still in the log"),
        Err(e) => tracing::warn!(error = %e, "WAL rewind failed; will retry"),
    }
}

/// Writes a batch in one transaction of its own (a write retried alone).
fn write_batch(
    conn: &mut Connection,
    events: &[Prepared],
    updates: &[Update],
) -> rusqlite::Result<(Vec<IngestOutcome>, Vec<Changed>)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(events.len());
    let mut changed = Vec::with_capacity(updates.len());
    insert_events(&tx, events, now_ms(), &mut outcomes)?;
    run_updates(&tx, updates, &mut changed)?;
    tx.commit()?;
    Ok((outcomes, changed))
}

/// Inserts events and their jobs. Each statement is prepared once per connection; with no
/// hand-off per statement, one row per statement costs less than building multi-row SQL.
fn insert_events(
    conn: &Connection,
    events: &[Prepared],
    now: i64,
    outcomes: &mut Vec<IngestOutcome>,
) -> rusqlite::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut insert_event = conn.prepare_cached(
        "INSERT INTO events (store_id, platform, delivery_key, topic, kind, order_id, \
         order_json, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (store_id, delivery_key) DO NOTHING RETURNING id",
    )?;
    let mut insert_job = conn.prepare_cached(
        "INSERT INTO jobs (event_id, store_id, order_id, kind, rule_key, rule_json, state, \
         max_attempts, run_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?8, ?8) \
         ON CONFLICT (store_id, order_id, kind, rule_key) DO NOTHING",
    )?;
    for e in events {
        // A second event of the same delivery, even in this very batch, is a duplicate.
        let id: Option<i64> = insert_event
            .query_row(
                params![
                    e.store_id,
                    e.platform,
                    e.delivery_key,
                    e.topic,
                    e.kind,
                    e.order_id,
                    e.order_json,
                    now
                ],
                |r| r.get(0),
            )
            .optional()?;
        outcomes.push(match id {
            None => IngestOutcome::DuplicateDelivery,
            Some(event_id) => {
                let mut jobs_created = 0;
                for (kind, rule_key, rule_json) in &e.rules {
                    jobs_created += insert_job.execute(params![
                        event_id,
                        e.store_id,
                        e.order_id,
                        kind,
                        rule_key,
                        rule_json,
                        e.max_attempts,
                        now
                    ])?;
                }
                IngestOutcome::Stored {
                    event_id,
                    jobs_created,
                    jobs_existing: e.rules.len() - jobs_created,
                }
            }
        });
    }
    Ok(())
}

fn run_updates(
    conn: &Connection,
    updates: &[Update],
    changed: &mut Vec<Changed>,
) -> rusqlite::Result<()> {
    for update in updates {
        let mut statement = conn.prepare_cached(update.sql)?;
        let args = rusqlite::params_from_iter(&update.args);
        changed.push(if update.returning {
            let ids = statement
                .query_map(args, |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            Changed {
                rows: ids.len() as u64,
                ids,
            }
        } else {
            Changed {
                rows: statement.execute(args)? as u64,
                ids: Vec::new(),
            }
        });
    }
    Ok(())
}
