-- What the stores overview and GET /admin/stores show of each store (issue 18); mirrors
-- migrations/sqlite/0006_store_counts.sql, with one difference. Replicas write jobs
-- concurrently, and a counter row updated by every transaction would serialise them on its
-- lock (and could deadlock a claim of many jobs against a release). So the triggers only
-- append to `store_count_deltas`, which nobody updates; `JobQueue::fold_counts` (the reaper's
-- tick, one replica at a time) moves the deltas into `store_counts`, and a read sums both.
CREATE TABLE store_counts (
    store_id TEXT   NOT NULL,
    counter  TEXT   NOT NULL, -- 'webhooks', or 'job:' and a job state
    n        BIGINT NOT NULL,
    last_at  BIGINT,          -- epoch ms of the last row that entered the counter
    PRIMARY KEY (store_id, counter)
);

CREATE TABLE store_count_deltas (
    store_id TEXT    NOT NULL,
    counter  TEXT    NOT NULL,
    d        INTEGER NOT NULL,
    at       BIGINT
);
-- Every row is deleted within seconds of its insert: vacuumed after every 10,000 dead rows
-- rather than after a fifth of the table, so a read of the deltas never wades through the
-- folded ones (2M unvacuumed rows made it 13 ms instead of 0.3).
ALTER TABLE store_count_deltas SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 10000);

CREATE FUNCTION shopbip_count_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO store_count_deltas (store_id, counter, d, at)
    VALUES (NEW.store_id, 'webhooks', 1, NEW.received_at);
    RETURN NULL;
END $$;

CREATE FUNCTION shopbip_count_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO store_count_deltas (store_id, counter, d, at)
        VALUES (NEW.store_id, 'job:' || NEW.state, 1, NEW.updated_at);
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO store_count_deltas (store_id, counter, d, at)
        VALUES (OLD.store_id, 'job:' || OLD.state, -1, NULL),
               (NEW.store_id, 'job:' || NEW.state, 1, NEW.updated_at);
    ELSE
        INSERT INTO store_count_deltas (store_id, counter, d, at)
        VALUES (OLD.store_id, 'job:' || OLD.state, -1, NULL);
    END IF;
    RETURN NULL;
END $$;

-- The triggers come before the backfill: creating them locks out writers until this
-- migration commits, so the backfill sees every row and every later row fires a trigger.
-- `ON CONFLICT DO NOTHING` inserts that add no row fire nothing.
CREATE TRIGGER events_count AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION shopbip_count_event();
CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION shopbip_count_job();
-- Leases renewed and steps saved do not set `state`: they fire nothing.
CREATE TRIGGER jobs_count_state AFTER UPDATE OF state ON jobs
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION shopbip_count_job();
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION shopbip_count_job();

INSERT INTO store_counts (store_id, counter, n, last_at)
SELECT store_id, 'webhooks', COUNT(*), MAX(received_at) FROM events GROUP BY store_id;
INSERT INTO store_counts (store_id, counter, n, last_at)
SELECT store_id, 'job:' || state, COUNT(*), MAX(updated_at) FROM jobs GROUP BY store_id, state;
