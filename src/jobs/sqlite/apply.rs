//! What a writer batch runs: events made ready off the writer thread, their inserts, and the
//! workers' one-statement updates.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::writer::{Changed, Update};
use crate::clock::now_ms;
use crate::jobs::messages::SearchKeys;
use crate::jobs::sql::{INSERT_EVENT, INSERT_JOB, to_json};
use crate::jobs::{IngestOutcome, NewEvent, StoreError};

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
    search: SearchKeys,
}

impl Prepared {
    pub(super) fn new(event: NewEvent, max_attempts: u32) -> Result<Self, StoreError> {
        let rules = event
            .rules
            .iter()
            .map(|r| Ok((r.on.as_str(), r.job_key(&event.order), to_json(r)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(Self {
            order_json: to_json(&event.order)?,
            search: SearchKeys::of(&event.order),
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

/// Writes a batch in one transaction of its own (a write retried alone).
pub(super) fn write_batch(
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
pub(super) fn insert_events(
    conn: &Connection,
    events: &[Prepared],
    now: i64,
    outcomes: &mut Vec<IngestOutcome>,
) -> rusqlite::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut insert_event = conn.prepare_cached(INSERT_EVENT)?;
    let mut insert_job = conn.prepare_cached(INSERT_JOB)?;
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
                        now,
                        e.search.order_ref,
                        e.search.phone_rev
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

pub(super) fn run_updates(
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
