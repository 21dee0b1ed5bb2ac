-- Issue 21: numbering. A number belongs to a series — (store, kind, period): kind `invoice` or
-- `credit_note`, period the year with `invoice.reset = "yearly"`, '' with "never" — and a
-- document keeps the number it was first given whatever the period later is, so its key is
-- (store, kind, order_id) and the number is unique within its series only.
--
-- SQLite cannot change a table's keys in place: the table is rebuilt. Numbers allocated before
-- are invoices of the never-resetting series, so their stores continue where they were.
CREATE TABLE invoice_numbers_series (
    store_id   TEXT    NOT NULL,
    kind       TEXT    NOT NULL DEFAULT 'invoice',
    period     TEXT    NOT NULL DEFAULT '',
    order_id   TEXT    NOT NULL,
    number     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (store_id, kind, order_id),
    -- Also the index MAX(number) of a series is read from.
    UNIQUE (store_id, kind, period, number)
);
INSERT INTO invoice_numbers_series (store_id, kind, period, order_id, number, created_at)
    SELECT store_id, 'invoice', '', order_id, number, created_at FROM invoice_numbers;
DROP TABLE invoice_numbers;
ALTER TABLE invoice_numbers_series RENAME TO invoice_numbers;
