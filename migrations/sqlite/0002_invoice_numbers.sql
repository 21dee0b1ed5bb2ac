-- Invoice numbers shopbip allocates (when the platform gives none): once per order, so a retry
-- or replay renders the same number; a gapless sequence per store.
CREATE TABLE invoice_numbers (
    store_id   TEXT    NOT NULL,
    order_id   TEXT    NOT NULL,
    number     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (store_id, order_id),
    UNIQUE (store_id, number)
);
