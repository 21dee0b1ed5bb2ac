-- The console's message list (issue 18): newest first by store, by state, by both, and a search
-- by order id, the order's customer-facing name, or the last digits of the customer's phone.
--
-- Two search keys are filled at ingestion (src/jobs/messages/keys.rs says how); here they are
-- computed the same way from the stored order for the jobs already there:
--   order_ref: the order's name as the customer sees it (`#1001` -> `1001`), lower case;
--   phone_rev: the last 15 digits of the order's first phone (billing, shipping, customer),
--              last digit first, so a suffix search is an index range on a prefix.
ALTER TABLE jobs ADD COLUMN order_ref TEXT;
ALTER TABLE jobs ADD COLUMN phone_rev TEXT;

UPDATE jobs SET order_ref = k.order_ref, phone_rev = nullif(
        substr(k.d, -1, 1) || substr(k.d, -2, 1) || substr(k.d, -3, 1) || substr(k.d, -4, 1) ||
        substr(k.d, -5, 1) || substr(k.d, -6, 1) || substr(k.d, -7, 1) || substr(k.d, -8, 1) ||
        substr(k.d, -9, 1) || substr(k.d, -10, 1) || substr(k.d, -11, 1) || substr(k.d, -12, 1) ||
        substr(k.d, -13, 1) || substr(k.d, -14, 1) || substr(k.d, -15, 1), '')
FROM (
    SELECT o.id,
        nullif(lower(trim(ltrim(trim(CASE WHEN trim(coalesce(o.name, '')) = '' THEN o.number
            ELSE o.name END), '#'))), '') AS order_ref,
        coalesce(replace(replace(replace(replace(replace(replace(replace(
            o.phone, ' ', ''), '-', ''), '+', ''), '(', ''), ')', ''), '.', ''), '/', ''), '') AS d
    FROM (
        SELECT e.id, json_extract(e.order_json, '$.name') AS name,
            json_extract(e.order_json, '$.number') AS number,
            coalesce(nullif(trim(json_extract(e.order_json, '$.billing.phone')), ''),
                nullif(trim(json_extract(e.order_json, '$.shipping.phone')), ''),
                nullif(trim(json_extract(e.order_json, '$.customer.phone')), '')) AS phone
        FROM events e
    ) o
) k
WHERE k.id = jobs.event_id;

-- SQLite ends every index entry with the rowid (`id`), so (store_id) is ordered by
-- (store_id, id): a page of one store is a range read backwards from the cursor.
CREATE INDEX jobs_store ON jobs (store_id);
CREATE INDEX jobs_store_state ON jobs (store_id, state);
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_order_id ON jobs (order_id);
CREATE INDEX jobs_order_ref ON jobs (order_ref) WHERE order_ref IS NOT NULL;
CREATE INDEX jobs_phone_rev ON jobs (phone_rev) WHERE phone_rev IS NOT NULL;
