-- Issue 19; mirrors migrations/sqlite/0007_delivery_loop.sql (which says what each column holds).
ALTER TABLE jobs ADD COLUMN delivery_state TEXT;
ALTER TABLE jobs ADD COLUMN delivery_at BIGINT;
ALTER TABLE jobs ADD COLUMN delivery_poll_at BIGINT;
ALTER TABLE jobs ADD COLUMN delivery_polls BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN delivery_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN writeback_at BIGINT;
ALTER TABLE jobs ADD COLUMN writeback_json TEXT NOT NULL DEFAULT '{}';

CREATE INDEX jobs_delivery_poll ON jobs (delivery_poll_at) WHERE delivery_poll_at IS NOT NULL;
CREATE INDEX jobs_writeback ON jobs (writeback_at) WHERE writeback_at IS NOT NULL;

CREATE TABLE optouts (
    store_id   TEXT   NOT NULL,
    phone      TEXT   NOT NULL,
    source     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, phone)
);

CREATE TABLE buzzbip_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id     TEXT   NOT NULL,
    event_id     TEXT   NOT NULL,
    type         TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    received_at  BIGINT NOT NULL,
    lease_until  BIGINT,
    processed_at BIGINT,
    outcome      TEXT,
    UNIQUE (store_id, event_id)
);
CREATE INDEX buzzbip_events_pending ON buzzbip_events (id) WHERE processed_at IS NULL;
