//! The ZATCA phase-1 QR code of a Saudi simplified tax invoice, read back the way an inspector's
//! phone would: the rendered page rasterised (typst-render), the code found and decoded in the
//! pixels (rqrr), its base64 and TLV taken apart here, independently of the encoder.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use base64::Engine;
use shopbip::invoice::{
    CreditNoteOf, DEFAULT_PIXELS_PER_PT, InvoiceError, render_credit_note_for_store,
    render_for_store, render_png_for_store, zatca,
};
use shopbip::order::Order;
use shopbip::stores::{Store, StoreRegistry};

use super::{store_in, woo_order};
use crate::common;

const SELLER: &str = "شركة أكمي للتجارة";
const VAT: &str = "310122393500003";

fn sa_store(dir: &Path, language: &str, vat: &str) -> Arc<Store> {
    let profile = format!(
        r#"platform = "woocommerce"
base_uri = "https://shop.acme.test"
default_country = "SA"
[webhook]
secrets = ["s"]
[buzzbip]
username = "u"
password = "p"
api_key = "k"
[invoice]
language = "{language}"
seller_name = "{SELLER}"
seller_address = "King Fahd Road, Riyadh 12271"
seller_tax_id = "{vat}"
[[notify]]
on = "order.paid"
template_id = 1289
"#
    );
    std::fs::write(dir.join("acme.toml"), profile).unwrap();
    let registry = StoreRegistry::load_dir(dir).unwrap_or_else(|e| panic!("{e:?}"));
    registry.get("acme").unwrap().clone()
}

/// A Saudi order: paid at noon Riyadh time, 1,150.00 SAR of which 150.00 VAT.
fn sar_order() -> Order {
    let mut order = woo_order("woocommerce/order-updated-paid-eur.json");
    order.currency = "SAR".into();
    order.total = "1150".parse().unwrap();
    order.tax_total = "150".parse().unwrap();
    order.paid_at = Some("2026-11-20T12:00:00+03:00".into());
    order
}

/// Every QR code found on a PNG page, decoded to its text.
fn qr_codes(png_bytes: &[u8]) -> Vec<String> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let channels = frame.color_type.samples();
    let (w, h) = (frame.width as usize, frame.height as usize);
    let pixels = &buf[..frame.buffer_size()];
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let p = &pixels[(y * w + x) * channels..];
        ((u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10) as u8
    });
    image
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().unwrap_or_else(|e| panic!("{e:?}")).1)
        .collect()
}

/// The TLV taken apart: (tag, value) in order, lengths checked against the bytes.
fn tlv_fields(bytes: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        assert!(rest.len() >= 2, "a truncated TLV header in {bytes:?}");
        let (tag, len) = (rest[0], usize::from(rest[1]));
        assert!(rest.len() >= 2 + len, "tag {tag} runs past the end");
        let value = String::from_utf8(rest[2..2 + len].to_vec()).unwrap();
        out.push((tag, value));
        rest = &rest[2 + len..];
    }
    out
}

fn decoded_fields(page: &[u8]) -> Vec<(u8, String)> {
    let codes = qr_codes(page);
    assert_eq!(codes.len(), 1, "one QR code on the page, found {codes:?}");
    let tlv = base64::engine::general_purpose::STANDARD
        .decode(&codes[0])
        .unwrap_or_else(|e| panic!("not base64: {:?}: {e}", codes[0]));
    tlv_fields(&tlv)
}

fn want(timestamp: &str, total: &str, vat: &str) -> Vec<(u8, String)> {
    vec![
        (1, SELLER.to_owned()),
        (2, VAT.to_owned()),
        (3, timestamp.to_owned()),
        (4, total.to_owned()),
        (5, vat.to_owned()),
    ]
}

#[test]
fn the_qr_code_on_a_saudi_invoice_decodes_to_its_five_fields() {
    let dir = tempfile::tempdir().unwrap();
    for language in ["ar", "en"] {
        let store = sa_store(dir.path(), language, VAT);
        let pages = render_png_for_store(&store, &sar_order(), "INV-000042", DEFAULT_PIXELS_PER_PT)
            .unwrap();
        assert_eq!(pages.len(), 1, "{language}: a one-page invoice");
        assert_eq!(
            decoded_fields(&pages[0]),
            want("2026-11-20T09:00:00Z", "1150.00", "150.00"),
            "{language}"
        );
        // The seller name's length is counted in bytes: 15 letters of two bytes and 2 spaces.
        assert_eq!(SELLER.chars().count(), 17);
        assert_eq!(SELLER.len(), 32);
    }

    // Without a paid date, the order's creation time (WooCommerce's GMT time) stamps it.
    let store = sa_store(dir.path(), "en", VAT);
    let mut unpaid = sar_order();
    unpaid.paid_at = None;
    let pages = render_png_for_store(&store, &unpaid, "INV-000043", DEFAULT_PIXELS_PER_PT).unwrap();
    assert_eq!(
        decoded_fields(&pages[0]),
        want("2026-11-20T09:02:11Z", "1150.00", "150.00")
    );
}

#[test]
fn a_long_seller_name_still_decodes_at_print_resolution() {
    // 250 bytes of seller name (near the 255 a TLV value holds) make a version-15 code: 77
    // modules and the quiet zone in the same 28 mm, ~0.33 mm each. At 4 pixels per point
    // (288 dpi, an office printer's resolution) it is still read back exactly.
    let long = format!("{} {}", "مؤسسة".repeat(24), "X".repeat(9));
    assert_eq!(long.len(), 250);
    let dir = tempfile::tempdir().unwrap();
    sa_store(dir.path(), "en", VAT);
    let profile = std::fs::read_to_string(dir.path().join("acme.toml")).unwrap();
    std::fs::write(dir.path().join("acme.toml"), profile.replace(SELLER, &long)).unwrap();
    let store = StoreRegistry::load_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e:?}"))
        .get("acme")
        .unwrap()
        .clone();
    let pages = render_png_for_store(&store, &sar_order(), "INV-000044", 4.0).unwrap();
    let fields = decoded_fields(&pages[0]);
    assert_eq!(fields[0], (1, long));
    assert_eq!(
        fields[1..],
        want("2026-11-20T09:00:00Z", "1150.00", "150.00")[1..]
    );
}

#[test]
fn a_saudi_invoice_carries_both_titles_and_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let store = sa_store(dir.path(), "ar", VAT);
    let pdf = render_for_store(&store, &sar_order(), "INV-000042").unwrap();
    let t = common::pdf_text(&pdf);
    assert!(t.contains("Simplified Tax Invoice"), "{t}");
    // The extractor gives a right-to-left line's words in visual order: the title's three
    // words are looked for on one line, in either order.
    assert!(
        t.lines().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.len() == 3
                && ["فاتورة", "ضريبية", "مبسطة"]
                    .iter()
                    .all(|w| words.contains(w))
        }),
        "{t}"
    );
    assert_eq!(common::read_pdf::page_count(&pdf), 1);
    assert!(pdf.len() <= 100 * 1024, "{} bytes", pdf.len());
}

#[test]
fn an_invoice_outside_saudi_arabia_has_no_qr_code_and_no_saudi_title() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "en", "");
    let order = sar_order();
    let pages = render_png_for_store(&store, &order, "INV-1", DEFAULT_PIXELS_PER_PT).unwrap();
    assert_eq!(qr_codes(&pages[0]), Vec::<String>::new());
    let t = common::pdf_text(&render_for_store(&store, &order, "INV-1").unwrap());
    assert!(!t.contains("Simplified Tax Invoice"), "{t}");
}

#[test]
fn a_saudi_credit_note_carries_the_qr_code_stamped_when_it_was_issued() {
    let dir = tempfile::tempdir().unwrap();
    let store = sa_store(dir.path(), "en", VAT);
    let of = CreditNoteOf {
        issued_at: Some("2026-12-03T10:00:00Z".into()),
        ..CreditNoteOf::default()
    };
    let pdf = render_credit_note_for_store(&store, &sar_order(), "AV-000001", &of).unwrap();
    let t = common::pdf_text(&pdf);
    // Its own title; "Simplified Tax Invoice" is the invoice's.
    assert!(t.contains("CREDIT NOTE"), "{t}");
    assert!(!t.contains("Simplified Tax Invoice"), "{t}");
    let fields = zatca::Fields::of(&store, &sar_order(), of.issued_at.as_deref()).unwrap();
    assert_eq!(fields.timestamp, "2026-12-03T10:00:00Z");
    // It goes through the QR code: without the VAT number it is refused like an invoice.
    let store = sa_store(dir.path(), "en", "");
    let err = render_credit_note_for_store(&store, &sar_order(), "AV-000001", &of).unwrap_err();
    assert!(matches!(err, InvoiceError::Zatca(_)), "{err}");
}

#[test]
fn a_saudi_store_without_its_vat_number_is_warned_of_and_its_invoice_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = sa_store(dir.path(), "en", "");
    let err = render_for_store(&store, &sar_order(), "INV-1").unwrap_err();
    assert!(matches!(err, InvoiceError::Zatca(_)), "{err}");
    assert!(err.to_string().contains("invoice.seller_ids.vat"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("check")
        .env("SHOPBIP__STORES__DIR", dir.path())
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        all.contains("warning: acme: invoice.seller_ids.vat (or invoice.seller_tax_id) is not set"),
        "{all}"
    );
    // A warning: the store still loads.
    assert_eq!(out.status.code(), Some(0), "{all}");

    // With its own template too: the template is compiled and loads, the QR code's missing
    // number staying a warning, not a template error.
    std::fs::write(
        dir.path().join("mine.typ"),
        "#let d = json(\"/data.json\")\n= #d.invoice.number\n",
    )
    .unwrap();
    let profile = std::fs::read_to_string(dir.path().join("acme.toml")).unwrap();
    let with_template = profile.replace("[invoice]\n", "[invoice]\ntemplate = \"mine.typ\"\n");
    std::fs::write(dir.path().join("acme.toml"), &with_template).unwrap();
    let check = || {
        let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
            .arg("check")
            .env("SHOPBIP__STORES__DIR", dir.path())
            .output()
            .unwrap();
        let all = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), all)
    };
    let (code, all) = check();
    assert_eq!(code, Some(0), "{all}");
    assert!(
        all.contains("warning: acme: invoice.seller_ids.vat (or invoice.seller_tax_id)"),
        "{all}"
    );
    // A broken template is still reported as one.
    std::fs::write(dir.path().join("mine.typ"), "#let x = (1, 2\n").unwrap();
    let (code, all) = check();
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("acme.toml: invoice.template: mine.typ: "),
        "{all}"
    );

    // A number that is not a Saudi one is named; a good one is not warned of.
    sa_store(dir.path(), "en", "123456789012345");
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("check")
        .env("SHOPBIP__STORES__DIR", dir.path())
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        all.contains(
            "warning: acme: invoice.seller_ids.vat (or invoice.seller_tax_id) \"123456789012345\" is not a Saudi VAT number"
        ),
        "{all}"
    );
    sa_store(dir.path(), "en", VAT);
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("check")
        .env("SHOPBIP__STORES__DIR", dir.path())
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!all.contains("warning:"), "{all}");
}
