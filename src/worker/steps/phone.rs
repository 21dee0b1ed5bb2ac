//! Step 1: the recipient, normalised from the order's phone and the store's default country.

use super::{Steps, step_done};
use crate::jobs::Job;
use crate::order::Order;
use crate::stores::Store;

/// The recipient as `(to, country_code)`, or why the message is skipped (no usable phone).
pub(super) fn recipient(
    job: &Job,
    store: &Store,
    order: &Order,
    steps: &mut Steps,
) -> Result<(String, String), String> {
    if let (Some(to), Some(cc)) = (&steps.to, &steps.country_code) {
        return Ok((to.clone(), cc.clone()));
    }
    let started = std::time::Instant::now();
    match crate::phone::recipient(order, &store.default_country) {
        Ok(phone) => {
            // Saved with the next step's write: recomputing it after a crash gives the
            // same number, so a write of its own would only slow every job down.
            steps.to = Some(phone.to().to_owned());
            steps.country_code = Some(phone.country_code().to_owned());
            step_done(job, "phone", started, "ok");
            Ok((phone.to().to_owned(), phone.country_code().to_owned()))
        }
        Err(reason) => {
            step_done(job, "phone", started, "skipped");
            Err(reason)
        }
    }
}
