//! The sweep's listing for Shopware 6 (issue 20): `POST /api/search/order` with the
//! integration's bearer token, each order entity wrapped in the webhook envelope of the event
//! its state stands for and parsed by the webhook's own code. See `platforms::reconcile`.
//!
//! Shopware leaves `updatedAt` null on an order never written since it was placed, and a
//! range filter on `updatedAt` never matches null: such orders (a placed order whose webhook
//! was lost is one) are listed first, by `createdAt`, then the updated ones by `updatedAt`.
//! The cursor says which listing and page (`a:2:…`, `b:1:…`) and carries the newest creation
//! time of the first: the watermark does not move during the first listing (the second may
//! hold older changes), then moves with each page of the second, to the first's newest on
//! the last page.

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use url::Url;

use super::super::reconcile::{ApiError, Found, Page};
use super::super::writeback::{
    Bounded, Fixes, MAX_ANSWER_BYTES, classify, endpoint, send_raw_bounded,
};
use super::super::{Headers, Parsed, WebhookPlatform, unix_rfc3339};
use super::Shopware;
use super::api::{forget, token};
use super::profile::Api;
use crate::clock::parse_datetime_ms;

const FIXES: Fixes = Fixes {
    platform: "Shopware",
    auth: "Shopware refused the order search: check shopware.client_id / client_secret and that the integration may read orders, their customers, addresses, line items, transactions and deliveries (administrator, or a role with those read permissions)",
    base_key: "shopware.api_base_url (or base_uri)",
    reset_ms_header: None,
};

/// Orders per page: with [`includes`] an order is a few KB, but a line's `payload` comes
/// whole, so a page of long orders can pass the answer bound (1 MiB): the page is then asked
/// again half as long ([`Cursor::halved`]), down to one order. A power of two, so each half
/// starts on a page boundary.
pub const PER_PAGE: u64 = 64;

/// Where a listing is: which of the two, its page, and the newest creation time the first
/// listed (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Still listing the never-updated orders.
    pub unchanged: bool,
    pub page: u64,
    pub newest_created: Option<i64>,
    /// Orders per page: [`PER_PAGE`], less once a page was too big.
    pub limit: u64,
}

impl Cursor {
    const FIRST: Cursor = Cursor {
        unchanged: true,
        page: 1,
        newest_created: None,
        limit: PER_PAGE,
    };

    pub fn parse(cursor: Option<&str>) -> Result<Cursor, ApiError> {
        let Some(text) = cursor else {
            return Ok(Cursor::FIRST);
        };
        let bad = || ApiError::Permanent(format!("Shopware: {text:?} is not a listing cursor"));
        let mut parts = text.split(':');
        let unchanged = match parts.next() {
            Some("a") => true,
            Some("b") => false,
            _ => return Err(bad()),
        };
        let page = parts
            .next()
            .and_then(|p| p.parse::<u64>().ok())
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(bad)?;
        let newest_created = match parts.next() {
            Some("") | None => None,
            Some(ms) => Some(ms.parse::<i64>().map_err(|_| bad())?),
        };
        let limit = match parts.next() {
            None => PER_PAGE,
            Some(l) => l
                .parse::<u64>()
                .ok()
                .filter(|l| (1..=PER_PAGE).contains(l) && l.is_power_of_two())
                .ok_or_else(bad)?,
        };
        Ok(Cursor {
            unchanged,
            page,
            newest_created,
            limit,
        })
    }

    /// The same place with pages half as long; `None` at one order a page.
    pub fn halved(&self) -> Option<Cursor> {
        let limit = self.limit / 2;
        (limit >= 1).then(|| Cursor {
            page: (self.page - 1) * 2 + 1,
            limit,
            ..*self
        })
    }

    pub fn text(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            if self.unchanged { "a" } else { "b" },
            self.page,
            self.newest_created
                .map(|m| m.to_string())
                .unwrap_or_default(),
            self.limit
        )
    }
}

/// The page `cursor` of the orders changed at or after `since` (Unix ms).
pub async fn list_changed(
    client: &reqwest::Client,
    api: &Api,
    since: i64,
    cursor: Option<&str>,
) -> Result<Page, ApiError> {
    let mut at = Cursor::parse(cursor)?;
    let url = endpoint(&api.base_url, &["api", "search", "order"], &FIXES)?;
    let answer = loop {
        match search(client, api, &url, &criteria(since, &at)).await {
            Err(Bounded::TooLarge { reason }) => match at.halved() {
                Some(half) => at = half,
                None => {
                    return Err(ApiError::Permanent(format!(
                        "{reason}: one order alone is too big to list"
                    )));
                }
            },
            other => break other?,
        }
    };
    let Some(orders) = answer["data"].as_array() else {
        return Err(ApiError::Permanent(
            "Shopware: the order search answered without data; check shopware.api_base_url (or base_uri)".into(),
        ));
    };
    let mut page = Page::default();
    let mut newest_created = at.newest_created;
    for entity in orders {
        let changed_at = changed_at(entity);
        if at.unchanged {
            newest_created = newest_created.max(changed_at);
        } else {
            page.newest_change = page.newest_change.max(changed_at);
        }
        take(entity, changed_at, since, &mut page);
    }
    let total = answer["total"].as_u64().unwrap_or(0);
    let more = !orders.is_empty() && at.page * at.limit < total;
    page.next = match (more, at.unchanged) {
        (true, _) => Some(Cursor {
            page: at.page + 1,
            newest_created,
            ..at
        }),
        (false, true) => Some(Cursor {
            unchanged: false,
            page: 1,
            newest_created,
            limit: at.limit,
        }),
        (false, false) => None,
    }
    .map(|c| c.text());
    if page.next.is_none() {
        page.newest_change = page.newest_change.max(newest_created);
    }
    Ok(page)
}

/// The search body: one of the two listings (see the module), oldest first, with the
/// associations the webhook's order entity carries and the adapter reads.
pub fn criteria(since: i64, at: &Cursor) -> Value {
    let since = storage_time(since);
    let (filter, sort_field) = if at.unchanged {
        (
            json!([
                { "type": "equals", "field": "updatedAt", "value": null },
                { "type": "range", "field": "createdAt", "parameters": { "gte": since } },
            ]),
            "createdAt",
        )
    } else {
        (
            json!([{ "type": "range", "field": "updatedAt", "parameters": { "gte": since } }]),
            "updatedAt",
        )
    };
    let place = json!({ "associations": { "country": {}, "countryState": {} } });
    json!({
        "page": at.page,
        "limit": at.limit,
        "filter": filter,
        "sort": [{ "field": sort_field, "order": "ASC" }, { "field": "id", "order": "ASC" }],
        "total-count-mode": 1,
        "includes": includes(),
        "associations": {
            "stateMachineState": {},
            "orderCustomer": {},
            "currency": {},
            "language": { "associations": { "locale": {} } },
            "billingAddress": place.clone(),
            "addresses": place.clone(),
            "lineItems": {},
            // The adapter takes the last transaction not cancelled or failed: listed in the
            // order they were made, as a webhook's are.
            "transactions": {
                "sort": [{ "field": "createdAt", "order": "ASC" }],
                "associations": { "stateMachineState": {}, "paymentMethod": {} },
            },
            "deliveries": {
                "associations": { "stateMachineState": {}, "shippingOrderAddress": place },
            },
        },
    })
}

/// Only the fields the adapter reads (`payload.rs`), by entity: a serialised order with its
/// associations is some 25 KB, and a page must stay under the answer bound (1 MiB). Objects
/// of kinds not named here (the price, its taxes, a line's payload) come whole.
fn includes() -> Value {
    let address = json!([
        "id",
        "firstName",
        "lastName",
        "company",
        "street",
        "additionalAddressLine1",
        "city",
        "zipcode",
        "phoneNumber",
        "countryState",
        "country"
    ]);
    json!({
        "order": [
            "id", "orderNumber", "deepLinkCode", "orderDateTime", "createdAt", "updatedAt",
            "amountTotal", "amountNet", "positionPrice", "shippingTotal", "taxStatus", "price",
            "billingAddressId", "currency", "stateMachineState", "orderCustomer",
            "billingAddress", "addresses", "deliveries", "lineItems", "transactions", "language"
        ],
        "order_customer": ["firstName", "lastName", "email"],
        "order_address": address,
        "country": ["iso"],
        "country_state": ["shortCode"],
        "currency": ["isoCode"],
        "language": ["locale", "translationCode"],
        "locale": ["code"],
        "order_line_item": ["type", "label", "quantity", "unitPrice", "totalPrice", "payload"],
        "order_transaction": ["createdAt", "stateMachineState", "paymentMethod"],
        "state_machine_state": ["technicalName"],
        "payment_method": ["handlerIdentifier", "distinguishableName", "name", "technicalName"],
        "order_delivery": ["shippingOrderAddress", "stateMachineState"],
    })
}

/// `2026-11-25 10:00:00.000`: the form Shopware stores its times in (UTC), which MySQL
/// compares with `updated_at` without reading a `T` or a `Z`.
pub fn storage_time(ms: i64) -> String {
    let text = unix_rfc3339(ms.div_euclid(1000));
    format!(
        "{}.{:03}",
        text.trim_end_matches('Z').replace('T', " "),
        ms.rem_euclid(1000)
    )
}

/// `updatedAt`, or `createdAt` on an order never updated.
fn changed_at(entity: &Value) -> Option<i64> {
    let time = |k: &str| entity[k].as_str().and_then(parse_datetime_ms);
    time("updatedAt").or_else(|| time("createdAt"))
}

/// Adds one order entity to `page`: found, or skipped with why.
fn take(entity: &Value, changed_at: Option<i64>, since: i64, page: &mut Page) {
    let id = entity["id"].as_str().unwrap_or("?").to_owned();
    let Some(changed_at) = changed_at else {
        page.skipped
            .push((id, "no updatedAt or createdAt in the listing".into()));
        return;
    };
    let Some(event) = event_name(entity, since) else {
        page.skipped.push((
            id,
            "an open, unpaid order placed before the window: its state is no event".into(),
        ));
        return;
    };
    let body = envelope(entity, event, changed_at);
    match Shopware.parse(&Headers::default(), &body) {
        Ok(Parsed::Event(event)) => page.found.push(Found {
            event: *event,
            body: Some(body),
            changed_at,
        }),
        Ok(Parsed::Ignored { reason, .. }) => page.skipped.push((id, reason)),
        Err(e) => page.skipped.push((id, e.to_string())),
    }
}

/// The webhook body of `event` carrying `entity`, as Shopware sends it.
fn envelope(entity: &Value, event: &str, changed_at: i64) -> Vec<u8> {
    let id = entity["id"].as_str().unwrap_or_default();
    serde_json::to_vec(&json!({
        "data": { "event": event, "payload": { "order": entity } },
        "source": { "eventId": format!("reconcile-{id}-{changed_at}") },
        "timestamp": changed_at.div_euclid(1000),
    }))
    .unwrap_or_default()
}

/// The webhook event the order's state stands for: cancelled, refunded or shipped as it is
/// now; an order placed since the window's start is `checkout.order.placed` (with
/// `order.paid` when already paid, as that webhook gives), so a lost placement is recovered
/// even unpaid; an older paid one is its payment. `None`: an open, unpaid order placed
/// before the window.
pub fn event_name(entity: &Value, since: i64) -> Option<&'static str> {
    let payment = transaction_state(entity);
    if state(entity) == "cancelled" {
        return Some("state_enter.order.state.cancelled");
    }
    if payment == "refunded" {
        return Some("state_enter.order_transaction.state.refunded");
    }
    let deliveries = entity["deliveries"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if deliveries.iter().any(|d| state(d) == "shipped") {
        return Some("state_enter.order_delivery.state.shipped");
    }
    let placed = ["orderDateTime", "createdAt"]
        .iter()
        .find_map(|k| entity[*k].as_str().and_then(parse_datetime_ms));
    if placed.is_some_and(|p| p >= since) {
        return Some("checkout.order.placed");
    }
    (payment == "paid").then_some("state_enter.order_transaction.state.paid")
}

/// An entity's `stateMachineState.technicalName` (`open`, `paid`, `shipped`, …).
fn state(v: &Value) -> &str {
    v["stateMachineState"]["technicalName"]
        .as_str()
        .unwrap_or("")
}

/// The state of the transaction that counts, chosen as the adapter's `payment` chooses: the
/// last not cancelled or failed, else the last.
fn transaction_state(entity: &Value) -> &str {
    let list = entity["transactions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    list.iter()
        .rev()
        .find(|t| !matches!(state(t), "cancelled" | "failed"))
        .or_else(|| list.last())
        .map(state)
        .unwrap_or("")
}

/// One search call with the integration's token; a token refused once is renewed once.
async fn search(
    client: &reqwest::Client,
    api: &Api,
    url: &Url,
    body: &Value,
) -> Result<Value, Bounded> {
    let mut retried = false;
    loop {
        let token = token(client, api).await?;
        let answer = send_raw_bounded(
            client
                .post(url.clone())
                .bearer_auth(token.expose_secret())
                // Else the Admin API answers in JSON:API, entities under `attributes`.
                .header(reqwest::header::ACCEPT, "application/json")
                .json(body),
            url,
            &FIXES,
            MAX_ANSWER_BYTES,
        )
        .await?;
        if answer.status == reqwest::StatusCode::UNAUTHORIZED && !retried {
            retried = true;
            forget(api, &token).await;
            continue;
        }
        return Ok(classify(answer, url, &FIXES)?.json(&FIXES, url)?);
    }
}

#[cfg(test)]
mod tests;
