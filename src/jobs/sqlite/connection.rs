//! The writer's own connection: how it is opened, replaced after a failure, and how it
//! rewinds the WAL between batches.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::jobs::StoreError;

/// The writer's connection. `synchronous=NORMAL`: its commits skip SQLite's fsync, and the
/// syncer makes them durable before anyone is answered (see `syncer`).
pub(super) fn connect(db: &Path) -> Result<Connection, StoreError> {
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

/// Replaces the writer's connection with a fresh one; failing that, makes sure the old one is
/// out of any transaction. `false`: the writer cannot go on.
pub(super) fn reopen(conn: &mut Connection, db: &Path) -> bool {
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
pub(super) fn rewind_wal(conn: &Connection) {
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
