-- Issue 21: numbering. A number belongs to a series — (store, kind, period): kind `invoice` or
-- `credit_note`, period the year with `invoice.reset = "yearly"`, '' with "never" — and a
-- document keeps the number it was first given whatever the period later is, so its key is
-- (store, kind, order_id) and the number is unique within its series only.
--
-- Numbers allocated before are invoices of the never-resetting series (the defaults), so their
-- stores continue where they were; the defaults also let a replica of the previous version,
-- still running during a rolling upgrade, go on numbering a store that never resets.
ALTER TABLE invoice_numbers
    ADD COLUMN kind   TEXT NOT NULL DEFAULT 'invoice',
    ADD COLUMN period TEXT NOT NULL DEFAULT '';
ALTER TABLE invoice_numbers DROP CONSTRAINT invoice_numbers_pkey;
ALTER TABLE invoice_numbers ADD PRIMARY KEY (store_id, kind, order_id);
ALTER TABLE invoice_numbers DROP CONSTRAINT invoice_numbers_store_id_number_key;
-- Also the index MAX(number) of a series is read from.
ALTER TABLE invoice_numbers ADD CONSTRAINT invoice_numbers_series_number_key
    UNIQUE (store_id, kind, period, number);
