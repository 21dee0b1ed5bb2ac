//! The Admin GraphQL queries the sweep and the worker's order fetch send, and what each may
//! ask: Shopify refuses a query whose requested cost is over 1000 points (about 1 an object,
//! 2 a connection plus what its `first` asks).

/// Orders per page, lines and refunds per order. A line costs about 3 (the line, its price
/// set, its amount), a refund named by id 1, the order's own objects about 20. With refunds
/// listed (10 an order), 25 lines would cost 10 × 105 = 1050: 20 lines keep the page near 900;
/// an order with more lines has the rest fetched on its own (`read::whole`).
pub const ORDERS_PER_PAGE: usize = 10;
const LINES_PER_ORDER: usize = 20;
/// Refunds named per listed order. The newest is the one an event is about, and Shopify does
/// not say how many there are: an order listing this many has them all read on its own.
pub(super) const LISTED_REFUNDS: usize = 10;
const _: () = assert!(ORDERS_PER_PAGE * (LINES_PER_ORDER * 3 + 20 + LISTED_REFUNDS) < 1000);
/// Refunds read for an order that listed [`LISTED_REFUNDS`]; one with this many is skipped
/// (its newest could be past them).
pub(super) const ALL_REFUNDS: usize = 100;
/// A refund's lines a query asks (each about 9: the line, two money sets, the order's line,
/// its tax line), its transactions (3 each) and shipping lines (5 each). Kept near a third of
/// the budget: Shopify takes a query's requested cost before running it (giving back what it
/// did not use), and each listed order with refunds has its newest read so, between pages.
pub(super) const REFUND_LINES: usize = 25;
pub(super) const REFUND_TRANSACTIONS: usize = 10;
pub(super) const REFUND_SHIPPING: usize = 10;
const _: () = assert!(REFUND_LINES * 9 + REFUND_TRANSACTIONS * 3 + REFUND_SHIPPING * 5 + 20 < 350);

const ADDRESS: &str = "name firstName lastName company address1 address2 city provinceCode province zip countryCodeV2 phone";
const MONEY: &str = "shopMoney { amount currencyCode }";
const LINE: &str = "name title sku quantity originalUnitPriceSet { shopMoney { amount } }";
/// A refund as the listing names it: enough to tell the newest.
const REFUND_ID: &str = "id legacyResourceId createdAt";
const REFUND_LINE: &str = "quantity subtotalSet { shopMoney { amount currencyCode } } \
    totalTaxSet { shopMoney { amount } } \
    lineItem { name title sku taxLines { title rate priceSet { shopMoney { amount } } } }";

/// An order node's fields: what `convert::rest_order` reads, for the listing and the fetch.
fn order_fields() -> String {
    format!(
        "id legacyResourceId name email phone createdAt updatedAt processedAt cancelledAt \
         displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode customerLocale \
         taxesIncluded paymentGatewayNames \
         customer {{ firstName lastName email phone }} \
         billingAddress {{ {ADDRESS} }} shippingAddress {{ {ADDRESS} }} \
         subtotalPriceSet {{ {MONEY} }} totalPriceSet {{ {MONEY} }} totalDiscountsSet {{ {MONEY} }} \
         totalTaxSet {{ {MONEY} }} totalShippingPriceSet {{ {MONEY} }} \
         taxLines {{ title rate priceSet {{ {MONEY} }} }} \
         lineItems(first: {LINES_PER_ORDER}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE} }} }} \
         refunds(first: {LISTED_REFUNDS}) {{ {REFUND_ID} }}"
    )
}

pub(super) fn orders_query() -> String {
    format!(
        "query($cursor: String, $query: String) {{ orders(first: {ORDERS_PER_PAGE}, after: $cursor, sortKey: UPDATED_AT, query: $query) {{ \
         pageInfo {{ hasNextPage endCursor }} nodes {{ {} }} }} }}",
        order_fields()
    )
}

/// One order, as the listing gives each.
pub(super) fn order_query() -> String {
    format!(
        "query($id: ID!) {{ order(id: $id) {{ {} }} }}",
        order_fields()
    )
}

pub(super) fn lines_query() -> String {
    format!(
        "query($id: ID!, $after: String) {{ order(id: $id) {{ lineItems(first: 100, after: $after) {{ \
         pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE} }} }} }} }}"
    )
}

/// Every refund of an order, named.
pub(super) fn refunds_query() -> String {
    format!(
        "query($id: ID!) {{ order(id: $id) {{ refunds(first: {ALL_REFUNDS}) {{ {REFUND_ID} }} }} }}"
    )
}

/// One refund whole: its lines, its money and the shipping it gives back.
pub(super) fn refund_query() -> String {
    format!(
        "query($id: ID!) {{ refund(id: $id) {{ {REFUND_ID} \
         refundLineItems(first: {REFUND_LINES}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {REFUND_LINE} }} }} \
         transactions(first: {REFUND_TRANSACTIONS}) {{ pageInfo {{ hasNextPage }} nodes {{ kind status amountSet {{ {MONEY} }} }} }} \
         refundShippingLines(first: {REFUND_SHIPPING}) {{ pageInfo {{ hasNextPage }} nodes {{ \
         subtotalAmountSet {{ shopMoney {{ amount }} }} taxAmountSet {{ shopMoney {{ amount }} }} }} }} }} }}"
    )
}

/// A refund's lines after a cursor.
pub(super) fn refund_lines_query() -> String {
    format!(
        "query($id: ID!, $after: String) {{ refund(id: $id) {{ refundLineItems(first: {REFUND_LINES}, after: $after) {{ \
         pageInfo {{ hasNextPage endCursor }} nodes {{ {REFUND_LINE} }} }} }} }}"
    )
}
