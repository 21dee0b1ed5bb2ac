//! Typst as a library: one in-process `World` per render over fonts loaded once, the template as
//! `/main.typ`, the invoice data as `/data.json` and the logo as `/logo.<ext>`.

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
        let json = serde_json::to_vec(data).map_err(|e| RenderError::Export(e.to_string()))?;
        let world = InvoiceWorld {
            renderer: self,
            main: Source::new(file_id("/main.typ"), template.to_owned()),
            data: Bytes::new(json),
            logo: logo.map(|(path, bytes)| (file_id(path), Bytes::new(bytes.to_vec()))),
        };
        let compiled = typst::compile::<PagedDocument>(&world).output;
        let result = match compiled {
            Ok(document) => {
                let options = typst_pdf::PdfOptions {
                    // Stable across renders of the same invoice, so a re-render is identical.
                    ident: Smart::Custom(format!("shopbip-invoice-{}", data.invoice.number)),
                    ..typst_pdf::PdfOptions::default()
                };
                typst_pdf::pdf(&document, &options)
                    .map_err(|diags| RenderError::Export(describe(&world, &diags).join("; ")))
            }
            Err(diags) => Err(RenderError::Template(describe(&world, &diags))),
        };
        typst::comemo::evict(EVICT_AGE);
        result
    }
}

fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a fixed absolute path is valid");
    FileId::new(RootedPath::new(VirtualRoot::Project, vpath))
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
    logo: Option<(FileId, Bytes)>,
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
        match &self.logo {
            Some((logo_id, bytes)) if *logo_id == id => Ok(bytes.clone()),
            _ if id == self.main.id() => Ok(Bytes::from_string(self.main.clone())),
            _ => Err(not_found(id)),
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

/// Only the three virtual files exist: templates cannot read the server's disk.
fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.get().vpath().get_with_slash().into())
}
