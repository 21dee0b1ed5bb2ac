//! `shopbip test-send`: one rule's message for a sample order (or a saved platform payload),
//! rendered, uploaded and sent through the store's real Buzzbip account to a phone the merchant
//! names. A merchant learns before the first customer does that the template is approved, the
//! parameters fit and the invoice arrives. Nothing is written to the job database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::buzzbip::{BuzzbipClient, BuzzbipError, Endpoint, ErrorClass, TokenCache, http_client};
use crate::invoice::fetch::{FetchClients, FetchOptions};
use crate::invoice::language::invoice_language;
use crate::invoice::preview::{PREVIEW_NUMBER, order_from_payload};
use crate::order::{Order, format_money};
use crate::phone::Phone;
use crate::settings::Settings;
use crate::stores::{InvoiceSource, NotifyRule, Store, StoreId};
use crate::worker::steps::{invoice_filename, invoice_pdf, send_request};

/// What `shopbip test-send` was asked to do.
#[derive(Debug, Clone)]
pub struct TestSend {
    pub store: String,
    pub to: String,
    /// 1-based index of the store's `[[notify]]` blocks.
    pub rule: usize,
    pub order: Option<PathBuf>,
    pub yes: bool,
}

pub async fn command(settings: &Settings, args: &TestSend) -> anyhow::Result<()> {
    let store = Arc::new(load_store(settings, &args.store)?);
    let rule_count = store.rules.len();
    let Some(rule) = args
        .rule
        .checked_sub(1)
        .and_then(|i| store.rules.get(i))
        .cloned()
    else {
        bail!(
            "{}: --rule {} does not exist: the store has {rule_count} [[notify]] rule(s), numbered from 1",
            store.file.display(),
            args.rule
        );
    };
    // Normalised as the worker normalises an order's phone, so the allow-list compares alike.
    let phone = Phone::parse(&args.to, &store.default_country)
        .map_err(|reason| anyhow::anyhow!("--to: {reason}"))?;
    if !args.yes && !store.allow_phones.iter().any(|p| p == phone.to()) {
        bail!(
            "{} is not in [test].allow_phones of store {} ({}): add it there, or pass --yes to send anyway",
            phone.masked(),
            store.id,
            store.file.display()
        );
    }
    let (order, number, source) = match &args.order {
        Some(file) => {
            let (order, number) = saved_order(&store, file)?;
            (order, number, format!("order from {}", file.display()))
        }
        None => (
            sample_order(&store, &rule, &phone),
            PREVIEW_NUMBER.to_owned(),
            "sample order".to_owned(),
        ),
    };
    if !rule.matches(&order) {
        eprintln!(
            "note: this order is paid by {}: rule {} is only for payment {:?}; sending anyway",
            order.payment.kind,
            args.rule,
            rule.payment.iter().map(|k| k.as_str()).collect::<Vec<_>>()
        );
    }

    let options = settings.buzzbip.client_options();
    let client = BuzzbipClient::new(
        http_client(&options),
        &TokenCache::new(),
        store.buzzbip.clone(),
        options,
    )
    .map_err(|e| anyhow::anyhow!("{}: buzzbip.base_url: {e}", store.file.display()))?;

    // As the worker sends it: the template of the order's invoice language.
    let language = invoice_language(&store, &order);
    let template_id = rule.template_for(&language);
    println!(
        "test send: store {}, rule {} ({}, template {template_id}, {language}), {source} {} ({})",
        store.id,
        args.rule,
        rule.on,
        order.number,
        format_money(order.total, &order.currency),
    );
    println!(
        "  to:                     {} ({})",
        phone.masked(),
        phone.country_code()
    );
    let mut media_id = None;
    if rule.attach_invoice {
        let (filename, pdf) = invoice(&store, &order, &number, args.order.is_none()).await?;
        println!("  invoice:                {filename}, {} bytes", pdf.len());
        let uploaded = client
            .upload_pdf(&filename, bytes::Bytes::from(pdf))
            .await
            .map_err(|e| failure(&store, &rule, template_id, args.rule, &e))?;
        println!("  header_media_id:        {uploaded}");
        media_id = Some(uploaded);
    } else {
        println!("  invoice:                none (attach_invoice = false)");
    }
    let request = send_request(
        &rule,
        &store,
        &order,
        Some(&number),
        media_id.clone(),
        (phone.to().to_owned(), phone.country_code().to_owned()),
    );
    // Only the count: parameters are message text, and text is never echoed to logs or output.
    println!(
        "  body_params:            {}, buttons: {}",
        request.body_params.len(),
        request.buttons.len()
    );
    match client.send_template(template_id, &request).await {
        Ok(receipt) => {
            println!(
                "  whatsapp_bulk_group_id: {}",
                receipt.whatsapp_bulk_group_id
            );
            println!("sent");
            Ok(())
        }
        Err(e) => {
            // No retry follows a test send, so its document would only pile up on Buzzbip.
            if let Some(id) = &media_id
                && let Err(del) = client.delete_media(id).await
            {
                eprintln!("note: could not delete the uploaded test media {id}: {del}");
            }
            Err(failure(&store, &rule, template_id, args.rule, &e))
        }
    }
}

/// Only this store's profile: a broken profile beside it must not stop a test of this one.
fn load_store(settings: &Settings, id: &str) -> anyhow::Result<Store> {
    let dir = &settings.stores.dir;
    StoreId::parse(id).map_err(|message| anyhow::anyhow!("--store: {message}"))?;
    let file = dir.join(format!("{id}.toml"));
    if !file.is_file() {
        bail!("no store {id:?}: {} does not exist", file.display());
    }
    crate::stores::load_file(&file, &|name| std::env::var(name).ok()).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("{}", lines.join("; "))
    })
}

/// The payload in `file`, read exactly as `shopbip invoice --order` reads it.
fn saved_order(store: &Store, file: &Path) -> anyhow::Result<(Order, String)> {
    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    order_from_payload(store, &body).with_context(|| file.display().to_string())
}

/// The invoice preview's sample order made the store's own: its country, its currency, the
/// tester's phone, and a payment the rule accepts.
fn sample_order(store: &Store, rule: &NotifyRule, phone: &Phone) -> Order {
    let mut order = crate::invoice::sample_order();
    if let Some(currency) = store
        .default_currency
        .clone()
        .or_else(|| currency_of(&store.default_country).map(str::to_owned))
    {
        order.currency = currency;
    }
    if let Some(billing) = &mut order.billing {
        billing.country = Some(store.default_country.clone());
    }
    order.customer.phone = Some(format!("+{}", phone.to()));
    if let Some(kind) = rule.payment.first() {
        order.payment.kind = *kind;
    }
    order.payment.paid = true;
    order
}

/// The currency of the countries shopbip's merchants are mostly in; others keep the sample's
/// (set `default_currency` in the profile to choose).
fn currency_of(country: &str) -> Option<&'static str> {
    Some(match country {
        "TN" => "TND",
        "MA" => "MAD",
        "DZ" => "DZD",
        "EG" => "EGP",
        "LY" => "LYD",
        "SA" => "SAR",
        "AE" => "AED",
        "QA" => "QAR",
        "KW" => "KWD",
        "JO" => "JOD",
        "LB" => "LBP",
        "US" => "USD",
        "GB" => "GBP",
        "CA" => "CAD",
        "CH" => "CHF",
        "SN" | "CI" | "ML" | "BF" | "NE" | "TG" | "BJ" => "XOF",
        "FR" | "BE" | "DE" | "ES" | "IT" | "NL" | "PT" | "LU" | "AT" | "IE" => "EUR",
        _ => return None,
    })
}

/// The invoice the worker would attach. A sample order has no invoice in the shop to fetch, so
/// a fetching store's test renders one instead (`--order` fetches the real one).
async fn invoice(
    store: &Arc<Store>,
    order: &Order,
    number: &str,
    sample: bool,
) -> anyhow::Result<(String, Vec<u8>)> {
    let store = if sample && store.invoice.source == InvoiceSource::Fetch {
        eprintln!(
            "note: store {} fetches its invoices; the sample order has none in the shop, so its invoice is rendered (pass --order to fetch one)",
            store.id
        );
        let mut rendered = Store::clone(store);
        rendered.invoice.source = InvoiceSource::Generate;
        Arc::new(rendered)
    } else {
        store.clone()
    };
    let options = FetchOptions::default();
    let pdf = invoice_pdf(
        &FetchClients::new(&options),
        &options,
        &store,
        order,
        number,
    )
    .await
    .map_err(|(reason, _)| anyhow::anyhow!("the invoice: {reason}"))?;
    Ok((invoice_filename(&store, order, number), pdf))
}

/// A failed upload or send as one line: what Buzzbip said, its class, and what to change.
fn failure(
    store: &Store,
    rule: &NotifyRule,
    template_id: u64,
    n: usize,
    e: &BuzzbipError,
) -> anyhow::Error {
    let class = match e.class() {
        ErrorClass::Transient { .. } => "transient: Buzzbip or the network failed; try again",
        ErrorClass::Permanent => "permanent",
    };
    let fix = match e {
        BuzzbipError::Rejected {
            endpoint: Endpoint::Send,
            ..
        } => format!(
            "; fix: template {} must be APPROVED in Buzzbip, take {} body parameter(s) (notify[{}].body_params in {}) and, with attach_invoice, a document header",
            template_id,
            rule.body_params.len(),
            n - 1,
            store.file.display()
        ),
        _ => String::new(),
    };
    anyhow::anyhow!("test send failed ({class}): {e}{fix}")
}
