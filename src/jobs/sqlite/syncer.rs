//! The writer's other half: flushes the WAL to disk and only then answers the writes the
//! flushed commits hold.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;

use tokio::sync::mpsc;

use super::writer::{Changed, EventReply, UpdateReply, Write};
use crate::jobs::{IngestOutcome, StoreError};

/// What the writer and the syncer share about the disk: how many committed batches wait for
/// their flush, and whether the writer is holding a batch back until none does.
pub(super) struct Disk {
    pub(super) unsynced: AtomicUsize,
    pub(super) writer_waiting: AtomicBool,
    /// Wakes the writer; weak, so the writer still stops once every store handle is gone.
    pub(super) wake: mpsc::WeakSender<Write>,
}

impl Disk {
    /// Called by the syncer once `flushed` batches are answered (or failed).
    pub(super) fn flushed(&self, flushed: usize) {
        let left = self.unsynced.fetch_sub(flushed, Ordering::SeqCst) - flushed;
        if left == 0 && self.writer_waiting.swap(false, Ordering::SeqCst) {
            self.wake_writer();
        }
    }

    pub(super) fn wake_writer(&self) {
        if let Some(writes) = self.wake.upgrade() {
            // A full queue wakes the writer anyway.
            let _ = writes.try_send(Write::DiskFree);
        }
    }

    /// Called by the writer: whether no commit waits for a flush. The writer is marked as
    /// waiting first, so if one does the syncer wakes it when the last flush ends (checked in
    /// this order, a wake cannot be missed).
    pub(super) fn free(&self) -> bool {
        self.writer_waiting.store(true, Ordering::SeqCst);
        self.unsynced.load(Ordering::SeqCst) == 0
    }
}

/// Answers kept back until the writes they report are on disk.
#[derive(Default)]
pub(super) struct Acks {
    pub(super) events: Vec<(EventReply, Result<IngestOutcome, StoreError>)>,
    pub(super) updates: Vec<(UpdateReply, Result<Changed, StoreError>)>,
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
pub(super) fn syncer(
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
