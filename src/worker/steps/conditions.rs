//! Step 2: whether this message may go out at all: a staging store's allow-list, the rule's
//! conditions on an order only known now (fetched from the platform's API), and the amounts the
//! message would show.

use crate::jobs::Job;
use crate::order::Order;
use crate::stores::placeholders;
use crate::stores::{Environment, InvoiceSource, NotifyRule, Store};

/// Why the job is skipped, if it is.
pub(super) fn skip_reason(store: &Store, job: &Job, order: &Order, to: &str) -> Option<String> {
    // Staging stores send only to their allow-list.
    if store.environment == Environment::Staging && !store.allow_phones.iter().any(|p| p == to) {
        return Some(format!(
            "staging store: {} is not in [test].allow_phones",
            crate::telemetry::mask_phone(&format!("+{to}"))
        ));
    }
    if !job.rule.matches(order) {
        return Some(format!(
            "the order is paid by {} ({}): this rule is only for payment = {:?}",
            order.payment.kind,
            order.payment.method.as_deref().unwrap_or("no method"),
            job.rule
                .payment
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
        ));
    }
    missing_for_message(store, &job.rule, order)
}

/// Why the message cannot go out with what the order carries: an amount it would show (in a
/// parameter, a button or the invoice) is not known. Never sent as " 0.00".
fn missing_for_message(store: &Store, rule: &NotifyRule, order: &Order) -> Option<String> {
    let shows_amounts = rule.attach_invoice && store.invoice.source == InvoiceSource::Generate
        || rule
            .body_params
            .iter()
            .any(|p| placeholders::uses_amounts(p))
        || rule
            .buttons
            .iter()
            .any(|b| placeholders::uses_amounts(&b.value));
    if !shows_amounts {
        return None;
    }
    if order.currency.trim().is_empty() {
        return Some(
            "the order names no currency and the store sets no default_currency: \
             its amounts cannot be written"
                .into(),
        );
    }
    if order.total_missing {
        return Some("the order carries no total and no line prices to work one out from".into());
    }
    None
}
