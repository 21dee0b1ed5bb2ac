//! Step 4: the invoice PDF uploaded to Buzzbip's media endpoint; its media id recorded before
//! the send, so a retry of the send does not upload again.

use super::{Deps, StepError, Steps, save, step_done};
use crate::buzzbip::BuzzbipClient;
use crate::jobs::Job;

pub(super) async fn upload(
    deps: &Deps,
    client: &BuzzbipClient,
    job: &Job,
    (filename, pdf): (String, Vec<u8>),
    steps: &mut Steps,
    worker: &str,
) -> Result<(), StepError> {
    let started = std::time::Instant::now();
    let media_id = client.upload_pdf(&filename, bytes::Bytes::from(pdf)).await;
    step_done(
        job,
        "upload",
        started,
        if media_id.is_ok() { "ok" } else { "failed" },
    );
    steps.media_id = Some(media_id?);
    save(deps, worker, job, steps).await
}
