//! `invoice.facturx`: the rendered invoice is a PDF/A-3b carrying its Factur-X XML (EN 16931),
//! read back here with lopdf, and checked by the reference tools in the ignored test that
//! `.ci/run` runs (the `factur-x` package's XSD, the EN 16931 schematron under Saxon).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use pdf_extract::{Dictionary, Document, Object};
use shopbip::invoice::data::OriginalInvoice;
use shopbip::invoice::{CreditNoteOf, render_credit_note_for_store, render_for_store};
use shopbip::order::{Order, TaxLine};
use shopbip::stores::{Store, StoreRegistry};

use super::{text, woo_order};

fn french_store(dir: &Path, facturx: bool) -> Arc<Store> {
    let profile = format!(
        r#"platform = "woocommerce"
base_uri = "https://shop.acme.test"
default_country = "FR"
[webhook]
secrets = ["s"]
[buzzbip]
username = "u"
password = "p"
api_key = "k"
[invoice]
language = "fr"
seller_name = "Dupont & Fils <Épicerie>"
seller_address = "12 rue de la Paix, 75002 Paris"
seller_tax_id = "FR40303265045"
facturx = {facturx}
[invoice.seller_ids]
legal_form = "SARL"
capital = "10 000 €"
siren = "303265045"
rcs = "RCS Paris 303 265 045"
[[notify]]
on = "order.paid"
template_id = 1289
"#
    );
    std::fs::write(dir.join("acme.toml"), profile).unwrap();
    let registry = StoreRegistry::load_dir(dir).unwrap_or_else(|e| panic!("{e:?}"));
    registry.get("acme").unwrap().clone()
}

fn eur_order() -> Order {
    woo_order("woocommerce/order-updated-paid-eur.json")
}

/// What the tests look at in a PDF: its catalog's attachments and XMP.
struct Pdf {
    doc: Document,
}

impl Pdf {
    fn load(bytes: &[u8]) -> Pdf {
        Pdf {
            doc: Document::load_mem(bytes).expect("the PDF parses"),
        }
    }

    fn resolve<'a>(&'a self, o: &'a Object) -> &'a Object {
        self.doc.dereference(o).map(|(_, o)| o).unwrap_or(o)
    }

    fn catalog(&self) -> &Dictionary {
        self.doc.catalog().expect("a catalog")
    }

    fn stream_text(&self, o: &Object) -> String {
        let stream = self.resolve(o).as_stream().expect("a stream");
        String::from_utf8(stream.decompressed_content().expect("decodes")).expect("UTF-8")
    }

    fn xmp(&self) -> String {
        self.stream_text(self.catalog().get(b"Metadata").expect("/Metadata"))
    }

    /// The catalog's associated files (`/AF`): each file spec's name, relationship, subtype and
    /// content.
    fn associated_files(&self) -> Vec<(String, String, String, String)> {
        let Ok(af) = self.catalog().get(b"AF") else {
            return Vec::new();
        };
        let af = self.resolve(af).as_array().expect("/AF is an array");
        af.iter()
            .map(|spec| {
                let spec = self.resolve(spec).as_dict().expect("a file spec");
                let name = spec
                    .get(b"UF")
                    .or_else(|_| spec.get(b"F"))
                    .and_then(|n| n.as_str())
                    .map(decode_text)
                    .expect("a file name");
                let relationship = spec
                    .get(b"AFRelationship")
                    .and_then(|r| r.as_name())
                    .map(|r| String::from_utf8_lossy(r).into_owned())
                    .unwrap_or_default();
                let file = spec
                    .get(b"EF")
                    .and_then(|ef| self.resolve(ef).as_dict())
                    .and_then(|ef| ef.get(b"F"))
                    .expect("/EF /F");
                let subtype = self
                    .resolve(file)
                    .as_stream()
                    .ok()
                    .and_then(|s| s.dict.get(b"Subtype").ok())
                    .and_then(|s| s.as_name().ok())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_default();
                (name, relationship, subtype, self.stream_text(file))
            })
            .collect()
    }

    /// The names in the catalog's `/Names /EmbeddedFiles` tree (a flat one, as Typst writes).
    fn embedded_file_names(&self) -> Vec<String> {
        let Ok(names) = self.catalog().get(b"Names") else {
            return Vec::new();
        };
        let tree = self
            .resolve(names)
            .as_dict()
            .and_then(|n| n.get(b"EmbeddedFiles"))
            .map(|t| self.resolve(t));
        let Ok(Ok(tree)) = tree.map(|t| t.as_dict()) else {
            return Vec::new();
        };
        let entries = tree.get(b"Names").and_then(|n| self.resolve(n).as_array());
        entries
            .map(|e| {
                e.iter()
                    .step_by(2)
                    .filter_map(|n| n.as_str().ok().map(decode_text))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A PDF text string: UTF-16BE with its byte order mark, or PDFDocEncoding (ASCII here).
fn decode_text(bytes: &[u8]) -> String {
    match bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some(utf16) => {
            let units: Vec<u16> = utf16
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn between<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once(close.as_str()).map(|(v, _)| v))
        .collect()
}

fn amounts(xml: &str, tag: &str) -> Vec<rust_decimal::Decimal> {
    between(xml, tag)
        .into_iter()
        .map(|v| v.parse().unwrap())
        .collect()
}

#[test]
fn a_facturx_invoice_is_a_pdf_a3b_with_its_xml_attached_as_the_alternative() {
    let dir = tempfile::tempdir().unwrap();
    let store = french_store(dir.path(), true);
    let order = eur_order();
    let pdf = render_for_store(&store, &order, "FA-2026-00042").unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let read = Pdf::load(&pdf);

    let files = read.associated_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let (name, relationship, subtype, xml) = &files[0];
    assert_eq!(name, "factur-x.xml");
    assert_eq!(relationship, "Alternative");
    assert_eq!(subtype, "text/xml");
    assert_eq!(read.embedded_file_names(), ["factur-x.xml"]);

    // The XML: this invoice, its totals as printed, one VAT rate whose tax is the tax total.
    for needle in [
        "<ram:ID>urn:cen.eu:en16931:2017</ram:ID>",
        "<ram:ID>FA-2026-00042</ram:ID>",
        "<ram:TypeCode>380</ram:TypeCode>",
        r#"<udt:DateTimeString format="102">20261120</udt:DateTimeString>"#,
        "<ram:Name>Dupont &amp; Fils &lt;Épicerie&gt;</ram:Name>",
        "<ram:Name>Les Délices d&apos;Hélène</ram:Name>",
        r#"<ram:ID schemeID="VA">FR40303265045</ram:ID>"#,
        r#"<ram:ID schemeID="0002">303265045</ram:ID>"#,
        "<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>",
        "<ram:CityName>Besançon</ram:CityName>",
        // France's payment mentions, as the notes its e-invoicing rules look for.
        "<ram:SubjectCode>PMD</ram:SubjectCode>",
        "<ram:SubjectCode>PMT</ram:SubjectCode>",
        "<ram:SubjectCode>AAB</ram:SubjectCode>",
    ] {
        assert!(xml.contains(needle), "{needle} missing from:\n{xml}");
    }
    let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
    assert_eq!(amounts(xml, "ram:GrandTotalAmount"), [d("64.80")], "{xml}");
    assert_eq!(amounts(xml, "ram:TaxBasisTotalAmount"), [d("54.00")]);
    let tax_total: Vec<_> = xml
        .split(r#"<ram:TaxTotalAmount currencyID="EUR">"#)
        .skip(1)
        .filter_map(|r| r.split_once('<').map(|(v, _)| d(v)))
        .collect();
    assert_eq!(tax_total, [d("10.80")]);
    let breakdown = amounts(xml, "ram:CalculatedAmount");
    assert_eq!(
        breakdown.iter().sum::<rust_decimal::Decimal>(),
        tax_total[0],
        "the VAT breakdown adds up to the tax total"
    );
    assert_eq!(amounts(xml, "ram:BasisAmount"), [d("54.00")]);
    // The lines, the shipping charge and the header: 49.10 + 4.90 = 54.00.
    assert_eq!(
        amounts(xml, "ram:LineTotalAmount"),
        [d("49.10"), d("49.10")]
    );
    assert_eq!(amounts(xml, "ram:ChargeTotalAmount"), [d("4.90")]);
    // Paid online: nothing is due.
    assert_eq!(amounts(xml, "ram:DuePayableAmount"), [d("0.00")]);

    // PDF/A-3b, and the Factur-X properties with their schema described.
    let xmp = read.xmp();
    for needle in [
        "<pdfaid:part>3</pdfaid:part>",
        "<pdfaid:conformance>B</pdfaid:conformance>",
        "<fx:DocumentType>INVOICE</fx:DocumentType>",
        "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>",
        "<fx:Version>1.0</fx:Version>",
        "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>",
        "<pdfaSchema:prefix>fx</pdfaSchema:prefix>",
    ] {
        assert!(
            xmp.contains(needle),
            "{needle} missing from the XMP:\n{xmp}"
        );
    }

    // Rewriting the XMP left the rest as it was: the same text on the same pages as without.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = render_for_store(
        &french_store(plain_dir.path(), false),
        &order,
        "FA-2026-00042",
    )
    .unwrap();
    assert_eq!(text(&pdf), text(&plain));
    assert_eq!(
        crate::common::read_pdf::page_count(&pdf),
        crate::common::read_pdf::page_count(&plain)
    );
    let plain = Pdf::load(&plain);
    assert!(plain.associated_files().is_empty());
    assert!(
        !plain.xmp().contains("pdfaid:part"),
        "not PDF/A without facturx"
    );
    // The same invoice renders to the same bytes: the dates are the invoice's own.
    assert_eq!(
        render_for_store(&store, &order, "FA-2026-00042").unwrap(),
        pdf
    );
    assert!(pdf.len() <= 100 * 1024, "{} bytes", pdf.len());
}

#[test]
fn a_facturx_credit_note_is_type_381_and_names_its_invoice() {
    let dir = tempfile::tempdir().unwrap();
    let store = french_store(dir.path(), true);
    let of = CreditNoteOf {
        issued_at: Some("2026-12-03T09:30:00Z".into()),
        original: OriginalInvoice {
            number: Some("FA-2026-00042".into()),
            issued_at: Some("2026-11-20T10:04:40Z".into()),
            none_issued: false,
        },
    };
    let pdf = render_credit_note_for_store(&store, &eur_order(), "AV-2026-00007", &of).unwrap();
    let files = Pdf::load(&pdf).associated_files();
    assert_eq!(files.len(), 1);
    let xml = &files[0].3;
    assert!(xml.contains("<ram:TypeCode>381</ram:TypeCode>"), "{xml}");
    assert!(xml.contains("<ram:ID>AV-2026-00007</ram:ID>"));
    assert!(xml.contains(">20261203<"), "dated the day it was issued");
    let reference = between(xml, "ram:InvoiceReferencedDocument");
    assert_eq!(reference.len(), 1, "{xml}");
    assert!(reference[0].contains("FA-2026-00042") && reference[0].contains(">20261120<"));
    assert!(
        Pdf::load(&pdf)
            .xmp()
            .contains("<fx:ConformanceLevel>EN 16931<")
    );
}

#[test]
fn an_order_the_xml_cannot_describe_still_gets_its_invoice_without_xml() {
    let dir = tempfile::tempdir().unwrap();
    let store = french_store(dir.path(), true);
    let mut order = eur_order();
    // Two rates, and lines that do not say which is theirs.
    order.taxes = vec![
        TaxLine {
            label: "TVA 20 %".into(),
            rate: Some("20".parse().unwrap()),
            amount: "9.80".parse().unwrap(),
        },
        TaxLine {
            label: "TVA 5,5 %".into(),
            rate: Some("5.5".parse().unwrap()),
            amount: "1.00".parse().unwrap(),
        },
    ];
    let pdf = render_for_store(&store, &order, "FA-2026-00043").unwrap();
    assert!(text(&pdf).contains("FA-2026-00043"));
    assert!(Pdf::load(&pdf).associated_files().is_empty());
}

/// The Python interpreter with `factur-x` and `saxonche`: `SHOPBIP_FACTURX_PYTHON`, else the
/// venv `.ci/run` makes, else `python3`.
fn python() -> String {
    std::env::var("SHOPBIP_FACTURX_PYTHON").unwrap_or_else(|_| {
        let venv = "/opt/factur-x/bin/python";
        if Path::new(venv).exists() {
            venv.into()
        } else {
            "python3".into()
        }
    })
}

fn validate(pdf: &[u8], dir: &Path, type_code: &str) {
    let file = dir.join("invoice.pdf");
    std::fs::write(&file, pdf).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/invoice/facturx_check.py"
    );
    let out = Command::new(python())
        .arg(script)
        .arg(&file)
        .args(["en16931", type_code])
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "the validator is not installed (pip install factur-x saxonche): {stderr}"
    );
    assert!(
        out.status.success() && stdout.starts_with("OK"),
        "the Factur-X validator refused the PDF:\n{stdout}\n{stderr}"
    );
}

/// The reference checks: the `factur-x` package finds factur-x.xml and validates it against
/// the EN 16931 XSD, the package's EN 16931 schematron finds no fatal error, and the PDF/A-3
/// attachment and XMP are what the package's own generator writes.
#[test]
#[ignore = "needs the factur-x Python package (.ci/run installs it)"]
fn the_factur_x_validator_accepts_an_invoice_and_a_credit_note() {
    let dir = tempfile::tempdir().unwrap();
    let store = french_store(dir.path(), true);
    let pdf = render_for_store(&store, &eur_order(), "FA-2026-00042").unwrap();
    validate(&pdf, dir.path(), "380");

    // Prices with the tax included, unpaid: the nets and the amount due are worked out.
    let mut order = shopbip::invoice::sample_order();
    order.prices_include_tax = true;
    order.tax_total = "9.95".parse().unwrap();
    order.taxes[0].amount = order.tax_total;
    order.total = "59.70".parse().unwrap();
    let pdf = render_for_store(&store, &order, "FA-2026-00043").unwrap();
    validate(&pdf, dir.path(), "380");

    let of = CreditNoteOf {
        issued_at: Some("2026-12-03T09:30:00Z".into()),
        original: OriginalInvoice {
            number: Some("FA-2026-00042".into()),
            issued_at: Some("2026-11-20T10:04:40Z".into()),
            none_issued: false,
        },
    };
    let pdf = render_credit_note_for_store(&store, &eur_order(), "AV-2026-00007", &of).unwrap();
    validate(&pdf, dir.path(), "381");
}
