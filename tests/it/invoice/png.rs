//! PNG pages of the invoice (typst-render): decoded back with the `png` crate and measured, and
//! written by `shopbip invoice --png`.

use std::process::Command;

use shopbip::invoice::{
    DEFAULT_PIXELS_PER_PT, InvoiceError, RenderError, render_first_png_for_store, render_for_store,
    render_pdf_and_png_for_store, render_png_for_store,
};

use super::{store_in, woo_order};
use crate::common;

const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// A4 in typographic points (210 × 297 mm).
const A4_PT: (f64, f64) = (595.2756, 841.8898);

struct Image {
    width: u32,
    height: u32,
    /// Share of pixels darker than mid-grey: text and the table's header band.
    dark: f64,
}

fn decode(bytes: &[u8]) -> Image {
    assert!(bytes.starts_with(SIGNATURE), "not a PNG: {:?}", &bytes[..8]);
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let channels = frame.color_type.samples();
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    let pixels = &buf[..frame.buffer_size()];
    let dark = pixels
        .chunks_exact(channels)
        .filter(|p| {
            let luma = (u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10;
            luma < 128
        })
        .count();
    Image {
        width: frame.width,
        height: frame.height,
        dark: dark as f64 / f64::from(frame.width * frame.height),
    }
}

fn assert_a4(image: &Image, scale: f64) {
    let ratio = f64::from(image.width) / f64::from(image.height);
    assert!(
        (ratio - 210.0 / 297.0).abs() < 0.002,
        "{} × {} is not A4-proportioned",
        image.width,
        image.height
    );
    for (got, pt) in [(image.width, A4_PT.0), (image.height, A4_PT.1)] {
        assert!(
            (f64::from(got) - pt * scale).abs() <= 1.0,
            "{got} pixels for {pt} pt at {scale} pixels per point"
        );
    }
}

#[test]
fn a_one_page_invoice_is_one_a4_png_at_the_asked_scale() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "fr", "");
    let order = woo_order("woocommerce/order-updated-paid-tnd.json");

    let pages = render_png_for_store(&store, &order, "INV-1", DEFAULT_PIXELS_PER_PT).unwrap();
    assert_eq!(pages.len(), 1);
    let page = decode(&pages[0]);
    assert_a4(&page, 2.0);
    assert_eq!((page.width, page.height), (1191, 1684));
    // A blank (or all-dark) page would decode just as well: the invoice's text and its
    // table header band make a few percent of the page dark.
    assert!(
        (0.005..0.3).contains(&page.dark),
        "{:.2}% dark pixels",
        page.dark * 100.0
    );

    let small = render_png_for_store(&store, &order, "INV-1", 1.0).unwrap();
    assert_a4(&decode(&small[0]), 1.0);

    // The pixels come from the invoice itself: the same one renders to the same bytes, another
    // number to other bytes.
    let again = render_png_for_store(&store, &order, "INV-1", DEFAULT_PIXELS_PER_PT).unwrap();
    assert_eq!(again, pages);
    let other = render_png_for_store(&store, &order, "INV-2", DEFAULT_PIXELS_PER_PT).unwrap();
    assert_ne!(other, pages);
}

#[test]
fn the_pdf_and_pngs_of_one_render_are_those_of_separate_renders() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "en", "");
    let order = woo_order("woocommerce/order-updated-paid-eur.json");
    let (pdf, pngs) = render_pdf_and_png_for_store(&store, &order, "INV-3", 1.5).unwrap();
    assert_eq!(pdf, render_for_store(&store, &order, "INV-3").unwrap());
    assert_eq!(
        pngs,
        render_png_for_store(&store, &order, "INV-3", 1.5).unwrap()
    );
    assert!(common::pdf_text(&pdf).contains("INV-3"));
}

#[test]
fn a_two_page_invoice_gives_two_pngs() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "en", "");
    let mut order = woo_order("woocommerce/order-updated-paid-eur.json");
    let line = order.lines[0].clone();
    order.lines = (1..=25)
        .map(|i| shopbip::order::LineItem {
            name: format!("Article numéro {i:02}"),
            ..line.clone()
        })
        .collect();
    let (pdf, pngs) =
        render_pdf_and_png_for_store(&store, &order, "INV-25", DEFAULT_PIXELS_PER_PT).unwrap();
    assert_eq!(
        common::read_pdf::page_count(&pdf),
        2,
        "25 lines fill two pages"
    );
    assert_eq!(pngs.len(), 2);
    for png in &pngs {
        let page = decode(png);
        assert_a4(&page, 2.0);
        assert!(page.dark > 0.005, "a blank page");
    }
    assert_ne!(pngs[0], pngs[1]);
    // The console's thumbnail is page 1 alone.
    let first =
        render_first_png_for_store(&store, &order, "INV-25", DEFAULT_PIXELS_PER_PT).unwrap();
    assert_eq!(first, pngs[0]);
}

#[test]
fn a_scale_or_page_too_large_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "en", "");
    let order = woo_order("woocommerce/order-updated-paid-eur.json");
    for scale in [0.0, -1.0, f32::NAN, f32::INFINITY, 8.5] {
        let err = render_png_for_store(&store, &order, "INV-4", scale).unwrap_err();
        assert!(
            matches!(err, InvoiceError::Render(RenderError::Image(_))),
            "{scale}: {err}"
        );
    }
    // A merchant template may ask for any page size: 5 m square would be 800 million pixels.
    std::fs::write(
        dir.path().join("huge.typ"),
        "#set page(width: 500cm, height: 500cm)\nHuge\n",
    )
    .unwrap();
    let store = store_in(dir.path(), "en", "template = \"huge.typ\"");
    let err = render_png_for_store(&store, &order, "INV-4", 2.0).unwrap_err();
    assert!(err.to_string().contains("page 1 would be"), "{err}");
    // The PDF of that page is still made: only the picture is refused.
    assert!(render_for_store(&store, &order, "INV-4").is_ok());
}

#[test]
fn the_invoice_command_writes_png_pages_beside_the_pdf() {
    let dir = tempfile::tempdir().unwrap();
    // A template of two pages, so the numbering of the files is seen.
    std::fs::write(
        dir.path().join("two.typ"),
        "#set page(paper: \"a4\")\n#let d = json(\"/data.json\")\n= #d.invoice.number\n#pagebreak()\nPage two\n",
    )
    .unwrap();
    store_in(dir.path(), "fr", "template = \"two.typ\"");
    let out_dir = dir.path().join("previews");
    std::fs::create_dir(&out_dir).unwrap();
    let fixture_path = format!(
        "{}/tests/fixtures/woocommerce/order-updated-paid-eur.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
            .args(["invoice", "--store", "acme", "--order", &fixture_path, "-o"])
            .arg(out_dir.join("acme-5120.pdf"))
            .args(extra)
            .env("SHOPBIP__STORES__DIR", dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stdout, stderr)
    };

    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains(".png"), "{stdout}");
    assert!(
        !out_dir.join("acme-5120-1.png").exists(),
        "PNGs only with --png"
    );

    let (code, stdout, stderr) = run(&["--png", "--scale", "1"]);
    assert_eq!(code, Some(0), "{stderr}");
    let pdf = std::fs::read(out_dir.join("acme-5120.pdf")).unwrap();
    assert!(common::pdf_text(&pdf).contains("F-2026-0042"));
    for n in 1..=2 {
        let path = out_dir.join(format!("acme-5120-{n}.png"));
        assert!(
            stdout.contains(&path.display().to_string()),
            "{path:?} not printed: {stdout}"
        );
        let bytes = std::fs::read(&path).unwrap();
        assert_a4(&decode(&bytes), 1.0);
    }
    assert!(!out_dir.join("acme-5120-3.png").exists());

    // A scale out of range is refused before anything is rendered, and --scale needs --png.
    for bad in [&["--png", "--scale", "0"][..], &["--scale", "3"]] {
        let (code, _, stderr) = run(bad);
        assert_eq!(code, Some(2), "{bad:?}: {stderr}");
    }
}
