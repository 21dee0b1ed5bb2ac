//! The profile keys whose rule each platform declares (its `Capabilities`): the form of
//! `webhook.secrets`, the replay window, and the invoice source it defaults to. A platform's
//! own section (`[bigcommerce]`) is checked by the platform (`platforms::profile`).

use secrecy::ExposeSecret;

use super::profile::ProfileFile;
use crate::platforms::standard_webhooks;
use crate::platforms::{Platform, SecretForm};

/// Fills `invoice.source` with the platform's default when the profile names none (Stripe
/// makes its own invoice PDF, so `fetch`); a value written in the file always wins.
pub(super) fn default_invoice_source(doc: &mut toml::Value) {
    let Some(platform) = doc
        .get("platform")
        .cloned()
        .and_then(|p| p.try_into::<Platform>().ok())
    else {
        return;
    };
    let Some(table) = doc.as_table_mut() else {
        return;
    };
    let invoice = table
        .entry("invoice")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let Some(invoice) = invoice.as_table_mut()
        && !invoice.contains_key("source")
    {
        invoice.insert(
            "source".into(),
            toml::Value::String(platform.default_invoice_source().into()),
        );
    }
}

/// `webhook.tolerance_secs`, and `webhook.secrets` in the form the platform needs.
pub(super) fn webhook(raw: &ProfileFile, err: &mut dyn FnMut(&str, String)) {
    if let SecretForm::Key { form, problem } = raw.platform.capabilities().secret_form {
        for (i, s) in raw.webhook.secrets.iter().enumerate() {
            let secret = s.expose_secret();
            // An unusable secret would fail every delivery with 401 instead of failing here.
            if !secret.trim().is_empty() && standard_webhooks::key(secret, form).is_none() {
                err(&format!("webhook.secrets[{i}]"), problem.into());
            }
        }
    }
    if let Some(secs) = raw.webhook.tolerance_secs
        && !(1..=86_400).contains(&secs)
    {
        err(
            "webhook.tolerance_secs",
            format!("{secs} is not between 1 and 86400 seconds"),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::stores::InvoiceSource;

    #[test]
    fn stripe_stores_fetch_stripe_s_pdf_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let profile = |invoice: &str| {
            format!(
                "platform = \"stripe\"\nbase_uri = \"https://s.test\"\ndefault_country = \"FR\"\n\
                 [webhook]\nsecrets = [\"whsec_x\"]\n[buzzbip]\nusername = \"u\"\npassword = \"p\"\n\
                 api_key = \"k\"\n{invoice}[[notify]]\non = \"invoice.paid\"\ntemplate_id = 1\n"
            )
        };
        let file = dir.path().join("s.toml");
        let none = |_: &str| None;
        std::fs::write(&file, profile("")).unwrap();
        let store = super::super::load_file(&file, &none).unwrap();
        assert_eq!(store.invoice.source, InvoiceSource::Fetch);
        assert_eq!(store.webhook_tolerance, Duration::from_secs(300));
        std::fs::write(&file, profile("[invoice]\nsource = \"generate\"\n")).unwrap();
        let store = super::super::load_file(&file, &none).unwrap();
        assert_eq!(store.invoice.source, InvoiceSource::Generate);
    }

    #[test]
    fn the_default_window_is_the_platform_s_and_the_profile_s_wins() {
        use crate::platforms::{Headers, Platform, Verified, VerifyError};
        use secrecy::SecretString;

        let dir = tempfile::tempdir().unwrap();
        let load = |platform: &str, webhook: &str| {
            let file = dir.path().join(format!("{platform}.toml"));
            std::fs::write(
                &file,
                format!(
                    "platform = \"{platform}\"\nbase_uri = \"https://s.test\"\ndefault_country = \"DE\"\n\
                     [webhook]\nsecrets = [\"whsec_eA==\"]\n{webhook}[buzzbip]\nusername = \"u\"\n\
                     password = \"p\"\napi_key = \"k\"\n[[notify]]\non = \"order.paid\"\ntemplate_id = 1\n"
                ),
            )
            .unwrap();
            super::super::load_file(&file, &|_: &str| None).unwrap()
        };
        let shopware = load("shopware", "");
        assert_eq!(shopware.webhook_tolerance, Duration::from_secs(6 * 3600));
        let stripe = load("stripe", "");
        assert_eq!(stripe.webhook_tolerance, Duration::from_secs(300));
        assert_eq!(
            load("shopware", "tolerance_secs = 300\n").webhook_tolerance,
            Duration::from_secs(300)
        );

        // Signed an hour ago, each checked with its store's window.
        let secrets = [SecretString::from("whsec_eA==")];
        let hour_ago = crate::platforms::signature::unix_now() - 3600;
        let body = format!(r#"{{"data":{{"event":"x"}},"timestamp":{hour_ago}}}"#);
        let sig = hex::encode(crate::platforms::signature::hmac_sha256(
            b"whsec_eA==",
            &[body.as_bytes()],
        ));
        let headers = Headers::new([("shopware-shop-signature".to_owned(), sig)]);
        assert_eq!(
            Platform::Shopware.adapter().verify(
                &headers,
                body.as_bytes(),
                &secrets,
                shopware.webhook_tolerance
            ),
            Ok(Verified::Signed)
        );
        let body = b"{}";
        let headers = Headers::new([(
            "stripe-signature".to_owned(),
            crate::platforms::stripe::sign("whsec_eA==", hour_ago, body),
        )]);
        assert_eq!(
            Platform::Stripe
                .adapter()
                .verify(&headers, body, &secrets, stripe.webhook_tolerance),
            Err(VerifyError::Stale(300))
        );
    }
}
