//! Typst as a library: one in-process `World` per render over fonts loaded once, the template as
//! `/main.typ`, the invoice data as `/data.json`, and assets beside them: the logo as
//! `/logo.<ext>`, the ZATCA QR code as `/zatca-qr.svg`.

use std::sync::OnceLock;

use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use super::data::InvoiceData;

pub const DEFAULT_TEMPLATE: &str = include_str!("../../assets/invoice/default.typ");

const FONTS: [&[u8]; 4] = [
    include_bytes!("../../assets/fonts/NotoSans-Regular.ttf"),
    include_bytes!("../../assets/fonts/NotoSans-Bold.ttf"),
    include_bytes!("../../assets/fonts/NotoSansArabic-Regular.ttf"),
    include_bytes!("../../assets/fonts/NotoSansArabic-Bold.ttf"),
];

/// Renders after this many renders evict Typst's memoization cache, so memory stays bounded
/// over thousands of invoices while consecutive renders still share work.
const EVICT_AGE: usize = 10;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    /// The template did not compile; one entry per error, with its line where known.
    #[error("invoice template error: {}", .0.join("; "))]
    Template(Vec<String>),
    #[error("invoice PDF export failed: {0}")]
    Export(String),
    /// PNG pages could not be made (a scale out of range, a page too large to rasterise).
    #[error("invoice PNG export failed: {0}")]
    Image(String),
}

/// The fonts and standard library, built once per process and shared by every render.
pub struct Renderer {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

impl Renderer {
    /// The process-wide renderer (font parsing happens on first use only).
    pub fn shared() -> &'static Renderer {
        static RENDERER: OnceLock<Renderer> = OnceLock::new();
        RENDERER.get_or_init(Renderer::new)
    }

    fn new() -> Self {
        let fonts: Vec<Font> = FONTS
            .iter()
            .flat_map(|data| Font::iter(Bytes::new(*data)))
            .collect();
        Self {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
        }
    }

    /// Compiles `template` against `data` (and the logo, when given) into PDF bytes.
    pub fn render(
        &self,
        template: &str,
        data: &InvoiceData,
        logo: Option<(&str, &[u8])>,
    ) -> Result<Vec<u8>, RenderError> {
        let out = self.render_as(template, data, logo, Formats::PDF)?;
        Ok(out.pdf.unwrap_or_default())
    }

    /// Compiles `template` against `data` once and exports it in each of `formats`: a PDF and
    /// PNG pages of the same layout cost one compilation, not two.
    pub fn render_as(
        &self,
        template: &str,
        data: &InvoiceData,
        logo: Option<(&str, &[u8])>,
        formats: Formats,
    ) -> Result<Rendered, RenderError> {
        self.render_with_assets(template, data, logo.as_slice(), formats)
    }

    /// [`Renderer::render_as`] with any number of files for the template to read, each an
    /// absolute path in its world (`/logo.png`) and its bytes.
    pub fn render_with_assets(
        &self,
        template: &str,
        data: &InvoiceData,
        assets: &[Asset<'_>],
        formats: Formats,
    ) -> Result<Rendered, RenderError> {
        // Checked before compiling, so a bad scale costs nothing.
        let scale = formats.png.map(check_scale).transpose()?;
        let json = serde_json::to_vec(data).map_err(|e| RenderError::Export(e.to_string()))?;
        let assets = assets
            .iter()
            .map(|(path, bytes)| Ok((asset_id(path)?, Bytes::new(bytes.to_vec()))))
            .collect::<Result<Vec<_>, RenderError>>()?;
        let world = InvoiceWorld {
            renderer: self,
            main: Source::new(file_id("/main.typ"), template.to_owned()),
            data: Bytes::new(json),
            assets,
        };
        let compiled = typst::compile::<PagedDocument>(&world).output;
        let result = match compiled {
            Ok(document) => export(&world, &document, &data.invoice.number, formats, scale),
            Err(diags) => Err(RenderError::Template(describe(&world, &diags))),
        };
        typst::comemo::evict(EVICT_AGE);
        result
    }
}

/// A file the template can read besides its own text and `/data.json`: its absolute path in
/// the template's world and its bytes.
pub type Asset<'a> = (&'a str, &'a [u8]);

/// What a render exports. The PDF is what customers get; PNG pages are for looking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Formats {
    pub pdf: bool,
    /// PNG pages at this many pixels per typographic point (1 pt = 1/72 in), if wanted.
    pub png: Option<f32>,
    /// At most this many PNG pages, from the first: a thumbnail needs only page 1.
    pub png_pages: usize,
    /// The PDF as PDF/A-3b, dated this day (year, month, day): the archival form Factur-X
    /// needs, whose attached file must carry a date.
    pub pdf_a3b: Option<(i32, u8, u8)>,
}

impl Formats {
    pub const PDF: Formats = Formats {
        pdf: true,
        png: None,
        png_pages: 0,
        pdf_a3b: None,
    };

    pub fn png(pixels_per_pt: f32) -> Formats {
        Formats {
            pdf: false,
            png: Some(pixels_per_pt),
            png_pages: usize::MAX,
            pdf_a3b: None,
        }
    }

    pub fn pdf_and_png(pixels_per_pt: f32) -> Formats {
        Formats {
            pdf: true,
            ..Formats::png(pixels_per_pt)
        }
    }
}

/// A render's outputs: the PDF when asked for, and one PNG per page (empty when not asked for).
#[derive(Debug, Default)]
pub struct Rendered {
    pub pdf: Option<Vec<u8>>,
    pub pngs: Vec<Vec<u8>>,
}

/// 2 pixels per point: an A4 page is 1191 × 1684 pixels, sharp on a high-density screen.
pub const DEFAULT_PIXELS_PER_PT: f32 = 2.0;
/// Past this an A4 page is over 30 million pixels (120 MB before compression): not a preview.
pub const MAX_PIXELS_PER_PT: f32 = 8.0;
/// A merchant template may set any page size; a page larger than this many pixels at the
/// asked scale is refused rather than allocated (A4 at the largest scale is ~32 million).
const MAX_PAGE_PIXELS: f64 = 40_000_000.0;

fn check_scale(pixels_per_pt: f32) -> Result<f32, RenderError> {
    if pixels_per_pt.is_finite() && pixels_per_pt > 0.0 && pixels_per_pt <= MAX_PIXELS_PER_PT {
        Ok(pixels_per_pt)
    } else {
        Err(RenderError::Image(format!(
            "the scale must be more than 0 and at most {MAX_PIXELS_PER_PT} pixels per point, not {pixels_per_pt}"
        )))
    }
}

fn export(
    world: &InvoiceWorld<'_>,
    document: &PagedDocument,
    number: &str,
    formats: Formats,
    png: Option<f32>,
) -> Result<Rendered, RenderError> {
    let mut out = Rendered::default();
    if formats.pdf {
        let mut options = typst_pdf::PdfOptions {
            // Stable across renders of the same invoice, so a re-render is identical.
            ident: Smart::Custom(format!("shopbip-invoice-{number}")),
            ..typst_pdf::PdfOptions::default()
        };
        if let Some((y, m, d)) = formats.pdf_a3b {
            options.standards = typst_pdf::PdfStandards::new(&[typst_pdf::PdfStandard::A_3b])
                .map_err(|e| RenderError::Export(e.message().to_string()))?;
            // The document's own date, not the render's: a re-render stays identical.
            let date = Datetime::from_ymd(y, m, d)
                .ok_or_else(|| RenderError::Export(format!("no such date: {y}-{m}-{d}")))?;
            options.timestamp = Some(typst_pdf::Timestamp::new_utc(date));
        }
        let bytes = typst_pdf::pdf(document, &options)
            .map_err(|diags| RenderError::Export(describe(world, &diags).join("; ")))?;
        out.pdf = Some(bytes);
    }
    if let Some(scale) = png {
        out.pngs = png_pages(document, scale, formats.png_pages)?;
    }
    Ok(out)
}

/// RGBA, 8 bits, with the png crate's `Fast` compression (fdeflate): an A4 page at 2 pixels per
/// point encodes in ~4 ms to ~185 KB, where tiny-skia's own `encode_png` (the `Balanced` level)
/// took ~12 ms for ~128 KB. A preview is looked at once, so time wins over bytes.
fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgba)?;
    writer.finish()?;
    Ok(out)
}

fn png_pages(
    document: &PagedDocument,
    scale: f32,
    most: usize,
) -> Result<Vec<Vec<u8>>, RenderError> {
    let options = typst_render::RenderOptions {
        pixel_per_pt: f64::from(scale).into(),
        render_bleed: false,
    };
    let pages = document.pages();
    let mut out = Vec::with_capacity(pages.len().min(most));
    for (i, page) in pages.iter().take(most).enumerate() {
        // typst-render allocates the page's pixmap with an unwrap: a size it cannot allocate
        // would panic there, so it is measured here first.
        let size = page.frame.size();
        let (w, h) = (
            size.x.to_pt() * f64::from(scale),
            size.y.to_pt() * f64::from(scale),
        );
        let pixels = w * h;
        if !pixels.is_finite() || pixels > MAX_PAGE_PIXELS {
            return Err(RenderError::Image(format!(
                "page {} would be {:.0} × {:.0} pixels, more than {MAX_PAGE_PIXELS} at {scale} pixels per point",
                i + 1,
                w,
                h
            )));
        }
        let pixmap = typst_render::render(page, &options);
        let (width, height) = (pixmap.width(), pixmap.height());
        // tiny-skia keeps premultiplied alpha; PNG stores it straight.
        let png = encode_png(width, height, &pixmap.take_demultiplied())
            .map_err(|e| RenderError::Image(format!("page {}: {e}", i + 1)))?;
        out.push(png);
    }
    Ok(out)
}

fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a fixed absolute path is valid");
    FileId::new(RootedPath::new(VirtualRoot::Project, vpath))
}

/// An asset's path is partly the merchant's (the logo's extension): refused, not panicking,
/// when Typst cannot take it as a path.
fn asset_id(path: &str) -> Result<FileId, RenderError> {
    let vpath = VirtualPath::new(path)
        .map_err(|e| RenderError::Export(format!("invoice file {path:?}: {e:?}")))?;
    Ok(FileId::new(RootedPath::new(VirtualRoot::Project, vpath)))
}

/// `line 12: unknown variable: foo` for errors in the template itself.
fn describe(world: &InvoiceWorld<'_>, diags: &[SourceDiagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let line = typst::WorldExt::range(world, d.span)
                .filter(|_| d.span.id() == Some(world.main.id()))
                .and_then(|r| world.main.lines().byte_to_line(r.start));
            match line {
                Some(l) => format!("line {}: {}", l + 1, d.message),
                None => d.message.to_string(),
            }
        })
        .collect()
}

struct InvoiceWorld<'a> {
    renderer: &'a Renderer,
    main: Source,
    data: Bytes,
    assets: Vec<(FileId, Bytes)>,
}

impl World for InvoiceWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.renderer.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.renderer.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == file_id("/data.json") {
            return Ok(self.data.clone());
        }
        if let Some((_, bytes)) = self.assets.iter().find(|(asset, _)| *asset == id) {
            return Ok(bytes.clone());
        }
        if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.renderer.fonts.get(index).cloned()
    }

    /// Invoices carry their own date; a template asking for today gets none, so output stays
    /// reproducible.
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

/// Only the virtual files exist (template, data, assets): templates cannot read the server's
/// disk.
fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.get().vpath().get_with_slash().into())
}
