//! The embedded job store: one SQLite file in WAL mode; every write transaction starts with
//! `BEGIN IMMEDIATE` so concurrent writers queue on `busy_timeout` instead of failing.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};

use super::sqlite_writer::{self, Arg, Changed, MAX_BATCH, Prepared, Update, Write};
use super::{
    EventRecord, Failure, IngestOutcome, JOB_SELECT, Job, JobFilter, JobRow, JobState, JobStore,
    NewEvent, ReplayOutcome, RetryPolicy, StoreError, StoreStats, parse_state,
};
use crate::clock::now_ms;

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
        create_private(options.get_filename())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        #[cfg(unix)]
        match_side_files(options.get_filename());
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        // The writer keeps a connection of its own on a thread of its own (see
        // `sqlite_writer`): its page cache stays warm and a batch needs no hand-offs.
        let (writes, rx) = mpsc::channel(4 * MAX_BATCH);
        let rewind = Arc::new(AtomicBool::new(false));
        // Opening may wait on the busy handler: off the runtime's threads.
        let file = options.get_filename().to_path_buf();
        let start_rewind = rewind.clone();
        let wake = writes.downgrade();
        let writer_stopped = tokio::task::spawn_blocking(move || {
            sqlite_writer::start(&file, rx, wake, start_rewind)
        })
        .await
        .map_err(|e| StoreError::Invalid(format!("cannot start the job store's writer: {e}")))??;
        let checkpointer = SqliteConnection::connect_with(&options).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(checkpoints(checkpointer, stopped, rewind));
        Ok(Self {
            pool,
            policy,
            writes,
            writer_stopped,
            stop_checkpoints: Arc::new(stop),
        })
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
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

    async fn get_with<'c, E>(&self, exec: E, id: i64) -> Result<Option<Job>, StoreError>
    where
        E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
    {
        let sql = format!("{JOB_SELECT} WHERE j.id = ?1");
        let row = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(exec)
            .await?;
        row.map(Job::try_from).transpose()
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn ingest(&self, event: NewEvent) -> Result<IngestOutcome, StoreError> {
        let prepared = Prepared::new(event, self.policy.max_attempts)?;
        let (reply, answer) = oneshot::channel();
        self.submit(Write::Ingest(prepared, reply), answer).await
    }

    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let now = now_ms();
        // Through the writer: a pooled connection would wait on the busy handler for the
        // write lock, which the writer rarely leaves free under a webhook flood.
        let ids = self
            .update_returning(
                "UPDATE jobs SET state = 'running', locked_by = ?1, locked_until = ?2, \
                 attempts = attempts + 1, updated_at = ?3 \
                 WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= ?3 \
                              ORDER BY run_at, id LIMIT ?4) \
                 RETURNING id",
                vec![
                    Arg::Text(worker.to_owned()),
                    Arg::Int(now + lease.as_millis() as i64),
                    Arg::Int(now),
                    Arg::Int(i64::from(limit)),
                ],
            )
            .await?;
        let mut jobs = Vec::with_capacity(ids.len());
        for (n, id) in ids.iter().enumerate() {
            match self.get_with(&self.pool, *id).await {
                Ok(Some(job)) => jobs.push(job),
                Ok(None) => {}
                Err(e) => {
                    // Claimed but unreadable: hand them back now rather than leave them to
                    // the lease, each with an attempt spent for nothing.
                    for id in ids[n..].iter().copied().chain(jobs.iter().map(|j| j.id)) {
                        let _ = self.release(id, worker, now).await;
                    }
                    return Err(e);
                }
            }
        }
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    async fn renew(&self, job_id: i64, worker: &str, lease: Duration) -> Result<bool, StoreError> {
        let now = now_ms();
        self.update_one(
            "UPDATE jobs SET locked_until = ?1, updated_at = ?2 \
             WHERE id = ?3 AND locked_by = ?4 AND state = 'running'",
            vec![
                Arg::Int(now + lease.as_millis() as i64),
                Arg::Int(now),
                Arg::Int(job_id),
                Arg::Text(worker.to_owned()),
            ],
        )
        .await
    }

    async fn save_steps(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        self.update_one(
            "UPDATE jobs SET steps_json = ?1, updated_at = ?2 \
             WHERE id = ?3 AND locked_by = ?4 AND state = 'running'",
            vec![
                Arg::Text(steps.to_string()),
                Arg::Int(now_ms()),
                Arg::Int(job_id),
                Arg::Text(worker.to_owned()),
            ],
        )
        .await
    }

    async fn finish(
        &self,
        job_id: i64,
        worker: &str,
        state: JobState,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        if !matches!(state, JobState::Done | JobState::Skipped | JobState::Dead) {
            return Err(StoreError::Invalid(format!("a job cannot finish {state}")));
        }
        self.update_one(
            "UPDATE jobs SET state = ?1, last_error = ?2, locked_by = NULL, locked_until = NULL, \
             updated_at = ?3 WHERE id = ?4 AND locked_by = ?5 AND state = 'running'",
            vec![
                Arg::Text(state.as_str().to_owned()),
                Arg::OptText(reason.map(str::to_owned)),
                Arg::Int(now_ms()),
                Arg::Int(job_id),
                Arg::Text(worker.to_owned()),
            ],
        )
        .await
    }

    async fn fail(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        failure: Failure,
    ) -> Result<Option<JobState>, StoreError> {
        let now = now_ms();
        // Read without the write lock, then write through the writer guarded by what was read:
        // a pooled `BEGIN IMMEDIATE` could wait seconds for the lock under a webhook flood.
        let row = sqlx::query(
            "SELECT attempts, max_attempts FROM jobs \
             WHERE id = ?1 AND locked_by = ?2 AND state = 'running'",
        )
        .bind(job_id)
        .bind(worker)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let attempts: i64 = row.try_get(0)?;
        let max: i64 = row.try_get(1)?;
        let (state, run_at) = match failure {
            Failure::Transient { retry_after } if attempts < max => {
                let delay = self.policy.delay(attempts as u32, retry_after);
                (JobState::Queued, now + delay.as_millis() as i64)
            }
            _ => (JobState::Dead, now),
        };
        let reason = if state == JobState::Dead && matches!(failure, Failure::Transient { .. }) {
            format!("gave up after {attempts} attempts: {error}")
        } else {
            error.to_owned()
        };
        let applied = self
            .update_one(
                "UPDATE jobs SET state = ?1, run_at = ?2, last_error = ?3, locked_by = NULL, \
                 locked_until = NULL, updated_at = ?4 \
                 WHERE id = ?5 AND locked_by = ?6 AND state = 'running' AND attempts = ?7",
                vec![
                    Arg::Text(state.as_str().to_owned()),
                    Arg::Int(run_at),
                    Arg::Text(reason),
                    Arg::Int(now),
                    Arg::Int(job_id),
                    Arg::Text(worker.to_owned()),
                    Arg::Int(attempts),
                ],
            )
            .await?;
        Ok(applied.then_some(state))
    }

    async fn complete(
        &self,
        job_id: i64,
        worker: &str,
        steps: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        self.update_one(
            "UPDATE jobs SET state = 'done', steps_json = ?1, last_error = NULL, locked_by = NULL, \
             locked_until = NULL, updated_at = ?2 WHERE id = ?3 AND locked_by = ?4 AND state = 'running'",
            vec![
                Arg::Text(steps.to_string()),
                Arg::Int(now_ms()),
                Arg::Int(job_id),
                Arg::Text(worker.to_owned()),
            ],
        )
        .await
    }

    async fn release(&self, job_id: i64, worker: &str, run_at: i64) -> Result<bool, StoreError> {
        self.update_one(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), run_at = ?1, \
             locked_by = NULL, locked_until = NULL, updated_at = ?2 \
             WHERE id = ?3 AND locked_by = ?4 AND state = 'running'",
            vec![
                Arg::Int(run_at),
                Arg::Int(now_ms()),
                Arg::Int(job_id),
                Arg::Text(worker.to_owned()),
            ],
        )
        .await
    }

    async fn reap_expired(&self) -> Result<u64, StoreError> {
        Ok(self
            .update(
                "UPDATE jobs SET \
                   state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
                   last_error = 'lease expired: the worker stopped before finishing attempt ' || attempts, \
                   locked_by = NULL, locked_until = NULL, run_at = ?1, updated_at = ?1 \
                 WHERE state = 'running' AND locked_until < ?1",
                vec![Arg::Int(now_ms())],
            )
            .await?
            .rows)
    }

    async fn replay(&self, job_id: i64) -> Result<ReplayOutcome, StoreError> {
        // Read, then requeue through the writer only if the job is still as read: a
        // `BEGIN IMMEDIATE` of its own would wait for the write lock, which the writer holds
        // through most of each flush while webhooks keep coming.
        for _ in 0..5 {
            let row = sqlx::query("SELECT state, steps_json FROM jobs WHERE id = ?1")
                .bind(job_id)
                .fetch_optional(&self.pool)
                .await?;
            let Some(row) = row else {
                return Ok(ReplayOutcome::NotFound);
            };
            let state = parse_state(row.try_get(0)?)?;
            if !matches!(state, JobState::Done | JobState::Dead | JobState::Skipped) {
                return Ok(ReplayOutcome::NotFinished(state));
            }
            let steps: String = row.try_get(1)?;
            let now = now_ms();
            let requeued = self
                .update(
                    "UPDATE jobs SET state = 'queued', attempts = 0, run_at = ?1, \
                     last_error = NULL, steps_json = ?2, replays = replays + 1, updated_at = ?1 \
                     WHERE id = ?3 AND state = ?4 AND steps_json = ?5",
                    vec![
                        Arg::Int(now),
                        Arg::Text(replayed_steps(&steps)),
                        Arg::Int(job_id),
                        Arg::Text(state.as_str().to_owned()),
                        Arg::Text(steps),
                    ],
                )
                .await?;
            if requeued.rows == 1 {
                return Ok(ReplayOutcome::Requeued);
            }
        }
        Err(StoreError::Invalid(format!(
            "job {job_id} kept changing while it was being replayed; try again"
        )))
    }

    async fn get(&self, job_id: i64) -> Result<Option<Job>, StoreError> {
        self.get_with(&self.pool, job_id).await
    }

    async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "{JOB_SELECT} WHERE (?1 IS NULL OR j.store_id = ?1) AND (?2 IS NULL OR j.state = ?2) \
             AND (?3 IS NULL OR j.order_id = ?3) AND (?4 IS NULL OR j.id < ?4) \
             ORDER BY j.id DESC LIMIT ?5"
        );
        let rows = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
            .bind(filter.store_id.as_deref())
            .bind(filter.state.map(JobState::as_str))
            .bind(filter.order_id.as_deref())
            .bind(filter.before_id)
            .bind(filter.limit.clamp(1, 1000) as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Job::try_from).collect()
    }

    async fn count_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((parse_state(r.try_get(0)?)?, r.try_get::<i64, _>(1)? as u64)))
            .collect()
    }

    async fn invoice_number(&self, store_id: &str, order_id: &str) -> Result<u64, StoreError> {
        // One statement through the writer: the order's number if it has one (the no-op update
        // returns it), else the store's next. The writer's transaction makes MAX + 1 gapless.
        let numbers = self
            .update_returning(
                "INSERT INTO invoice_numbers (store_id, order_id, number, created_at) \
                 SELECT ?1, ?2, COALESCE(MAX(number), 0) + 1, ?3 FROM invoice_numbers \
                 WHERE store_id = ?1 \
                 ON CONFLICT (store_id, order_id) DO UPDATE SET number = invoice_numbers.number \
                 RETURNING number",
                vec![
                    Arg::Text(store_id.to_owned()),
                    Arg::Text(order_id.to_owned()),
                    Arg::Int(now_ms()),
                ],
            )
            .await?;
        match numbers.as_slice() {
            [n] => Ok(*n as u64),
            _ => Err(StoreError::Invalid(format!(
                "allocating an invoice number returned {} rows",
                numbers.len()
            ))),
        }
    }

    async fn event(&self, event_id: i64) -> Result<Option<EventRecord>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, store_id, platform, topic, delivery_key, received_at, order_json FROM events WHERE id = ?1",
        )
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn store_stats(&self) -> Result<BTreeMap<String, StoreStats>, StoreError> {
        let mut stats: BTreeMap<String, StoreStats> = BTreeMap::new();
        let rows = sqlx::query("SELECT store_id, MAX(received_at) FROM events GROUP BY store_id")
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            stats.entry(r.try_get(0)?).or_default().last_webhook_at = r.try_get(1)?;
        }
        let rows = sqlx::query(
            "SELECT store_id, state, COUNT(*), MAX(updated_at) FROM jobs GROUP BY store_id, state",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let entry = stats.entry(r.try_get(0)?).or_default();
            let state: String = r.try_get(1)?;
            if state == "done" {
                entry.last_send_at = r.try_get(3)?;
            }
            entry.jobs.insert(state, r.try_get::<i64, _>(2)? as u64);
        }
        Ok(stats)
    }

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

/// WAL frames (4 KiB pages) beyond which the checkpointer restarts the log. Under continuous
/// writes a PASSIVE checkpoint never leaves the log fully copied at the instant a write begins,
/// so SQLite would never rewind it: the log would grow for as long as webhooks keep coming.
const WAL_FRAMES_LIMIT: i64 = 4_096;

/// Copies the WAL back into the database file off the commit path: with automatic checkpoints
/// the commit that crossed 1,000 pages paid for the copy and its fsync while its webhooks waited.
async fn checkpoints(
    mut conn: SqliteConnection,
    mut stopped: tokio::sync::watch::Receiver<bool>,
    rewind: Arc<AtomicBool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { break },
        }
        // PASSIVE copies what is committed without holding anyone up; when the log is long,
        // the writer is asked to rewind it (with little left to copy by then).
        match passive_checkpoint(&mut conn).await {
            Ok(log) if log > WAL_FRAMES_LIMIT => rewind.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
        }
    }
    let _ = conn.close().await;
}

/// Copies what it can without waiting; answers the log's length in frames.
async fn passive_checkpoint(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    let (_, log, _) = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(conn)
        .await?;
    Ok(log)
}

/// A replayed job starts over, keeping what must stay the same for the order (its invoice
/// number) and the earlier run's results under `previous_runs` for the record.
pub(crate) fn replayed_steps(old: &str) -> String {
    let mut old: serde_json::Value = serde_json::from_str(old).unwrap_or_default();
    let mut history = old
        .as_object_mut()
        .and_then(|o| o.remove("previous_runs"))
        .and_then(|h| h.as_array().cloned())
        .unwrap_or_default();
    let mut fresh = serde_json::Map::new();
    if let Some(n) = old.get("invoice_number") {
        fresh.insert("invoice_number".into(), n.clone());
    }
    history.push(old);
    fresh.insert("previous_runs".into(), serde_json::Value::Array(history));
    serde_json::Value::Object(fresh).to_string()
}

/// The database holds customers' names, phone numbers and addresses: only the service's own
/// user may read it. A new database file is created `0600` before SQLite opens it (whatever
/// the umask), and SQLite gives the `-wal` and `-shm` files it creates the main file's
/// permissions, so all three are private. An existing file keeps the permissions its operator
/// gave it, with a warning when others may read it.
#[cfg(unix)]
fn create_private(db: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(db);
    match created {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if let Ok(meta) = std::fs::metadata(db)
                && meta.is_file()
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    file = %db.display(),
                    mode = format!("{:o}", meta.permissions().mode() & 0o777),
                    "the job store's database (customers' names and phone numbers) may be read \
                     by other users: chmod 600 it and its -wal and -shm files"
                );
            }
            Ok(())
        }
        Err(e) => Err(StoreError::Invalid(format!(
            "cannot create {}: {e}",
            db.display()
        ))),
    }
}

/// A `-wal` or `-shm` file left by an earlier run keeps its own permissions when SQLite reuses
/// it: none may let anyone read more than the main file does.
#[cfg(unix)]
fn match_side_files(db: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(main) = std::fs::metadata(db).map(|m| m.permissions().mode() & 0o777) else {
        return;
    };
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let Ok(mode) = std::fs::metadata(&side).map(|m| m.permissions().mode() & 0o777) else {
            continue;
        };
        if mode & !main != 0
            && let Err(e) =
                std::fs::set_permissions(&side, std::fs::Permissions::from_mode(mode & main))
        {
            tracing::warn!(file = ?side, error = %e, "cannot narrow the permissions of a job store file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{EventKind, Order};
    use crate::stores::NotifyRule;

    fn paid(order_id: &str) -> NewEvent {
        NewEvent {
            store_id: "acme".into(),
            platform: "woocommerce".into(),
            delivery_key: format!("{order_id}/d"),
            topic: "order.updated".into(),
            kind: EventKind::OrderPaid,
            order: Order {
                id: order_id.into(),
                number: order_id.into(),
                currency: "EUR".into(),
                ..Order::default()
            },
            rules: vec![NotifyRule {
                on: EventKind::OrderPaid,
                template_id: 7,
                body_params: vec![],
                attach_invoice: false,
                buttons: vec![],
                payment: vec![],
            }],
        }
    }

    /// A store on a fresh file, with its URL (the directory lives as long as the first).
    async fn fresh_store() -> (tempfile::TempDir, String, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        let store = SqliteStore::open(&url, RetryPolicy::default())
            .await
            .unwrap();
        (dir, url, store)
    }

    #[cfg(unix)]
    fn mode(path: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// The database, its WAL and its shared-memory index hold customers' data: all three are
    /// created readable by the service's user alone, whatever the umask lets files have.
    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_wal_are_created_private() {
        let (dir, _url, store) = fresh_store().await;
        store.ingest(paid("o1")).await.unwrap();
        for name in ["jobs.db", "jobs.db-wal", "jobs.db-shm"] {
            let path = dir.path().join(name);
            assert!(path.exists(), "{name} not there");
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }

    /// A WAL left by an earlier run with wider permissions is narrowed to the database's own.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_wider_leftover_wal_is_narrowed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("jobs.db");
        let wal = dir.path().join("jobs.db-wal");
        let url = format!("sqlite://{}", db.display());
        let first = SqliteStore::open(&url, RetryPolicy::default())
            .await
            .unwrap();
        first.close().await;
        drop(first);
        // A database in WAL mode with a leftover log: not empty (SQLite itself resets the mode
        // of an empty one), not a valid log either, so SQLite starts it afresh in place.
        std::fs::write(&wal, [0u8; 64]).unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        let store = SqliteStore::open(&url, RetryPolicy::default())
            .await
            .unwrap();
        store.ingest(paid("o1")).await.unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
        // An operator's own choice for an existing database is kept.
        drop(store);
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
        let _store = SqliteStore::open(&url, RetryPolicy::default())
            .await
            .unwrap();
        assert_eq!(mode(&db), 0o640);
    }

    /// Posts order `o{n}`'s paid event on a task of its own.
    fn ingest_task(
        store: &SqliteStore,
        n: usize,
    ) -> tokio::task::JoinHandle<Result<IngestOutcome, StoreError>> {
        let store = store.clone();
        tokio::spawn(async move { store.ingest(paid(&format!("o{n}"))).await })
    }

    /// Another connection holding the write lock until it rolls back.
    async fn hold_write_lock(url: &str) -> SqliteConnection {
        let mut blocker = SqliteConnection::connect(url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut blocker)
            .await
            .unwrap();
        blocker
    }

    /// Replays that all read the job before any of them writes (the write lock is held
    /// elsewhere meanwhile) still requeue it once: each requeue applies only to the job as read.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replays_that_read_the_same_finished_job_requeue_it_once() {
        let (_dir, url, store) = fresh_store().await;
        store.ingest(paid("o1")).await.unwrap();
        let job = store.claim("w", Duration::from_secs(60), 1).await.unwrap();
        store
            .finish(job[0].id, "w", JobState::Done, None)
            .await
            .unwrap();
        let mut blocker = hold_write_lock(&url).await;
        let replays: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                let id = job[0].id;
                tokio::spawn(async move { store.replay(id).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
        let mut requeued = 0;
        for r in replays {
            match r.await.unwrap().unwrap() {
                ReplayOutcome::Requeued => requeued += 1,
                ReplayOutcome::NotFinished(JobState::Queued) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(requeued, 1);
        assert_eq!(store.get(job[0].id).await.unwrap().unwrap().replays, 1);
    }

    fn all_jobs() -> JobFilter {
        JobFilter {
            limit: 1000,
            ..JobFilter::default()
        }
    }

    /// A write the database refuses (here a NOT NULL column set to NULL) fails alone: the
    /// webhooks that shared its transaction are stored and answered, and the writer goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_write_does_not_fail_the_writes_committed_with_it() {
        let (_dir, url, store) = fresh_store().await;
        let ingest = |n| ingest_task(&store, n);
        // Another connection holds the write lock: the writer takes the first webhook and
        // waits on the lock while everything else queues, so the rest share one transaction.
        let mut blocker = hold_write_lock(&url).await;
        let mut ingests = vec![ingest(0)];
        tokio::time::sleep(Duration::from_millis(100)).await;
        ingests.extend((1..64).map(ingest));
        let refused = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update(
                        "UPDATE jobs SET state = NULL WHERE id = ?1",
                        vec![Arg::Int(1)],
                    )
                    .await
            })
        };
        ingests.extend((64..96).map(ingest));
        tokio::time::sleep(Duration::from_millis(100)).await;
        sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();

        assert!(
            refused.await.unwrap().is_err(),
            "the NOT NULL constraint refuses it"
        );
        for ingest in ingests {
            let outcome = ingest.await.unwrap().unwrap();
            assert!(
                matches!(
                    outcome,
                    IngestOutcome::Stored {
                        jobs_created: 1,
                        ..
                    }
                ),
                "{outcome:?}"
            );
        }
        store.ping().await.unwrap();
        let jobs = store.list(&all_jobs()).await.unwrap();
        assert_eq!(jobs.len(), 96);
        assert!(jobs.iter().all(|j| j.state == JobState::Queued));
        assert!(
            matches!(
                store.ingest(paid("after")).await,
                Ok(IngestOutcome::Stored { .. })
            ),
            "the writer takes writes after a refused one"
        );
    }

    /// A write lock held elsewhere past the busy timeout fails a waiting batch whole, at once:
    /// writing its webhooks one by one would make each wait the timeout again (256 × 10 s).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_locked_out_fails_at_once_and_the_writer_goes_on() {
        let (_dir, url, store) = fresh_store().await;
        let ingest = |n| ingest_task(&store, n);
        let mut blocker = hold_write_lock(&url).await;
        let started = std::time::Instant::now();
        let first = ingest(0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let queued: Vec<_> = (1..=20).map(ingest).collect();
        // The first batch gives up after one busy timeout (10 s), the queued one after a
        // second; one by one, the queued webhooks would take 20 more.
        assert!(first.await.unwrap().is_err());
        for write in queued {
            assert!(write.await.unwrap().is_err());
        }
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(28),
            "answered after {waited:?}: the batch was retried write by write"
        );
        sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
        assert!(matches!(
            store.ingest(paid("after")).await,
            Ok(IngestOutcome::Stored { .. })
        ));
        store.ping().await.unwrap();
    }

    /// `close` stops the writer after what it holds: a write arriving later is refused (the
    /// caller is never told "stored" for a row that missed the final checkpoint).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_after_close_are_refused() {
        let (_dir, url, store) = fresh_store().await;
        assert!(matches!(
            store.ingest(paid("before")).await,
            Ok(IngestOutcome::Stored { .. })
        ));
        store.close().await;
        assert!(store.ingest(paid("after")).await.is_err());
        assert!(store.ping().await.is_err());
        let reopened = SqliteStore::open(&url, RetryPolicy::default())
            .await
            .unwrap();
        let orders: Vec<String> = reopened
            .list(&all_jobs())
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.order_id)
            .collect();
        assert_eq!(orders, ["before"]);
    }
}
