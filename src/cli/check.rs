//! `shopbip check`: validates the settings and every store profile, then prints the runbook;
//! with `--online`, also tries each store's Buzzbip account.

use std::io::Write;

use crate::buzzbip::{BuzzbipClient, BuzzbipError, TokenCache, http_client};
use crate::settings::Settings;
use crate::stores::{InvoiceSource, Store, StoreRegistry};

/// `shopbip check`: the report on stdout, an error (exit 1) when anything is invalid.
pub async fn command(settings: &Settings, only: Option<&str>, online: bool) -> anyhow::Result<()> {
    let (ok, registry) = offline(settings, only, &mut std::io::stdout().lock())?;
    if !online {
        return if ok {
            Ok(())
        } else {
            anyhow::bail!("configuration has errors (listed above)")
        };
    }
    let failed = match &registry {
        Some(registry) => {
            let stores: Vec<&Store> = registry.iter().map(|s| &**s).collect();
            let mut report = Vec::new();
            let failed = run_online(settings, &stores, &mut report).await?;
            std::io::stdout().write_all(&report)?;
            failed
        }
        None => {
            println!("online: skipped: the profiles do not load (errors above)");
            0
        }
    };
    match (ok, failed) {
        (true, 0) => Ok(()),
        (true, n) => anyhow::bail!("the online check failed for {n} store(s) (listed above)"),
        (false, 0) => anyhow::bail!("configuration has errors (listed above)"),
        (false, n) => anyhow::bail!(
            "configuration has errors and the online check failed for {n} store(s) (listed above)"
        ),
    }
}

/// Writes problems or the runbook to `out`; true when everything is valid, with the stores that
/// loaded (for the online check). With `only`, the settings and that one store's profile
/// (`<stores.dir>/<only>.toml`): a newcomer's first store is checked without the example
/// profiles beside it.
fn offline(
    settings: &Settings,
    only: Option<&str>,
    out: &mut impl Write,
) -> std::io::Result<(bool, Option<StoreRegistry>)> {
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
            return Ok((false, None));
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
    Ok((ok, Some(registry)))
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
                    InvoiceSource::Generate => format!(
                        "generate ({})",
                        if store.invoice.language == crate::invoice::language::AUTO {
                            format!("auto: {}", store.invoice.languages.join(", "))
                        } else {
                            store.invoice.language.clone()
                        }
                    ),
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
                rule.templates_label(),
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
    // What happens after the send, per store: whether Buzzbip's events (delivery, STOP) are
    // taken and whether outcomes are written back on the shop's orders.
    for store in registry.iter() {
        let events = if store.buzzbip_webhook_secret.is_some() {
            format!("events on (/buzzbip/events/{})", store.id)
        } else {
            "events off (no buzzbip.webhook_secret: delivery by lookups only, STOP answers unseen)"
                .to_owned()
        };
        let writeback = match &store.api {
            Some(api) if api.writes_back() => format!("write-back to {}", api.platform()),
            Some(_) => "no write-back".to_owned(),
            None => "no write-back".to_owned(),
        };
        writeln!(out, "after the send: {}  {events}; {writeback}", store.id)?;
        let sweep = &store.reconcile;
        if sweep.enabled {
            writeln!(
                out,
                "reconcile: {}  a sweep every {} min (first one {} h back){}",
                store.id,
                sweep.every.as_secs() / 60,
                sweep.lookback.as_secs() / 3600,
                if sweep.reactivate {
                    "; a disabled webhook is set back to active"
                } else {
                    ""
                }
            )?;
        }
        for problem in crate::invoice::zatca::problems(store) {
            writeln!(out, "warning: {}: {problem}", store.id)?;
        }
        // What the store's invoice rules (its country's) need and the profile does not give:
        // the invoice is still made, but not one the country's law accepts.
        if store.invoice.source == InvoiceSource::Generate {
            let rules = crate::invoice::country_rules(store);
            let ids = &store.invoice.seller_ids;
            let tax_id = &store.invoice.seller_tax_id;
            let said_by_zatca = rules == crate::stores::profile::legal::CountryRules::Sa;
            let missing = crate::invoice::totals::missing_for_rules(rules, ids, tax_id);
            for missing in missing.into_iter().filter(|_| !said_by_zatca) {
                let rules = rules.as_str();
                writeln!(
                    out,
                    "warning: {}: {rules} invoice rules: {missing}",
                    store.id
                )?;
            }
            if store.invoice.facturx && ids.vat.trim().is_empty() && tax_id.trim().is_empty() {
                writeln!(
                    out,
                    "warning: {}: invoice.facturx: no VAT number (invoice.seller_ids.vat or \
                     invoice.seller_tax_id): invoices are sent without their Factur-X XML",
                    store.id
                )?;
            }
        }
    }
    Ok(())
}

/// What `check --online` uploads: one page, small, recognisable if it is ever left behind.
const TEST_PDF_TEXT: &str = "shopbip check --online: media permission test, deleted at once";
const TEST_PDF_NAME: &str = "shopbip-check-online.pdf";

/// Logs in with each store's Buzzbip account, uploads a one-page PDF and deletes it, and writes
/// one line per store. Sends nothing. Returns how many stores failed.
pub async fn run_online(
    settings: &Settings,
    stores: &[&Store],
    out: &mut impl Write,
) -> std::io::Result<usize> {
    let options = settings.buzzbip.client_options();
    let http = http_client(&options);
    // Each call is bounded by the client's timeouts; a login, a retried login, an upload and a
    // delete is the most one store can take, so a stuck account cannot hold the others.
    let budget = (options.connect_timeout + options.timeout) * 4;
    let checks = stores.iter().map(|store| {
        let http = http.clone();
        let options = options.clone();
        async move {
            // A cache per store: two stores on one account each prove their own credentials.
            let tokens = TokenCache::new();
            match BuzzbipClient::new(http, &tokens, store.buzzbip.clone(), options) {
                Ok(client) => tokio::time::timeout(budget, try_account(store, &client))
                    .await
                    .unwrap_or_else(|_| {
                        Err(format!(
                            "no answer from Buzzbip within {} s",
                            budget.as_secs()
                        ))
                    }),
                Err(e) => Err(format!("buzzbip.base_url: {e}")),
            }
        }
    });
    let verdicts = futures_util::future::join_all(checks).await;
    let width = stores
        .iter()
        .map(|s| s.id.as_str().len())
        .max()
        .unwrap_or(0);
    let mut failed = 0;
    for (store, verdict) in stores.iter().zip(verdicts) {
        let id = store.id.as_str();
        match verdict {
            Ok(detail) => writeln!(out, "online: {id:<width$}  OK    {detail}")?,
            Err(reason) => {
                failed += 1;
                writeln!(out, "online: {id:<width$}  FAIL  {reason}")?;
            }
        }
    }
    failed += webhook_subscriptions(stores, out).await?;
    Ok(failed)
}

/// For each store whose platform can tell (WooCommerce, Shopify, Stripe, with API access):
/// whether the shop still delivers its webhooks to us. Only looks: a disabled WooCommerce
/// webhook is set back to active by the sweep (`reconcile.reactivate`), never by a check.
/// Returns how many are not delivering.
async fn webhook_subscriptions(stores: &[&Store], out: &mut impl Write) -> std::io::Result<usize> {
    let client =
        crate::platforms::api::client(crate::invoice::fetch::FetchOptions::default().timeout);
    let budget = std::time::Duration::from_secs(60);
    let checks = stores.iter().map(|store| {
        let client = client.clone();
        async move {
            let access = store.reconcile.access.as_ref()?;
            let asked = crate::platforms::reconcile::subscription(
                &client,
                access,
                store.id.as_str(),
                false,
            );
            Some(match tokio::time::timeout(budget, asked).await {
                Ok(Ok(found)) => found.map(|f| (f.ok, f.detail)),
                Ok(Err(e)) => Some((false, format!("could not ask the shop: {e}"))),
                Err(_) => Some((false, "the shop's API did not answer in time".to_owned())),
            })
            .flatten()
        }
    });
    let verdicts = futures_util::future::join_all(checks).await;
    let mut failed = 0;
    for (store, verdict) in stores.iter().zip(verdicts) {
        let Some((ok, detail)) = verdict else {
            continue;
        };
        let id = store.id.as_str();
        if ok {
            writeln!(out, "webhooks: {id}  OK    {detail}")?;
        } else {
            failed += 1;
            writeln!(out, "webhooks: {id}  FAIL  {detail}")?;
        }
    }
    Ok(failed)
}

/// Login (through the upload, which logs in first), upload, delete.
async fn try_account(store: &Store, client: &BuzzbipClient) -> Result<String, String> {
    let pdf = bytes::Bytes::from(crate::cli::demo::placeholder_pdf(TEST_PDF_TEXT));
    let media_id = client
        .upload_pdf(TEST_PDF_NAME, pdf)
        .await
        .map_err(|e| reason(store, &e, "the test PDF upload"))?;
    client
        .delete_media(&media_id)
        .await
        .map_err(|e| reason(store, &e, &format!("deleting the test media {media_id}")))?;
    Ok(format!(
        "logged in, uploaded a test PDF (media {media_id}) and deleted it"
    ))
}

/// A failure as one line with its fix; the account problems in the words a merchant needs.
fn reason(store: &Store, e: &BuzzbipError, what: &str) -> String {
    match e {
        BuzzbipError::BadCredentials { .. } => format!(
            "wrong Buzzbip username or password for store {} (buzzbip.username / buzzbip.password)",
            store.id
        ),
        BuzzbipError::NoApiAccess { .. } => {
            "API access not enabled for this Buzzbip user: ask Buzzbip to enable hasApiAccess"
                .to_owned()
        }
        BuzzbipError::InvalidApiKey { .. } => format!(
            "Buzzbip refused the API key of store {} (buzzbip.api_key)",
            store.id
        ),
        e if e.is_transient() => format!("{what} failed (transient, try again): {e}"),
        e => format!("{what} failed: {e}"),
    }
}
