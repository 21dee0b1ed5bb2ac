//! Invoice PDFs: rendered with Typst and read back (`common::read_pdf`), and fetched from a
//! local HTTP server.

mod credit_notes;
mod facturx;
mod fetching;
mod legal;
mod locale;
mod partial_refunds;
mod png;
mod zatca;

use crate::common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::common::sign::fixture;
use shopbip::invoice::fetch::{FetchClients, FetchError, FetchOptions, fetch_pdf};
use shopbip::invoice::{RenderError, render_for_store};
use shopbip::net::UrlPolicy;
use shopbip::order::Order;
use shopbip::platforms::Platform;
use shopbip::stores::{Store, StoreRegistry};

fn store_in(dir: &Path, language: &str, extra_invoice: &str) -> Arc<Store> {
    let profile = format!(
        r#"platform = "woocommerce"
base_uri = "https://shop.acme.test"
default_country = "TN"
[webhook]
secrets = ["s"]
[buzzbip]
username = "u"
password = "p"
api_key = "k"
[invoice]
language = "{language}"
seller_name = "Acme SARL"
seller_address = "12 rue de Marseille, 1001 Tunis"
seller_tax_id = "1234567/A/B/M/000"
{extra_invoice}
[[notify]]
on = "order.paid"
template_id = 1289
"#
    );
    std::fs::write(dir.join("acme.toml"), profile).unwrap();
    let registry = StoreRegistry::load_dir(dir).unwrap_or_else(|e| panic!("{e:?}"));
    registry.get("acme").unwrap().clone()
}

fn woo_order(path: &str) -> Order {
    Platform::Woocommerce
        .adapter()
        .parse_order(&fixture(path))
        .unwrap()
}

fn text(pdf: &[u8]) -> String {
    common::pdf_text(pdf)
}

#[test]
fn the_pdf_text_holds_number_names_items_and_total_with_fonts_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "fr", "");

    let eur = woo_order("woocommerce/order-updated-paid-eur.json");
    let pdf = render_for_store(&store, &eur, "F-2026-0042").unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let t = text(&pdf);
    for needle in [
        "F-2026-0042",
        "FA-2026-0042",
        "Zoë Dupré-Lefèvre",
        "Les Délices d'Hélène",
        "Coffret crème brûlée × 6",
        // As French writes euros: decimal comma, no-break space, the sign after.
        "64,80\u{a0}€",
        "FACTURE",
        "Total TTC",
        "Acme SARL",
    ] {
        assert!(t.contains(needle), "{needle:?} missing from:\n{t}");
    }

    let tnd = woo_order("woocommerce/order-updated-paid-tnd.json");
    let pdf = render_for_store(&store, &tnd, "INV-000001").unwrap();
    let t = text(&pdf);
    for needle in [
        "INV-000001",
        "Harissa du Cap Bon (pot 380 g)",
        "248,570\u{a0}TND",
        "208,000\u{a0}TND",
        "-5,000\u{a0}TND",
        "TVA 19 %",
        "25,000",
        "11,083",
    ] {
        assert!(t.contains(needle), "{needle:?} missing from:\n{t}");
    }
    // Arabic shapes into presentation forms that the ToUnicode maps give back as letters; compare
    // without spaces, since the extractor may split words differently in right-to-left runs.
    let squashed: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    for arabic in ["أميرة", "صالح", "زيت", "زيتون"] {
        assert!(squashed.contains(arabic), "{arabic:?} missing from:\n{t}");
    }
    let fonts = common::read_pdf::fonts(&pdf);
    assert!(
        fonts.iter().any(|f| f.name == "NotoSans-Regular")
            && fonts.iter().any(|f| f.name.starts_with("NotoSansArabic")),
        "{fonts:?}"
    );
    for font in &fonts {
        assert!(
            font.embedded && font.subset,
            "font not embedded as a subset: {font:?}"
        );
    }
    assert!(
        pdf.len() <= 100 * 1024,
        "one-page invoice is {} bytes",
        pdf.len()
    );
}

#[test]
fn a_long_order_breaks_pages_and_repeats_the_table_header() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "en", "");
    let mut order = woo_order("woocommerce/order-updated-paid-eur.json");
    let line = order.lines[0].clone();
    order.lines = (1..=80)
        .map(|i| shopbip::order::LineItem {
            name: format!("Article numéro {i:02}"),
            ..line.clone()
        })
        .collect();
    let pdf = render_for_store(&store, &order, "INV-000080").unwrap();
    let texts = common::read_pdf::pages(&pdf);
    let n = common::read_pdf::page_count(&pdf);
    assert!(n >= 2, "80 lines on {n} page(s)");
    assert_eq!(texts.len(), n, "one text per page");
    for (page, t) in (1..=n).zip(&texts) {
        assert!(
            t.contains("Description") && t.contains("Unit price"),
            "page {page} lacks the header:\n{t}"
        );
        assert!(
            t.contains(&format!("Page {page} / {n}")),
            "page {page} lacks its number:\n{t}"
        );
    }
    let all = text(&pdf);
    assert!(all.contains("Article numéro 01") && all.contains("Article numéro 80"));
}

#[test]
fn each_language_renders_its_labels() {
    let tnd = woo_order("woocommerce/order-updated-paid-tnd.json");
    for (lang, labels) in [
        (
            "en",
            vec![
                "INVOICE",
                "BILL TO",
                "Subtotal",
                "Shipping",
                "Total",
                "20 November 2026",
            ],
        ),
        (
            "fr",
            vec![
                "FACTURE",
                "FACTURÉ À",
                "Sous-total",
                "Livraison",
                "Total TTC",
                "20 novembre 2026",
            ],
        ),
        // The Arabic long date: its month word, Latin digits.
        ("ar", vec!["فاتورة", "الشحن", "المجموع", "نوفمبر", "2026"]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path(), lang, "");
        let t = text(&render_for_store(&store, &tnd, "INV-7").unwrap());
        let squashed: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        for label in labels {
            let want: String = label.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(
                squashed.contains(&want),
                "{lang}: {label:?} missing from:\n{t}"
            );
        }
        let total = if lang == "fr" { "248,570" } else { "248.570" };
        assert!(t.contains(total), "{lang}: TND keeps three decimals:\n{t}");
    }
}

#[test]
fn a_merchant_template_renders_and_its_errors_carry_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.typ"),
        "#let d = json(\"/data.json\")\n= Custom #d.invoice.number\n#d.totals.total\n",
    )
    .unwrap();
    let store = store_in(dir.path(), "en", "template = \"mine.typ\"");
    let tnd = woo_order("woocommerce/order-updated-paid-tnd.json");
    let t = text(&render_for_store(&store, &tnd, "INV-9").unwrap());
    assert!(
        t.contains("Custom INV-9") && t.contains("TND\u{a0}248.570"),
        "{t}"
    );

    std::fs::write(
        dir.path().join("mine.typ"),
        "#let d = json(\"/data.json\")\n\n#d.invoice.number\n#let x = (1, 2\n",
    )
    .unwrap();
    let err = render_for_store(&store, &tnd, "INV-9").unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            shopbip::invoice::InvoiceError::Render(RenderError::Template(_))
        ),
        "{message}"
    );
    assert!(message.contains("line 4"), "{message}");

    // A template cannot read the server's files.
    std::fs::write(dir.path().join("mine.typ"), "#read(\"/etc/passwd\")\n").unwrap();
    assert!(render_for_store(&store, &tnd, "INV-9").is_err());

    // shopbip check reports the same error with the file and line.
    std::fs::write(
        dir.path().join("mine.typ"),
        "#let d = json(\"/data.json\")\n#d.nope.field\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("check")
        .env("SHOPBIP__STORES__DIR", dir.path())
        .output()
        .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("acme.toml: invoice.template: mine.typ: ") && all.contains("line 2"),
        "{all}"
    );
}

/// A 2x2 red PNG, written by hand (zlib stored block, CRCs computed).
fn tiny_png() -> Vec<u8> {
    fn crc(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc(&body).to_be_bytes());
    }
    let raw: Vec<u8> = [0u8, 255, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 0, 0].to_vec();
    let mut adler = (1u32, 0u32);
    for &b in &raw {
        adler.0 = (adler.0 + b as u32) % 65521;
        adler.1 = (adler.1 + adler.0) % 65521;
    }
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&(raw.len() as u16).to_le_bytes());
    z.extend_from_slice(&(!(raw.len() as u16)).to_le_bytes());
    z.extend_from_slice(&raw);
    z.extend_from_slice(&((adler.1 << 16) | adler.0).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &[0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn the_store_logo_is_embedded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("logo.png"), tiny_png()).unwrap();
    let store = store_in(dir.path(), "en", "logo = \"logo.png\"");
    let pdf = render_for_store(
        &store,
        &woo_order("woocommerce/order-updated-paid-eur.json"),
        "INV-1",
    )
    .unwrap();
    let images = common::read_pdf::images(&pdf);
    assert!(
        images.contains(&(2, 2)),
        "no 2x2 logo image among {images:?}"
    );
}

#[test]
fn the_invoice_command_writes_a_preview() {
    let dir = tempfile::tempdir().unwrap();
    store_in(dir.path(), "fr", "");
    let out_pdf = dir.path().join("out.pdf");
    let fixture_path = format!(
        "{}/tests/fixtures/woocommerce/order-updated-paid-eur.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["invoice", "--store", "acme", "--order", &fixture_path, "-o"])
        .arg(&out_pdf)
        .env("SHOPBIP__STORES__DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pdf = std::fs::read(&out_pdf).unwrap();
    assert!(
        text(&pdf).contains("F-2026-0042"),
        "the platform's invoice number is used"
    );
}
