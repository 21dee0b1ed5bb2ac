-- Issue 19: what became of a message after Buzzbip accepted it, the customers who opted out,
-- the events Buzzbip posts, and the note written back on the shop's order.
--
-- On the job, so each change is one statement (SQLite's writer commits single statements):
--   delivery_state    accepted | sent | delivered | read | failed | unknown (NULL: not sent)
--   delivery_at       when Buzzbip says that state was reached (else when shopbip learned it)
--   delivery_poll_at  the next delivery lookup; NULL: not polling (final, or given up)
--   delivery_polls    lookups made for the current send
--   delivery_json     {"raw", "reason", "history": [{state, raw, at, seen_at, reason, via}]}
--   writeback_at      the next write-back attempt; NULL: none due
--   writeback_json    {"state": "done"|"failed"|"pending", "attempts", "last_error", "done_at", "text"}
ALTER TABLE jobs ADD COLUMN delivery_state TEXT;
ALTER TABLE jobs ADD COLUMN delivery_at INTEGER;
ALTER TABLE jobs ADD COLUMN delivery_poll_at INTEGER;
ALTER TABLE jobs ADD COLUMN delivery_polls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN delivery_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN writeback_at INTEGER;
ALTER TABLE jobs ADD COLUMN writeback_json TEXT NOT NULL DEFAULT '{}';

CREATE INDEX jobs_delivery_poll ON jobs (delivery_poll_at) WHERE delivery_poll_at IS NOT NULL;
CREATE INDEX jobs_writeback ON jobs (writeback_at) WHERE writeback_at IS NOT NULL;

-- Per store, the numbers (E.164, `+` and digits) that answered an opt-out keyword or were
-- added by hand; a job for one of them is skipped.
CREATE TABLE optouts (
    store_id   TEXT    NOT NULL,
    phone      TEXT    NOT NULL,
    source     TEXT    NOT NULL, -- 'keyword' or 'manual'
    created_at INTEGER NOT NULL,
    PRIMARY KEY (store_id, phone)
) WITHOUT ROWID;

-- Events Buzzbip posted, verified, deduplicated on their id, processed after the answer.
CREATE TABLE buzzbip_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id     TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    lease_until  INTEGER,
    processed_at INTEGER,
    outcome      TEXT,
    UNIQUE (store_id, event_id)
);
CREATE INDEX buzzbip_events_pending ON buzzbip_events (id) WHERE processed_at IS NULL;
