//! The operator's actions on one message: `POST /console/messages/{id}/replay` (a done, dead or
//! skipped job runs again) and `POST /console/messages/{id}/retry-now` (a queued job waiting
//! for its backoff is due now). The CSRF token was checked by the scope's middleware; here the
//! job's store must be visible (else 404, as for a job that does not exist) and the user an
//! operator (else 403). Each answers with a redirect back to the message and a note.

use actix_web::{HttpResponse, web};

use super::auth::Ctx;
use super::error::ConsoleError;
use super::message::visible_job;
use super::messages::redirect;
use crate::http::AppState;
use crate::jobs::ReplayOutcome;
use crate::jobs::messages::RetryNow;

/// `POST /console/messages/{id}/replay`.
pub async fn replay(
    ctx: Ctx,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let job = visible_job(&ctx, &state, &id).await?;
    ctx.operator()?;
    let outcome = state
        .console
        .messages
        .replay_in_scope(&ctx.user.stores, job.id)
        .await
        .map_err(|e| ctx.store_error(e))?;
    let note = match outcome {
        ReplayOutcome::Requeued => Some("replayed"),
        ReplayOutcome::NotFinished(_) => Some("not-finished"),
        ReplayOutcome::NotFound => None,
    };
    back_to_message(&ctx, job.id, "console: replay", note)
}

/// `POST /console/messages/{id}/retry-now`.
pub async fn retry_now(
    ctx: Ctx,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let job = visible_job(&ctx, &state, &id).await?;
    ctx.operator()?;
    let outcome = state
        .console
        .messages
        .retry_now(&ctx.user.stores, job.id)
        .await
        .map_err(|e| ctx.store_error(e))?;
    let note = match outcome {
        RetryNow::Scheduled => Some("retried"),
        RetryNow::AlreadyDue => Some("already-due"),
        RetryNow::NotQueued(_) => Some("not-queued"),
        RetryNow::NotFound => None,
    };
    back_to_message(&ctx, job.id, "console: retry now", note)
}

/// What an action did, logged, and the message page with its note; `None`: the job is gone
/// from the user's scope, a 404 like any other.
fn back_to_message(
    ctx: &Ctx,
    job: i64,
    action: &'static str,
    note: Option<&'static str>,
) -> Result<HttpResponse, ConsoleError> {
    let Some(note) = note else {
        return Err(ctx.not_found());
    };
    tracing::info!(user = %ctx.user.name, job, note, "{action}");
    Ok(redirect(&format!("/console/messages/{job}?note={note}")))
}
