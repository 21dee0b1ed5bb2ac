//! `shopbip check`: validates the settings and every store profile, then prints the runbook.

use std::io::Write;

use crate::settings::Settings;
use crate::stores::{InvoiceSource, StoreRegistry};

/// `shopbip check`: the report on stdout, an error (exit 1) when anything is invalid.
pub fn command(settings: &Settings, only: Option<&str>) -> anyhow::Result<()> {
    if run(settings, only, &mut std::io::stdout().lock())? {
        Ok(())
    } else {
        anyhow::bail!("configuration has errors (listed above)")
    }
}

/// Writes problems or the runbook to `out`; true when everything is valid. With `only`, the
/// settings and that one store's profile (`<stores.dir>/<only>.toml`): a newcomer's first
/// store is checked without the example profiles beside it.
pub fn run(settings: &Settings, only: Option<&str>, out: &mut impl Write) -> std::io::Result<bool> {
    let mut ok = true;
    let url = &settings.database.url;
    if !["sqlite:", "postgres:", "postgresql:"]
        .iter()
        .any(|p| url.starts_with(p))
    {
        writeln!(
            out,
            "error: settings: database.url must start with sqlite:// or postgres://"
        )?;
        ok = false;
    }
    for problem in settings.problems() {
        writeln!(out, "error: settings: {problem}")?;
        ok = false;
    }
    let dir = &settings.stores.dir;
    // Exactly what `serve` and hot reload accept: valid profiles, templates that compile, and
    // at least one store.
    let loaded = match only {
        Some(id) => crate::stores::StoreId::parse(id)
            .map_err(|message| {
                vec![crate::stores::ProfileError {
                    file: dir.join(format!("{id}.toml")),
                    key: String::new(),
                    message,
                }]
            })
            .and_then(|_| {
                crate::stores::load_file(&dir.join(format!("{id}.toml")), &|name| {
                    std::env::var(name).ok()
                })
            })
            .and_then(|store| {
                crate::stores::template_error(&store, &crate::invoice::check_store_template)
                    .map_err(|e| vec![e])?;
                Ok(StoreRegistry::from_stores([store]))
            }),
        None => StoreRegistry::load_valid(dir, &crate::invoice::check_store_template),
    };
    let registry = match loaded {
        Ok(r) => r,
        Err(errors) => {
            for e in errors {
                writeln!(out, "error: {e}")?;
            }
            return Ok(false);
        }
    };
    if only.is_none() {
        for problem in settings
            .console
            .unknown_stores(|id| registry.get(id).is_some())
        {
            writeln!(out, "error: settings: {problem}")?;
            ok = false;
        }
    }
    print_runbook(&registry, out)?;
    Ok(ok)
}

pub fn print_runbook(registry: &StoreRegistry, out: &mut impl Write) -> std::io::Result<()> {
    let mut rows = vec![[
        "STORE".to_owned(),
        "PLATFORM".to_owned(),
        "ENV".to_owned(),
        "EVENT".to_owned(),
        "TEMPLATE".to_owned(),
        "INVOICE".to_owned(),
    ]];
    for store in registry.iter() {
        for rule in &store.rules {
            let invoice = if !rule.attach_invoice {
                "none".to_owned()
            } else {
                match store.invoice.source {
                    InvoiceSource::Generate => format!("generate ({})", store.invoice.language),
                    InvoiceSource::Fetch => match &store.invoice.fetch_url {
                        Some(u) => format!("fetch {}", u.split('?').next().unwrap_or(u)),
                        None => format!(
                            "fetch ({})",
                            store
                                .platform
                                .capabilities()
                                .invoice_pdf_url
                                .unwrap_or("platform's PDF URL")
                        ),
                    },
                }
            };
            // Said in the runbook because the API token then matters as much as the secret.
            let platform = if store.platform.fetches_order() {
                format!("{} (order via API)", store.platform)
            } else {
                store.platform.to_string()
            };
            rows.push([
                store.id.to_string(),
                platform,
                format!("{:?}", store.environment).to_lowercase(),
                if rule.payment.is_empty() {
                    rule.on.to_string()
                } else {
                    let kinds: Vec<&str> = rule.payment.iter().map(|k| k.as_str()).collect();
                    format!("{} (payment {})", rule.on, kinds.join("|"))
                },
                rule.template_id.to_string(),
                invoice,
            ]);
        }
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}
