-- Mirrors migrations/sqlite: integer epoch-ms times, JSON as TEXT.

CREATE TABLE events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id     TEXT   NOT NULL,
    platform     TEXT   NOT NULL,
    delivery_key TEXT   NOT NULL,
    topic        TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    order_id     TEXT   NOT NULL,
    order_json   TEXT   NOT NULL,
    received_at  BIGINT NOT NULL,
    UNIQUE (store_id, delivery_key)
);

CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     BIGINT NOT NULL REFERENCES events (id),
    store_id     TEXT   NOT NULL,
    order_id     TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    rule_key     TEXT   NOT NULL,
    rule_json    TEXT   NOT NULL,
    state        TEXT   NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at       BIGINT NOT NULL,
    locked_by    TEXT,
    locked_until BIGINT,
    last_error   TEXT,
    steps_json   TEXT   NOT NULL DEFAULT '{}',
    replays      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (store_id, order_id, kind, rule_key)
);

CREATE INDEX jobs_ready ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, locked_until);
CREATE INDEX jobs_store_order ON jobs (store_id, order_id);
