CREATE TABLE invoice_numbers (
    store_id   TEXT   NOT NULL,
    order_id   TEXT   NOT NULL,
    number     BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (store_id, order_id),
    UNIQUE (store_id, number)
);
