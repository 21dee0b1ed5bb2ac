-- The console's message list (issue 18); mirrors migrations/sqlite/0004_console_indexes.sql.
-- phone_rev compares in "C" order, so a digit prefix is an index range whatever the
-- database's collation.
ALTER TABLE jobs ADD COLUMN order_ref TEXT;
ALTER TABLE jobs ADD COLUMN phone_rev TEXT COLLATE "C";

UPDATE jobs j SET
    order_ref = nullif(lower(btrim(ltrim(btrim(CASE WHEN btrim(coalesce(o.name, '')) = ''
        THEN o.number ELSE o.name END), '#'))), ''),
    phone_rev = nullif(reverse(right(regexp_replace(coalesce(o.phone, ''), '[^0-9]', '', 'g'), 15)), '')
FROM (
    SELECT e.id, e.order_json::jsonb ->> 'name' AS name, e.order_json::jsonb ->> 'number' AS number,
        coalesce(nullif(btrim(e.order_json::jsonb -> 'billing' ->> 'phone'), ''),
            nullif(btrim(e.order_json::jsonb -> 'shipping' ->> 'phone'), ''),
            nullif(btrim(e.order_json::jsonb -> 'customer' ->> 'phone'), '')) AS phone
    FROM events e
) o
WHERE o.id = j.event_id;

CREATE INDEX jobs_store ON jobs (store_id, id);
CREATE INDEX jobs_store_state ON jobs (store_id, state, id);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_order_id ON jobs (order_id);
CREATE INDEX jobs_order_ref ON jobs (order_ref) WHERE order_ref IS NOT NULL;
CREATE INDEX jobs_phone_rev ON jobs (phone_rev) WHERE phone_rev IS NOT NULL;
