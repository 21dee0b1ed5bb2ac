-- Issue 20: per store, the reconciliation sweep (src/jobs/sweeps.rs says what each column holds).
CREATE TABLE sweeps (
    store_id            TEXT    PRIMARY KEY,
    watermark           INTEGER,
    lease_owner         TEXT,
    lease_until         INTEGER,
    next_at             INTEGER NOT NULL DEFAULT 0,
    last_started_at     INTEGER,
    last_finished_at    INTEGER,
    last_error          TEXT,
    listed_total        INTEGER NOT NULL DEFAULT 0,
    recovered_total     INTEGER NOT NULL DEFAULT 0,
    subscription_ok     INTEGER,
    subscription_detail TEXT,
    subscription_at     INTEGER
) WITHOUT ROWID;
