//! Step 0, for webhooks that carry only the order's id: the order from the platform's API
//! (BigCommerce), or for a refund whose webhook names its order only (Shopify's
//! `refunds/create`), the order as shopbip stored it before, else from the API.

use super::{Deps, StepError, Steps, permanent, save, step_done};
use crate::jobs::{Failure, Job, JobFilter, JobState};
use crate::order::Order;
use crate::platforms::api::{self, OrderFetchError};
use crate::stores::Store;

/// The order saved on the steps by an earlier attempt.
fn saved(steps: &Steps) -> Option<Order> {
    steps
        .order
        .as_ref()
        .and_then(|saved| serde_json::from_value::<Order>(saved.clone()).ok())
}

/// The order fetched from the platform's API, once: saved on the steps so a retry (of the
/// upload, say) does not fetch it again.
pub(super) async fn fetched(
    deps: &Deps,
    store: &Store,
    job: &Job,
    steps: &mut Steps,
    worker: &str,
) -> Result<Order, StepError> {
    if let Some(order) = saved(steps) {
        return Ok(order);
    }
    let access = store.api.as_ref().ok_or_else(|| {
        permanent(format!(
            "[{}] API access is not configured for this store",
            store.platform
        ))
    })?;
    let started = std::time::Instant::now();
    let fetched = api::fetch_order(&deps.api_client, access, &job.order_id).await;
    step_done(
        job,
        "order",
        started,
        if fetched.is_ok() { "ok" } else { "failed" },
    );
    let mut order = fetched.map_err(fetch_failure)?;
    store.complete_order(&mut order);
    steps.order = Some(serde_json::to_value(&order).map_err(|e| permanent(e.to_string()))?);
    save(deps, worker, job, steps).await?;
    Ok(order)
}

fn fetch_failure(e: OrderFetchError) -> StepError {
    match &e {
        OrderFetchError::Transient { retry_after, .. } => StepError(
            e.to_string(),
            Failure::Transient {
                retry_after: *retry_after,
            },
        ),
        OrderFetchError::Permanent { .. } => permanent(e.to_string()),
    }
}

/// The order a refund-only event (`Order::is_refund_only`) refunds, with its refund: the
/// order as an earlier event of it stored it (no call to the shop: the customer and the
/// lines do not change with a refund), else from the platform's API where the store has
/// access. Saved on the steps once, as a fetched order is (the console renders from it).
pub(super) async fn completed(
    deps: &Deps,
    store: &Store,
    job: &Job,
    steps: &mut Steps,
    worker: &str,
) -> Result<Order, StepError> {
    if let Some(order) = saved(steps) {
        return Ok(order);
    }
    let started = std::time::Instant::now();
    let found = match seen_before(deps, store, job).await? {
        Some(order) => Ok(order),
        None => match &store.api {
            Some(access) => api::fetch_order(&deps.api_client, access, &job.order_id)
                .await
                .map_err(fetch_failure),
            None => Err(permanent(format!(
                "the refund's webhook names order {} only (no customer, no lines), shopbip \
                 stored no earlier event of that order, and the store has no [{}] API access \
                 to read it: set [{}] admin_token (read_orders) or also subscribe the order's \
                 own webhooks (orders/create, orders/updated)",
                job.order_id, store.platform, store.platform
            ))),
        },
    };
    step_done(
        job,
        "order",
        started,
        if found.is_ok() { "ok" } else { "failed" },
    );
    let mut order = found?;
    // The platform's own reading of the same refund (the API's, in the shop's money) where it
    // gave one; else the webhook's.
    if order.refund.as_ref().map(|r| &r.id) != job.order.refund.as_ref().map(|r| &r.id) {
        order.refund = job.order.refund.clone();
    }
    store.complete_order(&mut order);
    steps.order = Some(serde_json::to_value(&order).map_err(|e| permanent(e.to_string()))?);
    save(deps, worker, job, steps).await?;
    Ok(order)
}

/// The store's jobs of `job`'s order, newest first (an order has a handful).
async fn order_jobs(deps: &Deps, store: &Store, job: &Job) -> Result<Vec<Job>, StepError> {
    Ok(deps
        .reads
        .list(&JobFilter {
            store_id: Some(store.id.to_string()),
            order_id: Some(job.order_id.clone()),
            limit: 50,
            ..JobFilter::default()
        })
        .await?)
}

/// The newest whole order an earlier job of the same store and order worked from.
async fn seen_before(deps: &Deps, store: &Store, job: &Job) -> Result<Option<Order>, StepError> {
    let jobs = order_jobs(deps, store, job).await?;
    Ok(jobs
        .into_iter()
        .flat_map(|j| {
            let worked_from = j
                .steps
                .get("order")
                .and_then(|o| serde_json::from_value::<Order>(o.clone()).ok());
            worked_from.into_iter().chain([j.order])
        })
        .find(|o| !o.is_refund_only()))
}

/// Why a refund the platform named needs no credit note of its own: the order's whole refund
/// already got one (a sent job of the same rule without a refund: a refund webhook without its
/// refunds, or one handled before refunds were told apart) after this refund was made. Without
/// this, an order refunded before an upgrade and edited after it would be credited twice.
pub(super) async fn credited_as_whole(
    deps: &Deps,
    store: &Store,
    job: &Job,
) -> Result<Option<String>, StepError> {
    let Some(refund) = &job.order.refund else {
        return Ok(None);
    };
    let made = refund
        .created_at
        .as_deref()
        .and_then(crate::clock::parse_datetime_ms);
    let jobs = order_jobs(deps, store, job).await?;
    Ok(jobs
        .iter()
        .find(|j| {
            j.id != job.id
                && j.kind == job.kind
                && j.state == JobState::Done
                && j.order.refund.is_none()
                && j.rule.key() == job.rule.key()
                && made.is_none_or(|m| j.created_at >= m)
        })
        .map(|whole| {
            format!(
                "refund {} is covered by the credit note of the whole order job {} sent",
                refund.id, whole.id
            )
        }))
}
