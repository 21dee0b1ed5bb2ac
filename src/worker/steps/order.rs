//! Step 0, for platforms whose webhooks carry only the order's id: the order from the
//! platform's API.

use super::{Deps, StepError, Steps, permanent, save, step_done};
use crate::jobs::{Failure, Job};
use crate::order::Order;
use crate::platforms::api::{self, OrderFetchError};
use crate::stores::Store;

/// The order fetched from the platform's API, once: saved on the steps so a retry (of the
/// upload, say) does not fetch it again.
pub(super) async fn fetched(
    deps: &Deps,
    store: &Store,
    job: &Job,
    steps: &mut Steps,
    worker: &str,
) -> Result<Order, StepError> {
    if let Some(saved) = &steps.order
        && let Ok(order) = serde_json::from_value::<Order>(saved.clone())
    {
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
    let order = fetched.map_err(|e| match &e {
        OrderFetchError::Transient { retry_after, .. } => StepError(
            e.to_string(),
            Failure::Transient {
                retry_after: *retry_after,
            },
        ),
        OrderFetchError::Permanent { .. } => permanent(e.to_string()),
    })?;
    let mut order = order;
    store.complete_order(&mut order);
    steps.order = Some(serde_json::to_value(&order).map_err(|e| permanent(e.to_string()))?);
    save(deps, worker, job, steps).await?;
    Ok(order)
}
