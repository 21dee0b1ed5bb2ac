//! Step 6, only after a send that can never succeed: its document is not left on Buzzbip.

use super::{Deps, Steps};
use crate::buzzbip::BuzzbipClient;
use crate::jobs::Job;

pub(super) async fn unused_media(
    deps: &Deps,
    client: &BuzzbipClient,
    job: &Job,
    steps: &mut Steps,
    worker: &str,
) {
    let Some(media_id) = &steps.media_id else {
        return;
    };
    if let Err(del) = client.delete_media(media_id).await {
        tracing::warn!(job = job.id, error = %del, "could not delete the unused media");
    } else {
        steps.other.insert("media_deleted".into(), true.into());
        steps.media_id = None;
        // Best effort: the job is failing anyway, and a lost lease only loses this note.
        let _ = deps.jobs.save_steps(job.id, worker, &steps.to_json()).await;
    }
}
