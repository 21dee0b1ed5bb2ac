//! `shopbip check` on the customer's language: a rule with a template per language must cover
//! every language of the store, and the runbook shows the choice and the templates.

use super::{broken, text};

const STORE: &str = r#"platform = "shopify"
base_uri = "https://atlas-argan.myshopify.com"
default_country = "MA"
[webhook]
secrets = ["s"]
[buzzbip]
username = "u"
password = "p"
api_key = "k"
[invoice]
language = "auto"
languages = ["fr", "ar", "en"]
[[notify]]
on = "order.paid"
template_ids = { fr = 1289, ar = 1290, en = 1291 }
body_params = ["{customer.first_name}"]
"#;

#[test]
fn a_template_per_language_passes_and_the_runbook_lists_them() {
    let (_d, out) = broken("shop.toml", STORE);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let row = all
        .lines()
        .find(|l| l.starts_with("shop ") && l.contains("order.paid"))
        .unwrap_or_else(|| panic!("no runbook row: {all}"));
    assert!(row.contains("ar=1290 en=1291 fr=1289"), "{row}");
    assert!(row.contains("generate (auto: fr, ar, en)"), "{row}");
}

#[test]
fn a_language_without_its_template_fails_naming_the_rule_and_the_language() {
    for (profile, expected) in [
        (
            STORE.replace(", en = 1291", ""),
            "shop.toml: notify[0].template_ids: has no template for en",
        ),
        (
            STORE.replace(", \"en\"]", "]"),
            "shop.toml: notify[0].template_ids.en: \"en\" is not one of the store's languages",
        ),
        (
            STORE.replace("template_ids", "template_id = 7\ntemplate_ids"),
            "shop.toml: notify[0].template_ids: give template_id (one template) or template_ids",
        ),
        (
            STORE.replace("languages = [\"fr\", \"ar\", \"en\"]\n", ""),
            "shop.toml: invoice.languages: language = \"auto\" chooses among",
        ),
    ] {
        let (_d, out) = broken("shop.toml", &profile);
        let all = text(&out);
        assert!(!out.status.success(), "{all}");
        assert!(all.contains(expected), "expected {expected:?} in {all}");
    }
}
