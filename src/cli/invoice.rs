//! `shopbip invoice`: a store's invoice for a saved platform order payload, to preview its look.

use std::path::Path;

use anyhow::Context;

use crate::settings::Settings;

pub fn command(
    settings: &Settings,
    store_id: &str,
    order: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let written = preview(settings, store_id, order, out)?;
    println!("{} ({} bytes)", out.display(), written);
    Ok(())
}

/// `shopbip invoice`: the store's invoice for a saved order payload, written to `out`.
fn preview(
    settings: &Settings,
    store_id: &str,
    order_file: &Path,
    out: &Path,
) -> anyhow::Result<usize> {
    let registry = crate::app::load_stores(settings)?;
    let store = registry
        .get(store_id)
        .with_context(|| format!("no store {store_id:?} in {}", settings.stores.dir.display()))?;
    let body = std::fs::read(order_file)
        .with_context(|| format!("cannot read {}", order_file.display()))?;
    let (order, number) = crate::invoice::preview::order_from_payload(store, &body)
        .with_context(|| order_file.display().to_string())?;
    let pdf = crate::invoice::render_for_store(store, &order, &number)?;
    std::fs::write(out, &pdf).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(pdf.len())
}
