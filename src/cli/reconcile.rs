//! `shopbip reconcile --store S [--since T] [--dry-run]`: one reconciliation sweep of a store
//! now, with what it found: orders no webhook had brought are stored and sent by the workers
//! of a running shopbip (or the next `shopbip serve`); `--dry-run` lists and stores nothing.

use std::io::Write;

use anyhow::Context;

use crate::platforms::unix_rfc3339;
use crate::reconcile::{Outcome, SweepOptions, SweepReport, Sweeper, sweep_store};
use crate::settings::Settings;
use crate::stores::StoreRegistry;

pub struct Args {
    pub store: String,
    pub since: Option<String>,
    pub dry_run: bool,
}

pub async fn command(settings: &Settings, args: &Args) -> anyhow::Result<()> {
    let since = args
        .since
        .as_deref()
        .map(|s| {
            crate::clock::parse_datetime_ms(s.trim()).with_context(|| {
                format!("--since {s:?} is not an RFC 3339 time such as 2026-11-01T00:00:00Z")
            })
        })
        .transpose()?;
    let registry = StoreRegistry::load_dir(&settings.stores.dir).map_err(|errors| {
        anyhow::anyhow!(
            "the store profiles do not load ({} errors): run `shopbip check`",
            errors.len()
        )
    })?;
    let store = registry.get(&args.store).cloned().with_context(|| {
        format!(
            "no store {:?} in {}",
            args.store,
            settings.stores.dir.display()
        )
    })?;
    let db = crate::jobs::open(&settings.database.url, settings.worker.retry_policy()).await?;
    let sweeper = Sweeper::new(
        db.clone(),
        std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(registry)),
        crate::platforms::api::client(crate::invoice::fetch::FetchOptions::default().timeout),
        settings.worker.retry_policy(),
    );
    let options = SweepOptions {
        due_only: false,
        since,
        dry_run: args.dry_run,
    };
    let report = sweep_store(&sweeper, &store, &options).await?;
    print_report(&report, &mut std::io::stdout().lock())?;
    if !args.dry_run
        && let Ok(Some(found)) = crate::reconcile::check_subscription(&sweeper.client, &store).await
    {
        crate::reconcile::record_subscription(&sweeper, &store, &found).await;
        let state = if found.ok { "ok" } else { "NOT DELIVERING" };
        writeln!(
            std::io::stdout(),
            "webhook subscription: {state}: {}",
            found.detail
        )?;
    }
    db.close().await;
    match report.error {
        Some(e) => anyhow::bail!("the sweep stopped short: {e}"),
        None => Ok(()),
    }
}

/// One line per order found, then the totals.
pub fn print_report(report: &SweepReport, out: &mut impl Write) -> std::io::Result<()> {
    let since = unix_rfc3339(report.since.div_euclid(1000));
    let mode = if report.dry_run {
        " (dry run: nothing stored)"
    } else {
        ""
    };
    writeln!(
        out,
        "store {}: orders changed since {since}, {} page(s){mode}",
        report.store_id, report.pages
    )?;
    for o in &report.orders {
        let name = if o.name.is_empty() || o.name == o.order_id {
            String::new()
        } else {
            format!(" ({})", o.name)
        };
        let events = o.events.join(",");
        let what = match &o.outcome {
            Outcome::Recovered { jobs } => format!("recovered: {jobs} message(s) queued"),
            Outcome::WouldSend { rules } => format!("would send: {}", rules.join("; ")),
            Outcome::AlreadyHandled => "already handled".to_owned(),
            Outcome::Skipped(why) => format!("skipped: {why}"),
        };
        writeln!(out, "  order {}{name} [{events}]: {what}", o.order_id)?;
    }
    let (verb, n) = if report.dry_run {
        ("would send", report.would_send())
    } else {
        ("recovered", report.recovered())
    };
    writeln!(
        out,
        "{} order(s) listed: {n} {verb}, {} already handled",
        report.orders.len(),
        report.already_handled()
    )?;
    if let Some(w) = report.watermark.filter(|_| !report.dry_run) {
        writeln!(out, "watermark: {}", unix_rfc3339(w.div_euclid(1000)))?;
    }
    if let Some(e) = &report.error {
        writeln!(out, "stopped short: {e}")?;
    }
    Ok(())
}
