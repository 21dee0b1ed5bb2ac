//! `shopbip optout list|add|remove --store S [PHONE]`: a store's opt-out list by hand (the
//! same list a customer's STOP answer adds to). Phones are read as the worker reads them (the
//! store's `default_country` for numbers without a country code) and shown masked.

use std::io::Write;

use anyhow::Context;

use super::OptoutAction;
use crate::jobs::OptOuts;
use crate::phone::Phone;
use crate::settings::Settings;
use crate::stores::StoreRegistry;
use crate::telemetry::mask_phone;

pub async fn command(settings: &Settings, action: OptoutAction) -> anyhow::Result<()> {
    let (store_id, phone) = match &action {
        OptoutAction::List { store } => (store, None),
        OptoutAction::Add { store, phone } | OptoutAction::Remove { store, phone } => {
            (store, Some(phone))
        }
    };
    let registry = StoreRegistry::load_dir(&settings.stores.dir).map_err(|errors| {
        anyhow::anyhow!(
            "the store profiles do not load ({} errors): run `shopbip check`",
            errors.len()
        )
    })?;
    let store = registry
        .get(store_id)
        .with_context(|| format!("no store {store_id:?} in {}", settings.stores.dir.display()))?;
    let phone = phone
        .map(|p| normalise(p, &store.default_country))
        .transpose()?;
    let db = crate::jobs::open(&settings.database.url, settings.worker.retry_policy()).await?;
    let mut out = std::io::stdout().lock();
    run(
        db.as_ref(),
        store.id.as_str(),
        &action,
        phone.as_deref(),
        &mut out,
    )
    .await
}

/// A number as the list keeps it: E.164.
pub fn normalise(raw: &str, default_country: &str) -> anyhow::Result<String> {
    let phone = Phone::parse(raw, default_country)
        .map_err(|e| anyhow::anyhow!("{}: {e}", mask_phone(raw)))?;
    Ok(phone.e164())
}

async fn run(
    db: &dyn OptOuts,
    store: &str,
    action: &OptoutAction,
    phone: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let now = crate::clock::now_ms();
    match (action, phone) {
        (OptoutAction::List { .. }, _) => {
            let list = db.opt_outs(store, 10_000).await?;
            writeln!(out, "{:<18} {:<8} SINCE", "PHONE", "SOURCE")?;
            for r in &list {
                writeln!(
                    out,
                    "{:<18} {:<8} {}",
                    mask_phone(&r.phone),
                    r.source,
                    crate::http::admin::view::rfc3339_ms(r.created_at)
                )?;
            }
            writeln!(out, "{} opted out", list.len())?;
        }
        (OptoutAction::Add { .. }, Some(phone)) => {
            let added = db.opt_out(store, phone, "manual", now).await?;
            let what = if added { "added" } else { "already listed" };
            writeln!(out, "{}: {what}", mask_phone(phone))?;
        }
        (OptoutAction::Remove { .. }, Some(phone)) => {
            let removed = db.opt_in(store, phone).await?;
            let what = if removed { "removed" } else { "was not listed" };
            writeln!(out, "{}: {what}", mask_phone(phone))?;
        }
        _ => anyhow::bail!("a phone number is needed"),
    }
    Ok(())
}
