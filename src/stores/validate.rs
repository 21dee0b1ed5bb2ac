//! The checks a profile must pass before it becomes a `Store`: each key for what it means (a
//! region the phone library knows, a bare Buzzbip origin, invoice assets inside the profile's
//! folder, placeholders that exist), every problem named by its key.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use secrecy::ExposeSecret;

use super::profile::NumberReset;
use super::{
    InvoiceSource, OptOut, ProfileError, ProfileFile, Store, StoreId, placeholders, platform_keys,
};
use crate::buzzbip::{self, Credentials};
use crate::platforms::Platform;
use crate::platforms::profile::Sections;

mod languages;

/// Invoice assets render into PDFs sent to customers: only files inside the profile's folder
/// (or a folder beneath it, such as `assets/`) may be named, never an absolute path, a `..`,
/// or a link that leads out.
fn confined(base: &Path, rel: &Path) -> Result<(), String> {
    use std::path::Component;
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "{} must be a path inside the profile's folder (no absolute path, no ..)",
            rel.display()
        ));
    }
    let path = base.join(rel);
    if !path.is_file() {
        return Err(format!("{} does not exist", path.display()));
    }
    let (Ok(real), Ok(real_base)) = (path.canonicalize(), base.canonicalize()) else {
        return Err(format!("{} cannot be resolved", path.display()));
    };
    if !real.starts_with(&real_base) {
        return Err(format!(
            "{} leads outside the profile's folder (a link to {})",
            rel.display(),
            real.display()
        ));
    }
    Ok(())
}

pub(super) fn validate(
    id: StoreId,
    file: &Path,
    raw: ProfileFile,
) -> Result<Store, Vec<ProfileError>> {
    let mut errors = Vec::new();
    let mut err = |key: &str, message: String| {
        errors.push(ProfileError {
            file: file.to_path_buf(),
            key: key.to_owned(),
            message,
        })
    };
    match url::Url::parse(&raw.base_uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => err(
            "base_uri",
            format!("{:?} is not an http(s) URL", raw.base_uri),
        ),
    }
    let country = raw.default_country.trim().to_ascii_uppercase();
    // A region the phone library knows: "XX" would pass a shape check and then make every
    // number written without its country code unreadable.
    if !crate::phone::is_known_region(&country) {
        err(
            "default_country",
            format!(
                "{:?} is not an ISO 3166-1 alpha-2 code such as \"TN\"",
                raw.default_country
            ),
        );
    }
    let currency = raw
        .default_currency
        .as_deref()
        .map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &currency
        && (c.len() != 3 || !c.chars().all(|c| c.is_ascii_uppercase()))
    {
        err(
            "default_currency",
            format!("{c:?} is not an ISO 4217 code such as \"TND\""),
        );
    }
    if raw.webhook.secrets.is_empty() {
        err("webhook.secrets", "at least one secret is required".into());
    }
    for (i, s) in raw.webhook.secrets.iter().enumerate() {
        if s.expose_secret().trim().is_empty() {
            err(&format!("webhook.secrets[{i}]"), "is empty".into());
        }
    }
    platform_keys::webhook(&raw, &mut err);
    let api = crate::platforms::profile::validate(
        raw.platform,
        Sections {
            base_uri: &raw.base_uri,
            bigcommerce: raw.bigcommerce.as_ref(),
            woocommerce: raw.woocommerce.as_ref(),
            shopify: raw.shopify.as_ref(),
            shopware: raw.shopware.as_ref(),
            stripe: raw.stripe.as_ref(),
        },
        &mut err,
    );
    let reconcile = super::profile::reconcile::validate(
        raw.reconcile.as_ref(),
        raw.platform,
        api.as_ref(),
        raw.webhook.secrets.first(),
        &mut err,
    );
    match buzzbip::parse_base_url(&raw.buzzbip.base_url) {
        Err(e) => err("buzzbip.base_url", e.to_string()),
        // shopbip adds `/api/…` itself: a base with a path would send to `/api/api/…`.
        Ok(url) if !matches!(url.path(), "" | "/") => err(
            "buzzbip.base_url",
            format!(
                "{:?} must be a bare origin: write {:?} (without {:?}; shopbip adds /api/… itself)",
                raw.buzzbip.base_url,
                url.origin().ascii_serialization(),
                url.path()
            ),
        ),
        Ok(_) => {}
    }
    if raw.buzzbip.username.trim().is_empty() {
        err("buzzbip.username", "is empty".into());
    }
    if raw.buzzbip.password.expose_secret().is_empty() {
        err("buzzbip.password", "is empty".into());
    }
    if raw.buzzbip.api_key.expose_secret().is_empty() {
        err("buzzbip.api_key", "is empty".into());
    }
    let inv = &raw.invoice;
    if let Err(m) = placeholders::validate(&inv.filename) {
        err("invoice.filename", m);
    }
    if !inv.filename.to_ascii_lowercase().ends_with(".pdf") {
        err(
            "invoice.filename",
            format!("{:?} must end in .pdf", inv.filename),
        );
    }
    if let Some(name) = &raw.credit_note.filename {
        if let Err(m) = placeholders::validate(name) {
            err("credit_note.filename", m);
        }
        if !name.to_ascii_lowercase().ends_with(".pdf") {
            err("credit_note.filename", format!("{name:?} must end in .pdf"));
        }
    }
    match (&inv.fetch_url, inv.source) {
        (Some(u), _) => {
            if let Err(m) = placeholders::validate(u) {
                err("invoice.fetch_url", m);
            }
        }
        (None, InvoiceSource::Fetch) if !raw.platform.gives_invoice_url() => err(
            "invoice.fetch_url",
            format!(
                "source = \"fetch\" needs a fetch_url: {} gives no invoice PDF URL",
                raw.platform
            ),
        ),
        _ => {}
    }
    languages::check_invoice(inv, &mut err);
    if !inv.number_meta_keys.is_empty() && !raw.platform.capabilities().order_meta {
        err(
            "invoice.number_meta_keys",
            format!(
                "{} orders carry no meta: only {} stores use it",
                raw.platform,
                Platform::ALL
                    .iter()
                    .filter(|p| p.capabilities().order_meta)
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    for (i, k) in inv.number_meta_keys.iter().enumerate() {
        if k.trim().is_empty() {
            err(&format!("invoice.number_meta_keys[{i}]"), "is empty".into());
        }
    }
    // A yearly series starts again at 1 each year: without the year in it, the number of an
    // invoice would be the number of one from a year before.
    if inv.reset == NumberReset::Yearly {
        if !inv.number_format.has_year() {
            err(
                "invoice.number_format",
                format!(
                    "{:?} has no {{year}} or {{yy}}: with invoice.reset = \"yearly\" every year \
                     starts again at 1, so two years would print the same numbers; write e.g. \
                     \"INV-{{year}}-{{seq:05}}\"",
                    inv.number_format.as_str()
                ),
            );
        }
        if let Some(written) = &raw.credit_note.number_format_written
            && !written.has_year()
        {
            err(
                "credit_note.number_format",
                format!(
                    "{:?} has no {{year}} or {{yy}}: invoice.reset = \"yearly\" restarts the \
                     credit notes' series each year too; write e.g. \"AV-{{year}}-{{seq:05}}\"",
                    written.as_str()
                ),
            );
        }
    }
    let base = file.parent().unwrap_or(Path::new("."));
    for (key, rel) in [
        ("invoice.logo", &inv.logo),
        ("invoice.template", &inv.template),
    ] {
        if let Some(rel) = rel
            && let Err(m) = confined(base, rel)
        {
            err(key, m);
        }
    }
    for (i, rule) in raw.notify.iter().enumerate() {
        languages::check_rule(inv, i, rule, &mut err);
    }
    let rules = languages::with_default_templates(inv, &raw.notify);
    let mut seen = HashMap::new();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(first) = seen.insert(rule.key(), i) {
            err(
                &format!("notify[{i}]"),
                format!("same event and template as notify[{first}]: one of them would never send"),
            );
        }
        for (j, p) in rule.body_params.iter().enumerate() {
            if let Err(m) = placeholders::validate(p) {
                err(&format!("notify[{i}].body_params[{j}]"), m);
            }
        }
        for (j, b) in rule.buttons.iter().enumerate() {
            if let Err(m) = placeholders::validate(&b.value) {
                err(&format!("notify[{i}].buttons[{j}].value"), m);
            }
        }
    }
    if raw.notify.is_empty() {
        err(
            "notify",
            "no [[notify]] rule: this store would never send anything".into(),
        );
    }
    let mut allow = Vec::new();
    for (i, p) in raw.test.allow_phones.iter().enumerate() {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        if !p.trim().starts_with('+') || !(8..=15).contains(&digits.len()) {
            err(
                &format!("test.allow_phones[{i}]"),
                "must be an international number such as \"+21696816277\"".into(),
            );
        }
        allow.push(digits);
    }
    let fold = |list: &[String], key: &str, err: &mut dyn FnMut(&str, String)| {
        let mut out = Vec::new();
        for (i, w) in list.iter().enumerate() {
            let folded = OptOut::fold(w);
            if folded.is_empty() {
                err(&format!("optout.{key}[{i}]"), "is empty".into());
            } else {
                out.push(folded);
            }
        }
        out
    };
    let optout = OptOut {
        keywords: fold(&raw.optout.keywords, "keywords", &mut err),
        resume_keywords: fold(&raw.optout.resume_keywords, "resume_keywords", &mut err),
    };
    for (i, w) in optout.resume_keywords.iter().enumerate() {
        if optout.keywords.contains(w) {
            err(
                &format!("optout.resume_keywords[{i}]"),
                format!("{w:?} is also an opt-out keyword"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let platform_type = raw
        .buzzbip
        .platform_type
        .clone()
        .unwrap_or_else(|| raw.platform.to_string());
    Ok(Store {
        id,
        file: file.to_path_buf(),
        platform: raw.platform,
        buzzbip: Credentials {
            base_url: raw.buzzbip.base_url,
            username: raw.buzzbip.username,
            password: raw.buzzbip.password,
            api_key: raw.buzzbip.api_key,
            platform_type,
            base_uri: raw.base_uri.clone(),
        },
        base_uri: raw.base_uri,
        default_country: country,
        default_currency: currency,
        environment: raw.environment,
        webhook_secrets: raw.webhook.secrets,
        webhook_tolerance: raw
            .webhook
            .tolerance_secs
            .map(Duration::from_secs)
            .unwrap_or_else(|| raw.platform.default_tolerance()),
        credit_note: super::CreditNotes {
            number_format: raw.credit_note.number_format(raw.invoice.reset),
            filename: raw
                .credit_note
                .filename
                .clone()
                .unwrap_or_else(|| "{invoice.number}.pdf".to_owned()),
        },
        invoice: raw.invoice,
        rules,
        allow_phones: allow,
        buzzbip_webhook_secret: raw.buzzbip.webhook_secret,
        optout,
        api,
        reconcile,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::profile;
    use super::confined;
    use crate::order::Order;
    use crate::stores::load_file;
    use crate::stores::profile::NumberReset;

    #[test]
    fn invoice_assets_stay_inside_the_profile_folder() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("plugin-config");
        std::fs::create_dir_all(base.join("assets")).unwrap();
        std::fs::write(base.join("assets/logo.png"), b"png").unwrap();
        std::fs::write(base.join("invoice.typ"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"s3cret").unwrap();
        assert_eq!(confined(&base, Path::new("invoice.typ")), Ok(()));
        assert_eq!(confined(&base, Path::new("assets/logo.png")), Ok(()));
        assert_eq!(confined(&base, Path::new("./assets/logo.png")), Ok(()));
        for outside in ["../secret.txt", "/etc/passwd", "assets/../../secret.txt"] {
            let err = confined(&base, Path::new(outside)).unwrap_err();
            assert!(
                err.contains("inside the profile's folder"),
                "{outside}: {err}"
            );
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), base.join("link.typ"))
                .unwrap();
            let err = confined(&base, Path::new("link.typ")).unwrap_err();
            assert!(err.contains("leads outside"), "{err}");
        }
        assert!(
            confined(&base, Path::new("missing.typ"))
                .unwrap_err()
                .contains("does not exist")
        );
    }

    #[test]
    fn default_country_and_buzzbip_url_are_checked_for_what_they_mean() {
        let errors = profile("woocommerce", "").map(|_| ()).err();
        assert!(errors.is_none(), "{errors:?}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.toml");
        let write = |country: &str, base_url: &str| {
            std::fs::write(
                &file,
                format!(
                    "platform = \"woocommerce\"\nbase_uri = \"https://shop.test\"\n\
                     default_country = \"{country}\"\n[webhook]\nsecrets = [\"s\"]\n\
                     [buzzbip]\nbase_url = \"{base_url}\"\nusername = \"u\"\n\
                     password = \"p\"\napi_key = \"k\"\n[[notify]]\non = \"order.paid\"\n\
                     template_id = 1\n"
                ),
            )
            .unwrap();
            load_file(&file, &|_| None)
        };
        assert!(write("TN", "https://app.buzzbip.com").is_ok());
        assert!(write("TN", "https://app.buzzbip.com/").is_ok());
        let errors = write("XX", "https://app.buzzbip.com").unwrap_err();
        assert_eq!(errors[0].key, "default_country", "{errors:?}");
        let errors = write("TN", "https://app.buzzbip.com/api/").unwrap_err();
        assert_eq!(errors[0].key, "buzzbip.base_url", "{errors:?}");
        assert!(
            errors[0].message.contains("https://app.buzzbip.com"),
            "{errors:?}"
        );
    }

    #[test]
    fn number_formats_and_the_reset_are_checked_naming_their_key() {
        let store = profile("woocommerce", "").unwrap();
        assert_eq!(store.invoice.number_format.as_str(), "INV-{seq:06}");
        assert_eq!(store.invoice.reset, NumberReset::Never);
        assert_eq!(store.credit_note.number_format.render(1, 0), "AV-000001");
        let store = profile(
            "woocommerce",
            "[invoice]\nnumber_format = \"FA-{year}-{seq:05}\"\nreset = \"yearly\"\n\
             [credit_note]\nnumber_format = \"AV-{yy}-{seq:04}\"",
        )
        .unwrap();
        assert_eq!(store.invoice.number_format.render(3, 0), "FA-1970-00003");
        assert_eq!(store.invoice.reset, NumberReset::Yearly);
        assert_eq!(store.credit_note.number_format.render(7, 0), "AV-70-0007");

        for (extra, key, expected) in [
            (
                "[invoice]\nnumber_format = \"FA-{date}-{seq}\"",
                "invoice.number_format",
                "{date} is not a placeholder",
            ),
            (
                "[invoice]\nnumber_format = \"FA-{year}\"",
                "invoice.number_format",
                "has no {seq}",
            ),
            (
                "[invoice]\nreset = \"yearly\"",
                "invoice.number_format",
                "\"INV-{seq:06}\" has no {year} or {yy}: with invoice.reset = \"yearly\"",
            ),
            ("[invoice]\nreset = \"monthly\"", "invoice.reset", "monthly"),
            (
                "[credit_note]\nnumber_format = \"AV-{n}\"",
                "credit_note.number_format",
                "{n} is not a placeholder",
            ),
            (
                "[invoice]\nnumber_format = \"F{yy}-{seq}\"\nreset = \"yearly\"\n\
                 [credit_note]\nnumber_format = \"AV-{seq}\"",
                "credit_note.number_format",
                "restarts the credit notes' series each year too",
            ),
            (
                "[credit_note]\nprefix = \"AV\"",
                "credit_note.prefix",
                "unknown field",
            ),
            (
                "[credit_note]\nfilename = \"Avoir-{invoice.number}.txt\"",
                "credit_note.filename",
                "must end in .pdf",
            ),
            (
                "[credit_note]\nfilename = \"Avoir-{invoice.numero}.pdf\"",
                "credit_note.filename",
                "invoice.numero",
            ),
            (
                "[invoice]\ncountry_rules = \"DE\"",
                "invoice.country_rules",
                "unknown variant",
            ),
            (
                "[invoice.seller_ids]\nsirett = \"1\"",
                "invoice.seller_ids.sirett",
                "unknown field",
            ),
        ] {
            let errors = profile("woocommerce", extra).unwrap_err();
            assert_eq!(errors.len(), 1, "{extra}: {errors:?}");
            assert_eq!(errors[0].key, key, "{extra}: {errors:?}");
            assert!(
                errors[0].message.contains(expected),
                "{extra}: {}",
                errors[0].message
            );
        }
        // The credit notes' default follows a yearly reset instead of refusing it.
        assert!(
            profile(
                "woocommerce",
                "[invoice]\nnumber_format = \"F{year}{seq}\"\nreset = \"yearly\""
            )
            .is_ok()
        );
    }

    #[test]
    fn payment_kinds_and_the_default_currency_are_checked_when_profiles_load() {
        let store = profile("woocommerce", r#"default_currency = "tnd""#).unwrap();
        assert_eq!(store.default_currency.as_deref(), Some("TND"));
        let mut order = Order::default();
        store.complete_order(&mut order);
        assert_eq!(order.currency, "TND");
        let mut priced = Order {
            currency: "EUR".into(),
            ..Order::default()
        };
        store.complete_order(&mut priced);
        assert_eq!(priced.currency, "EUR", "the order's own currency wins");

        let errors = profile("woocommerce", r#"default_currency = "DINAR""#).unwrap_err();
        assert_eq!(errors[0].key, "default_currency", "{errors:?}");
        let errors = profile("shopify", "[invoice]\nnumber_meta_keys = [\"_no\"]").unwrap_err();
        assert_eq!(errors[0].key, "invoice.number_meta_keys", "{errors:?}");
        // `extra` lands before [webhook]: a rule of its own with a kind that does not exist.
        let errors = profile(
            "woocommerce",
            "[[notify]]\non = \"order.fulfilled\"\ntemplate_id = 9\npayment = [\"cash\"]",
        )
        .unwrap_err();
        assert!(errors[0].message.contains("cash"), "{errors:?}");
    }
}
