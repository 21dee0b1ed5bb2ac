//! Rendered PDFs read back in Rust, so `cargo test` needs nothing but the toolchain (poppler
//! used to be shelled out to): text through pdf-extract, which follows the ToUnicode maps Typst
//! writes; fonts, images and pages through the lopdf it re-exports.
use pdf_extract::{Dictionary, Document, Object};

/// The text of every page, in page order. Each run of spaces is one space (the extractor spaces
/// words by their gaps, so a phrase may come out with two), and each Arabic word reads in its
/// own order: Typst writes right-to-left glyphs left to right as they are seen, and the
/// extractor gives them back in that order.
pub fn try_pages(pdf: &[u8]) -> Result<Vec<String>, String> {
    let pages = pdf_extract::extract_text_from_mem_by_pages(pdf).map_err(|e| e.to_string())?;
    Ok(pages.iter().map(|p| reading_order(p)).collect())
}

pub fn pages(pdf: &[u8]) -> Vec<String> {
    try_pages(pdf).unwrap_or_else(|e| panic!("the PDF's text cannot be read: {e}"))
}

/// The text of the whole PDF (see [`pages`]).
pub fn text(pdf: &[u8]) -> String {
    pages(pdf).join("\n")
}

pub fn page_count(pdf: &[u8]) -> usize {
    document(pdf).get_pages().len()
}

#[derive(Debug)]
pub struct Font {
    /// The base font name without its subset tag (`NotoSans-Regular`).
    pub name: String,
    /// Whether the font program itself is in the file.
    pub embedded: bool,
    /// Whether the name carries a subset tag (`ABCDEF+`): only the glyphs used are embedded.
    pub subset: bool,
}

/// The fonts the PDF's text uses (its top-level font dictionaries: a CID font is counted
/// through the Type0 font that holds it).
pub fn fonts(pdf: &[u8]) -> Vec<Font> {
    let doc = document(pdf);
    doc.objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| name(d, b"Type") == Some(b"Font"))
        .filter(|d| !matches!(name(d, b"Subtype"), Some(b"CIDFontType0" | b"CIDFontType2")))
        .map(|d| {
            let base = String::from_utf8_lossy(name(d, b"BaseFont").unwrap_or_default());
            let (tag, rest) = base.split_once('+').unwrap_or(("", &base));
            let subset = tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase());
            let described = match name(d, b"Subtype") {
                Some(b"Type0") => d
                    .get_deref(b"DescendantFonts", &doc)
                    .and_then(Object::as_array)
                    .ok()
                    .and_then(|a| a.first())
                    .and_then(|f| doc.dereference(f).ok())
                    .and_then(|(_, f)| f.as_dict().ok()),
                _ => Some(d),
            };
            let descriptor = described
                .and_then(|f| f.get_deref(b"FontDescriptor", &doc).ok())
                .and_then(|f| f.as_dict().ok());
            // A Type3 font's glyphs are drawn by the file's own content streams.
            let embedded = name(d, b"Subtype") == Some(b"Type3")
                || descriptor.is_some_and(|f| {
                    [b"FontFile".as_slice(), b"FontFile2", b"FontFile3"]
                        .iter()
                        .any(|k| f.has(k))
                });
            Font {
                name: if subset { rest } else { base.as_ref() }.to_owned(),
                embedded,
                subset,
            }
        })
        .collect()
}

/// The (width, height) in pixels of every image the PDF holds.
pub fn images(pdf: &[u8]) -> Vec<(i64, i64)> {
    let doc = document(pdf);
    doc.objects
        .values()
        .filter_map(|o| o.as_stream().ok())
        .filter(|s| name(&s.dict, b"Subtype") == Some(b"Image"))
        .map(|s| {
            let px = |k: &[u8]| s.dict.get(k).and_then(Object::as_i64).unwrap_or(0);
            (px(b"Width"), px(b"Height"))
        })
        .collect()
}

fn document(pdf: &[u8]) -> Document {
    Document::load_mem(pdf).unwrap_or_else(|e| panic!("not a PDF lopdf can read: {e}"))
}

fn name<'a>(d: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    d.get(key).and_then(Object::as_name).ok()
}

/// Spaces squeezed and each Arabic word reversed back (see [`pages`]). Word by word, not line by
/// line, so the order of words in a right-to-left line stays as drawn; a lam-alef ligature, whose
/// ToUnicode entry is already in reading order, would come out turned.
fn reading_order(text: &str) -> String {
    let rtl = |c: char| matches!(c, '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}');
    let mut out = String::with_capacity(text.len());
    let mut word = Vec::new();
    let mut last_space = false;
    for c in text.chars() {
        if rtl(c) {
            word.push(c);
            last_space = false;
            continue;
        }
        out.extend(word.drain(..).rev());
        if c == ' ' || c == '\t' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.extend(word.drain(..).rev());
    out
}
