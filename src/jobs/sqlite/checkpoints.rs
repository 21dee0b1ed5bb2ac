//! Copying the WAL back into the database file, off the writer's path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

/// WAL frames (4 KiB pages) beyond which the checkpointer restarts the log. Under continuous
/// writes a PASSIVE checkpoint never leaves the log fully copied at the instant a write begins,
/// so SQLite would never rewind it: the log would grow for as long as webhooks keep coming.
const WAL_FRAMES_LIMIT: i64 = 4_096;

/// Copies the WAL back into the database file off the commit path: with automatic checkpoints
/// the commit that crossed 1,000 pages paid for the copy and its fsync while its webhooks waited.
pub(super) async fn checkpoints(
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
