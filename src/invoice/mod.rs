//! The invoice PDF: rendered from the order with Typst, or fetched from the platform.

pub mod data;
pub mod facturx;
pub mod fetch;
mod labels;
pub mod language;
pub mod locale;
pub mod preview;
pub mod render;
pub mod totals;
pub mod zatca;

use std::path::{Path, PathBuf};

use crate::order::{Address, Customer, LineItem, Order, TaxLine};
use crate::stores::Store;
use crate::stores::profile::legal::CountryRules;
use data::{OriginalInvoice, SellerInfo};
pub use render::{
    DEFAULT_PIXELS_PER_PT, DEFAULT_TEMPLATE, Formats, MAX_PIXELS_PER_PT, RenderError, Rendered,
    Renderer,
};

#[derive(Debug, thiserror::Error)]
pub enum InvoiceError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("cannot read {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error(transparent)]
    Zatca(#[from] zatca::ZatcaError),
}

pub fn seller_info(store: &Store) -> SellerInfo {
    SellerInfo {
        name: store.invoice.seller_name.clone(),
        address: store.invoice.seller_address.clone(),
        tax_id: store.invoice.seller_tax_id.clone(),
        language: store.invoice.language.clone(),
        rules: Some(country_rules(store)),
        ids: store.invoice.seller_ids.clone(),
        mentions: store.invoice.mentions.clone(),
        footer: store.invoice.footer.clone(),
        tn: store.invoice.tn.clone(),
    }
}

/// Whose invoice rules the store follows: `invoice.country_rules`, else its default country's.
pub fn country_rules(store: &Store) -> CountryRules {
    store
        .invoice
        .country_rules
        .unwrap_or_else(|| CountryRules::for_country(&store.default_country))
}

/// The store's template: its own `invoice.template`, or the built-in one.
pub fn template_text(store: &Store) -> Result<String, InvoiceError> {
    match &store.invoice.template {
        Some(rel) => read_text(&base_dir(store).join(rel)),
        None => Ok(DEFAULT_TEMPLATE.to_owned()),
    }
}

fn base_dir(store: &Store) -> &Path {
    store.file.parent().unwrap_or(Path::new("."))
}

fn read_text(path: &Path) -> Result<String, InvoiceError> {
    std::fs::read_to_string(path).map_err(|e| InvoiceError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The logo as the template sees it (`/logo.<ext>`) and its bytes.
fn logo(store: &Store) -> Result<Option<(String, Vec<u8>)>, InvoiceError> {
    let Some(rel) = &store.invoice.logo else {
        return Ok(None);
    };
    let path = base_dir(store).join(rel);
    let bytes = std::fs::read(&path).map_err(|e| InvoiceError::File {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("png")
        .to_ascii_lowercase();
    Ok(Some((format!("/logo.{ext}"), bytes)))
}

/// Renders a store's invoice for `order` numbered `number`. CPU-bound (~20 ms): call it from
/// `spawn_blocking` in async code.
pub fn render_for_store(
    store: &Store,
    order: &Order,
    number: &str,
) -> Result<Vec<u8>, InvoiceError> {
    let out = render_store_as(store, order, number, Formats::PDF)?;
    Ok(out.pdf.unwrap_or_default())
}

/// What a credit note is made of besides the order: when its number was taken (ISO 8601, its
/// date) and the invoice it refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreditNoteOf {
    pub issued_at: Option<String>,
    pub original: OriginalInvoice,
}

/// Renders a store's credit note for the refunded `order`, numbered `number` in the
/// credit-note series, with the store's template (which tells it from an invoice by
/// `credit_note` in its data). CPU-bound, like [`render_for_store`].
pub fn render_credit_note_for_store(
    store: &Store,
    order: &Order,
    number: &str,
    of: &CreditNoteOf,
) -> Result<Vec<u8>, InvoiceError> {
    let out = render_document(store, order, number, Some(of), Formats::PDF)?;
    Ok(out.pdf.unwrap_or_default())
}

/// The same invoice as [`render_for_store`] as PNG images, one per page, at `pixels_per_pt`
/// (see [`DEFAULT_PIXELS_PER_PT`]; at most [`MAX_PIXELS_PER_PT`]). CPU-bound.
pub fn render_png_for_store(
    store: &Store,
    order: &Order,
    number: &str,
    pixels_per_pt: f32,
) -> Result<Vec<Vec<u8>>, InvoiceError> {
    Ok(render_store_as(store, order, number, Formats::png(pixels_per_pt))?.pngs)
}

/// Page 1 of the invoice as a PNG, the others left unrasterised: the console's thumbnail.
pub fn render_first_png_for_store(
    store: &Store,
    order: &Order,
    number: &str,
    pixels_per_pt: f32,
) -> Result<Vec<u8>, InvoiceError> {
    let formats = Formats {
        png_pages: 1,
        ..Formats::png(pixels_per_pt)
    };
    let pages = render_store_as(store, order, number, formats)?.pngs;
    // Typst lays out at least one page; an empty document is said, not answered with no bytes.
    pages
        .into_iter()
        .next()
        .ok_or_else(|| RenderError::Image("the invoice has no page".into()).into())
}

/// The PDF and its PNG pages from one compilation of the invoice. CPU-bound.
pub fn render_pdf_and_png_for_store(
    store: &Store,
    order: &Order,
    number: &str,
    pixels_per_pt: f32,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), InvoiceError> {
    let out = render_store_as(store, order, number, Formats::pdf_and_png(pixels_per_pt))?;
    Ok((out.pdf.unwrap_or_default(), out.pngs))
}

fn render_store_as(
    store: &Store,
    order: &Order,
    number: &str,
    formats: Formats,
) -> Result<Rendered, InvoiceError> {
    render_document(store, order, number, None, formats)
}

/// An invoice, or with `credit_note` a credit note.
fn render_document(
    store: &Store,
    order: &Order,
    number: &str,
    credit_note: Option<&CreditNoteOf>,
    formats: Formats,
) -> Result<Rendered, InvoiceError> {
    let template = template_text(store)?;
    let logo = logo(store)?;
    let logo = logo
        .as_ref()
        .map(|(path, bytes)| (path.as_str(), bytes.as_slice()));
    let logo_path = logo.map(|(path, _)| path);
    // In the customer's language (`invoice.language = "auto"`), as their message is.
    let seller = SellerInfo {
        language: language::invoice_language(store, order),
        ..seller_info(store)
    };
    let data = match credit_note {
        None => data::build(order, &seller, number, logo_path),
        Some(of) => data::build_credit_note(
            order,
            &seller,
            number,
            of.issued_at.as_deref(),
            &of.original,
            logo_path,
        ),
    };
    // A Saudi store's document carries its ZATCA QR code, stamped when it was issued.
    let issued_at = credit_note.and_then(|of| of.issued_at.as_deref());
    let qr = zatca::for_document(store, order, issued_at)?;
    let data = data::InvoiceData {
        zatca: qr.as_ref().map(|q| q.print.clone()),
        ..data
    };
    // `invoice.facturx`: a PDF/A-3b with the document's Factur-X XML attached.
    let fx = facturx::for_document(store, order, number, credit_note, formats);
    let (template, formats) = facturx::prepare(fx.as_ref(), template, formats);
    let assets: Vec<render::Asset<'_>> = logo
        .into_iter()
        .chain(qr.as_ref().map(|q| (zatca::QR_PATH, q.svg.as_slice())))
        .chain(fx.as_ref().map(|f| (facturx::ASSET_PATH, f.xml.as_bytes())))
        .collect();
    let out = Renderer::shared().render_with_assets(&template, &data, &assets, formats)?;
    Ok(facturx::finish(fx.as_ref(), out)?)
}

/// A plausible order for checking templates: accented and Arabic text, a tax, a discount.
pub fn sample_order() -> Order {
    let d = |s: &str| s.parse().unwrap_or_default();
    Order {
        id: "1001".into(),
        number: "1001".into(),
        currency: "EUR".into(),
        subtotal: d("59.80"),
        shipping_total: d("4.90"),
        discount_total: d("5.00"),
        tax_total: d("11.94"),
        total: d("71.64"),
        taxes: vec![TaxLine {
            label: "TVA".into(),
            rate: Some(d("20")),
            amount: d("11.94"),
        }],
        lines: vec![
            LineItem {
                name: "Crème brûlée × 6".into(),
                sku: Some("CB-6".into()),
                quantity: d("2"),
                unit_price: d("24.90"),
                total: d("49.80"),
            },
            LineItem {
                name: "زيت زيتون".into(),
                sku: None,
                quantity: d("1"),
                unit_price: d("10.00"),
                total: d("10.00"),
            },
        ],
        customer: Customer {
            first_name: "Zoë".into(),
            last_name: "Dupré".into(),
            email: Some("zoe@example.fr".into()),
            phone: Some("+33 6 12 34 56 78".into()),
        },
        billing: Some(Address {
            name: "Zoë Dupré".into(),
            line1: "8 rue de l'Église".into(),
            city: "Besançon".into(),
            postcode: Some("25000".into()),
            country: Some("FR".into()),
            ..Address::default()
        }),
        created_at: Some("2026-11-20T09:00:00Z".into()),
        ..Order::default()
    }
}

/// `shopbip check`'s look at a store's invoice: its own template compiled against a sample order,
/// errors with their line numbers.
pub fn check_store_template(store: &Store) -> Result<(), String> {
    if store.invoice.template.is_none() {
        return Ok(());
    }
    let rendered = match render_for_store(store, &sample_order(), "CHECK-0001") {
        // A setting the QR code needs is missing: `check` warns of it (zatca::problems) and the
        // store still loads for its other messages; its template is compiled all the same,
        // with stand-ins for what the QR code lacks.
        Err(InvoiceError::Zatca(_)) => {
            render_for_store(&zatca::with_stand_ins(store), &sample_order(), "CHECK-0001")
        }
        other => other,
    };
    rendered.map(drop).map_err(|e| e.to_string())
}
