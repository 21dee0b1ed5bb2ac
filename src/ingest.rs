//! What a verified, parsed order event becomes before it is stored, the same whichever way it
//! came: a webhook (`http::webhooks`) or a reconciliation sweep (`reconcile`). One mapping, one
//! set of checks, one dedupe (the job store's: one job per store, order, event and rule).

use serde_json::{Value, json};

use crate::jobs::NewEvent;
use crate::platforms::CanonicalEvent;
use crate::stores::Store;

/// What an event is for the job store.
#[derive(Debug)]
pub enum Prepared {
    /// To store: at least one rule matched.
    Store(Box<NewEvent>),
    /// Nothing a rule sends for: the answer's body says why; nothing is stored.
    Ignored(Value),
}

/// Checks `event`'s amounts, completes its order from the store's defaults (currency, an
/// invoice number another plugin wrote into `body`), and keeps the rules it matches. Err: the
/// order's amounts do not add up (the reason, for a 400).
pub fn prepare(
    store: &Store,
    mut event: CanonicalEvent,
    body: Option<&[u8]>,
) -> Result<Prepared, String> {
    event.order.check_amounts()?;
    store.complete_order(&mut event.order);
    let meta_keys = &store.invoice.number_meta_keys;
    if !meta_keys.is_empty()
        && let Some(body) = body
        && let Some(number) = store.platform.adapter().invoice_number(body, meta_keys)
    {
        event.order.invoice_number = Some(number);
    }
    let rules = store.rules_matching(&event.kinds, &event.order);
    if rules.is_empty() {
        let events: Vec<&str> = event.kinds.iter().map(|k| k.as_str()).collect();
        return Ok(Prepared::Ignored(json!({
            "status": "ignored",
            "event": events.join(","),
            "reason": if store.rules.iter().any(|r| event.kinds.contains(&r.on)) {
                "no [[notify]] rule for this event and this order's payment"
            } else {
                "no [[notify]] rule for this event"
            },
        })));
    }
    Ok(Prepared::Store(Box::new(NewEvent {
        store_id: store.id.to_string(),
        platform: store.platform.to_string(),
        kind: event.kind(),
        delivery_key: event.delivery_key,
        topic: event.topic,
        order: event.order,
        rules,
    })))
}
