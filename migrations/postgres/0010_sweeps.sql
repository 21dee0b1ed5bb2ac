-- Issue 20; mirrors migrations/sqlite/0009_sweeps.sql.
CREATE TABLE sweeps (
    store_id            TEXT    PRIMARY KEY,
    watermark           BIGINT,
    lease_owner         TEXT,
    lease_until         BIGINT,
    next_at             BIGINT NOT NULL DEFAULT 0,
    last_started_at     BIGINT,
    last_finished_at    BIGINT,
    last_error          TEXT,
    listed_total        BIGINT NOT NULL DEFAULT 0,
    recovered_total     BIGINT NOT NULL DEFAULT 0,
    subscription_ok     BIGINT,
    subscription_detail TEXT,
    subscription_at     BIGINT
);
