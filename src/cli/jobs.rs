//! `shopbip jobs list|show|replay`: the admin API's view, straight from the database.

use std::io::Write;

use super::JobsAction;
use crate::http::admin::view;
use crate::jobs::{JobFilter, JobQueue, JobReads, JobState, ReplayOutcome};
use crate::settings::Settings;

pub async fn command(settings: &Settings, action: JobsAction) -> anyhow::Result<()> {
    let store = crate::jobs::open(&settings.database.url, settings.worker.retry_policy()).await?;
    let mut out = std::io::stdout().lock();
    match action {
        JobsAction::List {
            store: store_id,
            state,
            order,
            limit,
            before,
        } => {
            let filter = JobFilter {
                store_id,
                state: state.as_deref().map(parse_state).transpose()?,
                order_id: order,
                before_id: before,
                limit,
            };
            list(store.as_ref(), &filter, &mut out).await
        }
        JobsAction::Show { id } => show(store.as_ref(), id, &mut out).await,
        JobsAction::Replay { id } => replay(store.as_ref(), id, &mut out).await,
    }
}

async fn list(
    store: &dyn JobReads,
    filter: &JobFilter,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let jobs = store.list(filter).await?;
    writeln!(
        out,
        "{:<8} {:<20} {:<12} {:<16} {:<9} {:<8} {:<8} LAST ERROR",
        "ID", "STORE", "ORDER", "EVENT", "TEMPLATE", "STATE", "ATTEMPTS"
    )?;
    for j in &jobs {
        let s = view::summary(j);
        let error: String = s.last_error.unwrap_or_default().chars().take(80).collect();
        writeln!(
            out,
            "{:<8} {:<20} {:<12} {:<16} {:<9} {:<8} {:<8} {}",
            s.id, s.store_id, s.order_id, s.event, s.template_id, s.state, s.attempts, error
        )?;
    }
    if jobs.len() as u32 == filter.limit
        && let Some(last) = jobs.last()
    {
        writeln!(out, "(more: --before {})", last.id)?;
    }
    Ok(())
}

async fn show(store: &dyn JobReads, id: i64, out: &mut impl Write) -> anyhow::Result<()> {
    let job = store
        .get(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no job {id}"))?;
    let event = store.event(job.event_id).await?;
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&view::detail(&job, event))?
    )?;
    Ok(())
}

async fn replay(store: &dyn JobQueue, id: i64, out: &mut impl Write) -> anyhow::Result<()> {
    match store.replay(id).await? {
        ReplayOutcome::Requeued => {
            writeln!(
                out,
                "job {id} requeued: its order will be sent again by a running `shopbip serve`"
            )?;
            Ok(())
        }
        ReplayOutcome::NotFound => anyhow::bail!("no job {id}"),
        ReplayOutcome::NotFinished(s) => {
            anyhow::bail!("job {id} is {s}: only done, dead or skipped jobs can be replayed")
        }
    }
}

fn parse_state(s: &str) -> anyhow::Result<JobState> {
    s.parse().map_err(|e: String| anyhow::anyhow!(e))
}
