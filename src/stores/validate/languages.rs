//! The checks of the customer's language: `invoice.language` (a code, or `auto` with its
//! `invoice.languages`) and each rule's `template_id` / `template_ids`, so that whatever
//! language an order gets, its rule has a template for it.

use crate::stores::NotifyRule;
use crate::stores::profile::InvoiceSection;
use crate::stores::profile::languages::{self as language, AUTO, SUPPORTED};

fn supported_list() -> String {
    SUPPORTED.join(", ")
}

pub(super) fn check_invoice(inv: &InvoiceSection, err: &mut dyn FnMut(&str, String)) {
    if inv.language != AUTO && !language::is_supported(&inv.language) {
        err(
            "invoice.language",
            format!(
                "{:?} is not one of {AUTO}, {}",
                inv.language,
                supported_list()
            ),
        );
    }
    for (i, code) in inv.languages.iter().enumerate() {
        if !language::is_supported(code) {
            err(
                &format!("invoice.languages[{i}]"),
                format!(
                    "{code:?} is not a language invoices are written in: {}",
                    supported_list()
                ),
            );
        } else if inv.languages[..i].contains(code) {
            err(
                &format!("invoice.languages[{i}]"),
                format!("{code:?} is listed twice"),
            );
        }
    }
    if inv.language == AUTO && inv.languages.is_empty() {
        err(
            "invoice.languages",
            "language = \"auto\" chooses among the store's languages: list them, the default \
             first, e.g. languages = [\"fr\", \"ar\", \"en\"]"
                .into(),
        );
    }
}

/// Exactly one of `template_id` and `template_ids`; with `template_ids`, one template for each
/// of the store's languages and none for a language it never writes in.
pub(super) fn check_rule(
    inv: &InvoiceSection,
    i: usize,
    rule: &NotifyRule,
    err: &mut dyn FnMut(&str, String),
) {
    let per_language = !rule.template_ids.is_empty();
    if per_language && rule.template_id != 0 {
        err(
            &format!("notify[{i}].template_ids"),
            "give template_id (one template) or template_ids (one per language), not both".into(),
        );
        return;
    }
    if !per_language {
        if rule.template_id == 0 {
            err(
                &format!("notify[{i}].template_id"),
                "missing: give template_id = 1289, or template_ids = { fr = 1289, ar = 1290 } \
                 for a template per language"
                    .into(),
            );
        }
        return;
    }
    let languages = language::store_languages(inv);
    let written_as = if inv.language == AUTO {
        format!("invoice.languages = {:?}", inv.languages)
    } else {
        format!("invoice.language = {:?}", inv.language)
    };
    for (code, id) in &rule.template_ids {
        let key = format!("notify[{i}].template_ids.{code}");
        if !language::is_supported(code) {
            err(
                &key,
                format!(
                    "{code:?} is not a language invoices are written in: {}",
                    supported_list()
                ),
            );
        } else if !languages.contains(code) {
            err(
                &key,
                format!(
                    "{code:?} is not one of the store's languages ({written_as}): it would never be sent"
                ),
            );
        } else if *id == 0 {
            err(&key, "is 0: write the template's id, such as 1289".into());
        }
    }
    let missing: Vec<&str> = languages
        .iter()
        .filter(|l| !rule.template_ids.contains_key(*l))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        err(
            &format!("notify[{i}].template_ids"),
            format!(
                "has no template for {} ({written_as}): every language the store writes in needs one",
                missing.join(", ")
            ),
        );
    }
}

/// The rules as stores keep them: a per-language rule's `template_id` is its default
/// language's template, what a language without one falls back to and what names the rule.
pub(super) fn with_default_templates(
    inv: &InvoiceSection,
    rules: &[NotifyRule],
) -> Vec<NotifyRule> {
    let default = language::default_language(inv);
    rules
        .iter()
        .cloned()
        .map(|mut rule| {
            if rule.template_id == 0
                && let Some(id) = rule.template_ids.get(&default)
            {
                rule.template_id = *id;
            }
            rule
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::stores::{ProfileError, Store, load_file};

    const HEAD: &str = r#"platform = "shopify"
base_uri = "https://shop.test"
default_country = "TN"

[webhook]
secrets = ["whook-secret-1"]

[buzzbip]
username = "u"
password = "PASSWORD"
api_key = "k-123"
"#;

    fn load(invoice: &str, notify: &str) -> Result<Store, Vec<ProfileError>> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.toml");
        std::fs::write(
            &file,
            format!("{HEAD}\n[invoice]\n{invoice}\n\n[[notify]]\non = \"order.paid\"\n{notify}\n"),
        )
        .unwrap();
        load_file(&file, &|_| None)
    }

    fn errors(invoice: &str, notify: &str) -> Vec<(String, String)> {
        load(invoice, notify)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.key, e.message))
            .collect()
    }

    const AUTO: &str = "language = \"auto\"\nlanguages = [\"fr\", \"ar\", \"en\"]";
    const PER_LANGUAGE: &str = "template_ids = { fr = 1289, ar = 1290, en = 1291 }";

    #[test]
    fn a_rule_with_a_template_per_language_loads_with_its_default_as_template_id() {
        let store = load(AUTO, PER_LANGUAGE).unwrap();
        let rule = &store.rules[0];
        assert_eq!(rule.template_id, 1289, "fr is the default");
        assert_eq!(rule.template_for("ar"), 1290);
        assert_eq!(rule.template_for("en"), 1291);
        assert_eq!(rule.template_for("de"), 1289, "falls back to the default's");
        assert_eq!(rule.all_templates(), [1289, 1290, 1291]);
        assert_eq!(rule.templates_label(), "ar=1290 en=1291 fr=1289");
        // Written as strings from ${ENV}, too.
        let store = load(
            AUTO,
            "template_ids = { fr = \"1289\", ar = 1290, en = 1291 }",
        )
        .unwrap();
        assert_eq!(store.rules[0].template_for("fr"), 1289);
        // A fixed language with one template per language needs that language's only.
        let store = load("language = \"ar\"", "template_ids = { ar = 7 }").unwrap();
        assert_eq!(store.rules[0].template_id, 7);
        let store = load(AUTO, "template_id = 42").unwrap();
        assert_eq!(store.rules[0].template_for("ar"), 42);
    }

    #[test]
    fn template_id_and_template_ids_together_are_refused() {
        let errs = errors(AUTO, &format!("template_id = 1\n{PER_LANGUAGE}"));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, "notify[0].template_ids");
        assert!(errs[0].1.contains("not both"), "{errs:?}");
    }

    #[test]
    fn a_rule_without_any_template_is_refused() {
        let errs = errors(AUTO, "body_params = []");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, "notify[0].template_id");
        assert!(
            errs[0].1.contains("missing") && errs[0].1.contains("template_ids"),
            "{errs:?}"
        );
    }

    #[test]
    fn auto_needs_the_stores_languages() {
        let errs = errors("language = \"auto\"", "template_id = 1");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, "invoice.languages");
        assert!(errs[0].1.contains("list them"), "{errs:?}");
        let errs = errors("language = \"auto\"\nlanguages = []", "template_id = 1");
        assert_eq!(errs[0].0, "invoice.languages", "{errs:?}");
    }

    #[test]
    fn unknown_language_codes_are_named() {
        let errs = errors("language = \"pt\"", "template_id = 1");
        assert_eq!(errs[0].0, "invoice.language", "{errs:?}");
        assert!(
            errs[0]
                .1
                .contains("\"pt\" is not one of auto, en, fr, ar, de, es, it")
        );
        let errs = errors(
            "language = \"auto\"\nlanguages = [\"fr\", \"klingon\", \"fr\"]",
            "template_id = 1",
        );
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["invoice.languages[1]", "invoice.languages[2]"]);
        assert!(errs[1].1.contains("twice"), "{errs:?}");
        let errs = errors(AUTO, "template_ids = { fr = 1, ar = 2, en = 3, xx = 4 }");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, "notify[0].template_ids.xx");
        assert!(errs[0].1.contains("not a language"), "{errs:?}");
        let errs = errors(AUTO, "template_ids = { fr = 1, ar = 2, en = 3, de = 4 }");
        assert_eq!(errs[0].0, "notify[0].template_ids.de", "{errs:?}");
        assert!(errs[0].1.contains("never be sent"), "{errs:?}");
    }

    #[test]
    fn every_language_of_the_store_needs_a_template() {
        let errs = errors(AUTO, "template_ids = { fr = 1289 }");
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, "notify[0].template_ids");
        assert!(errs[0].1.contains("no template for ar, en"), "{errs:?}");
        let errs = errors("language = \"fr\"", "template_ids = { ar = 1 }");
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["notify[0].template_ids.ar", "notify[0].template_ids"],
            "{errs:?}"
        );
        let errs = errors(AUTO, "template_ids = { fr = 1, ar = \"x\", en = 3 }");
        assert_eq!(errs[0].0, "notify[0].template_ids.ar", "{errs:?}");
    }
}
