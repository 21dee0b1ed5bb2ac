//! What makes an invoice legal where the seller trades, read back from rendered PDFs: the VAT
//! table and the totals before and with tax, unit prices that multiply out, the seller's
//! identifiers, the French mentions, Tunisia's stamp duty; and `check` naming what a
//! country's rules need.

use super::{store_in, text, woo_order};
use shopbip::invoice::render_for_store;
use shopbip::order::LineItem;
use shopbip::stores::StoreRegistry;

/// Text without the spaces the extractor or the locale put between words and digits.
fn squash(t: &str) -> String {
    t.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn a_tunisian_invoice_adds_the_stamp_after_the_total_with_tax_and_prints_the_vat_table() {
    let dir = tempfile::tempdir().unwrap();
    // default_country TN: Tunisia's rules without saying so.
    let store = store_in(dir.path(), "fr", "");
    let order = woo_order("woocommerce/order-updated-paid-tnd.json");
    let t = text(&render_for_store(&store, &order, "INV-000001").unwrap());
    let s = squash(&t);
    for needle in [
        // Totals: before tax (208 + 7 − 5), the tax, with tax, the stamp, what is due.
        "TotalHT210,000TND",
        "TotalTTC248,570TND",
        "Droitdetimbre1,000TND",
        "Netàpayer249,570TND",
        // The VAT table: 19 % on what the tax was charged on, 0 % on the rest.
        "DÉTAILDELATVA",
        "19%203,000TND38,570TND",
        "0%7,000TND0,000TND",
        // 12 × 11.083 = 132.996: the unit price gets the decimal that makes 133.000.
        "11,0833",
        // The matricule, labelled as Tunisia prints it.
        "Matriculefiscal1234567/A/B/M/000",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from:\n{t}");
    }
    assert!(!s.contains("11,083133"), "{t}");
}

#[test]
fn a_stamp_the_shop_charged_leaves_the_lines_and_is_not_charged_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "fr", "");
    let mut order = woo_order("woocommerce/order-updated-paid-tnd.json");
    // As a shop that charges the stamp sends it: a fee line, in the subtotal and the total.
    order.lines.push(LineItem {
        name: "Timbre fiscal".into(),
        quantity: 1.into(),
        unit_price: "1.000".parse().unwrap(),
        total: "1.000".parse().unwrap(),
        ..LineItem::default()
    });
    order.subtotal += order.lines.last().unwrap().total;
    order.total += order.lines.last().unwrap().total;
    let t = text(&render_for_store(&store, &order, "INV-000002").unwrap());
    let s = squash(&t);
    for needle in [
        "TotalTTC248,570TND",
        "Droitdetimbre1,000TND",
        // What was paid, not one more dinar.
        "Netàpayer249,570TND",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from:\n{t}");
    }
    assert_eq!(t.matches("Timbre fiscal").count(), 0, "{t}");
}

#[test]
fn a_stamp_of_zero_and_other_countries_add_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "fr", "[invoice.tn]\nstamp_duty = 0\n");
    let order = woo_order("woocommerce/order-updated-paid-tnd.json");
    let s = squash(&text(&render_for_store(&store, &order, "INV-3").unwrap()));
    assert!(!s.contains("Droitdetimbre"), "{s}");
    assert!(s.contains("TotalTTC248,570TND"), "{s}");

    let dir = tempfile::tempdir().unwrap();
    let none = store_in(dir.path(), "fr", "country_rules = \"none\"\n");
    let s = squash(&text(&render_for_store(&none, &order, "INV-4").unwrap()));
    assert!(
        !s.contains("Droitdetimbre") && !s.contains("Netàpayer"),
        "{s}"
    );
}

#[test]
fn a_bilingual_tunisian_invoice_labels_in_french_and_arabic() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "fr", "[invoice.tn]\nbilingual = true\n");
    let order = woo_order("woocommerce/order-updated-paid-tnd.json");
    let t = text(&render_for_store(&store, &order, "INV-5").unwrap());
    let s = squash(&t);
    for needle in [
        "FACTURE",
        "فاتورة",
        "Désignation",
        "الوصف",
        "Droitdetimbre",
        "الجبائي",
        "Netàpayer",
        "Merci",
        "شكرا",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from:\n{t}");
    }
    // Without the option, French alone.
    let dir = tempfile::tempdir().unwrap();
    let plain = store_in(dir.path(), "fr", "");
    let s = squash(&text(&render_for_store(&plain, &order, "INV-6").unwrap()));
    assert!(!s.contains("فاتورة") && !s.contains("الوصف"), "{s}");
}

#[test]
fn a_french_invoice_prints_the_sellers_ids_the_mandatory_mentions_and_the_merchants_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(
        dir.path(),
        "fr",
        r#"country_rules = "FR"
mentions = ["IBAN FR76 3000 6000 0112 3456 7890 189"]
footer = "À bientôt chez Acme !"
[invoice.seller_ids]
legal_form = "SAS"
capital = "10 000 €"
siret = "123 456 789 00012"
rcs = "RCS Paris 123 456 789"
vat = "FR12123456789"
"#,
    );
    let order = woo_order("woocommerce/order-updated-paid-eur.json");
    let t = text(&render_for_store(&store, &order, "FA-2026-0042").unwrap());
    let s = squash(&t);
    for needle in [
        "SASaucapitalde10000€",
        "SIRET12345678900012",
        "RCSParis123456789",
        "N°TVAFR12123456789",
        "Indemnitéforfaitairepourfraisderecouvrement",
        "40€",
        "IBANFR76300060000112345678901",
        "Àbientôtchez",
        "TotalHT",
        "TotalTTC",
        "DÉTAILDELATVA",
    ] {
        assert!(s.contains(needle), "{needle:?} missing from:\n{t}");
    }
    // The footer replaces the built-in thanks.
    assert!(!t.contains("Merci pour votre commande"), "{t}");
}

#[test]
fn check_names_what_each_countrys_rules_need() {
    let dir = tempfile::tempdir().unwrap();
    // A TN store whose matricule lacks its VAT code.
    let bad = r#"platform = "woocommerce"
base_uri = "https://shop.acme.test"
default_country = "TN"
[webhook]
secrets = ["s"]
[buzzbip]
username = "u"
password = "p"
api_key = "k"
[invoice]
seller_tax_id = "1234567/A/M/000"
[[notify]]
on = "order.paid"
template_id = 1289
"#;
    std::fs::write(dir.path().join("tn-shop.toml"), bad).unwrap();
    std::fs::write(
        dir.path().join("fr-shop.toml"),
        bad.replace("default_country = \"TN\"", "default_country = \"FR\"")
            .replace("seller_tax_id = \"1234567/A/M/000\"", "facturx = true"),
    )
    .unwrap();
    let registry = StoreRegistry::load_dir(dir.path()).unwrap_or_else(|e| panic!("{e:?}"));
    let mut out = Vec::new();
    shopbip::cli::print_runbook(&registry, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    for needle in [
        "warning: tn-shop: TN invoice rules: invoice.seller_ids.matricule_fiscal: matricule \
         fiscal \"1234567/A/M/000\" is not valid",
        "warning: fr-shop: FR invoice rules: invoice.seller_ids.siren (or siret)",
        "warning: fr-shop: FR invoice rules: invoice.seller_ids.legal_form",
        "warning: fr-shop: FR invoice rules: invoice.seller_ids.vat",
        "warning: fr-shop: invoice.facturx: no VAT number",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
}
