-- Portable schema: integer epoch-ms times, JSON as TEXT, so migrations/postgres can mirror it.

-- Every verified webhook we stored, deduplicated by delivery.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id     TEXT    NOT NULL,
    platform     TEXT    NOT NULL,
    delivery_key TEXT    NOT NULL,
    topic        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    order_id     TEXT    NOT NULL,
    order_json   TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    UNIQUE (store_id, delivery_key)
);

-- One job per (store, order, canonical event, rule), ever: replays reuse the row.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     INTEGER NOT NULL REFERENCES events (id),
    store_id     TEXT    NOT NULL,
    order_id     TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    rule_key     TEXT    NOT NULL,
    rule_json    TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    steps_json   TEXT    NOT NULL DEFAULT '{}',
    replays      INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (store_id, order_id, kind, rule_key)
);

CREATE INDEX jobs_ready ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, locked_until);
CREATE INDEX jobs_store_order ON jobs (store_id, order_id);
