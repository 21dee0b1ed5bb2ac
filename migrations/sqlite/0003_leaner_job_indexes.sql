-- Every new job used to add an entry to five indexes. The (store_id, order_id) lookups are
-- served by the UNIQUE (store_id, order_id, kind, rule_key) index's prefix, and the reaper only
-- ever looks at running jobs, so queued and finished jobs need no lease entry at all.
DROP INDEX jobs_store_order;
DROP INDEX jobs_lease;
CREATE INDEX jobs_lease ON jobs (locked_until) WHERE state = 'running';
