//! `shopbip invoice`: a store's invoice for a saved platform order payload, to preview its look.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::settings::Settings;

/// `png`: also write PNG pages beside the PDF, at this many pixels per point.
pub fn command(
    settings: &Settings,
    store_id: &str,
    order: &Path,
    out: &Path,
    png: Option<f32>,
) -> anyhow::Result<()> {
    for (path, bytes) in preview(settings, store_id, order, out, png)? {
        println!("{} ({} bytes)", path.display(), bytes);
    }
    Ok(())
}

/// `shopbip invoice`: the store's invoice for a saved order payload, written to `out` (and its
/// pages to `png_paths(out, …)` when `png` is given); each file written and its size.
fn preview(
    settings: &Settings,
    store_id: &str,
    order_file: &Path,
    out: &Path,
    png: Option<f32>,
) -> anyhow::Result<Vec<(PathBuf, usize)>> {
    let registry = crate::app::load_stores(settings)?;
    let store = registry
        .get(store_id)
        .with_context(|| format!("no store {store_id:?} in {}", settings.stores.dir.display()))?;
    let body = std::fs::read(order_file)
        .with_context(|| format!("cannot read {}", order_file.display()))?;
    let (order, number) = crate::invoice::preview::order_from_payload(store, &body)
        .with_context(|| order_file.display().to_string())?;
    let (pdf, pages) = match png {
        Some(scale) => crate::invoice::render_pdf_and_png_for_store(store, &order, &number, scale)?,
        None => (
            crate::invoice::render_for_store(store, &order, &number)?,
            Vec::new(),
        ),
    };
    std::fs::write(out, &pdf).with_context(|| format!("cannot write {}", out.display()))?;
    let mut written = vec![(out.to_path_buf(), pdf.len())];
    for (path, page) in png_paths(out, pages.len()).into_iter().zip(pages) {
        std::fs::write(&path, &page).with_context(|| format!("cannot write {}", path.display()))?;
        written.push((path, page.len()));
    }
    Ok(written)
}

/// `dir/invoice.pdf` → `dir/invoice-1.png`, `dir/invoice-2.png`, …: beside the PDF, named after
/// it, so the pages of two invoices previewed in one folder do not overwrite each other.
pub fn png_paths(out: &Path, pages: usize) -> Vec<PathBuf> {
    let stem = out.file_stem().unwrap_or("invoice".as_ref());
    (1..=pages)
        .map(|n| {
            // An OsString, not a String: a file name that is not UTF-8 is kept as it is.
            let mut name = stem.to_os_string();
            name.push(format!("-{n}.png"));
            out.with_file_name(name)
        })
        .collect()
}

/// `--scale`: refused when parsing the command line, before the profiles load and Typst runs.
pub fn parse_scale(text: &str) -> Result<f32, String> {
    let max = crate::invoice::MAX_PIXELS_PER_PT;
    match text.parse::<f32>() {
        Ok(n) if n.is_finite() && n > 0.0 && n <= max => Ok(n),
        _ => Err(format!(
            "a number of pixels per point, more than 0 and at most {max}"
        )),
    }
}
