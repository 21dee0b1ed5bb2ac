//! The profile keys only some platforms read: the replay window, Standard Webhooks secrets,
//! BigCommerce's API access, and the invoice source a platform defaults to.

use secrecy::ExposeSecret;

use super::BigcommerceApi;
use super::profile::ProfileFile;
use crate::buzzbip;
use crate::outbound::display_url;
use crate::platforms::Platform;
use crate::platforms::standard_webhooks::{self, KeyForm};

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
    let form = match raw.platform {
        Platform::Standard => Some((
            KeyForm::Whsec,
            "is not a Standard Webhooks secret (whsec_ followed by base64)",
        )),
        Platform::Bigcommerce => Some((
            KeyForm::RawOrWhsec,
            "starts with whsec_ but the rest is not base64: paste the client secret as shown, or whsec_ followed by its base64",
        )),
        _ => None,
    };
    if let Some((form, problem)) = form {
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

/// `[bigcommerce]`: required by `bigcommerce` stores (their webhooks carry only the order id),
/// refused elsewhere.
pub(super) fn bigcommerce(
    raw: &ProfileFile,
    err: &mut dyn FnMut(&str, String),
) -> Option<BigcommerceApi> {
    match (&raw.bigcommerce, raw.platform) {
        (None, Platform::Bigcommerce) => {
            err(
                "bigcommerce",
                "platform = \"bigcommerce\" needs [bigcommerce] store_hash and access_token: its webhooks carry only the order id".into(),
            );
            None
        }
        (Some(_), p) if p != Platform::Bigcommerce => {
            err(
                "bigcommerce",
                format!("only used by platform = \"bigcommerce\", not {p}"),
            );
            None
        }
        (Some(bc), _) => {
            let hash = bc.store_hash.trim();
            if hash.is_empty() || !hash.chars().all(|c| c.is_ascii_alphanumeric()) {
                err(
                    "bigcommerce.store_hash",
                    format!("{hash:?} is not a store hash such as \"abc123xyz\""),
                );
            }
            if bc.access_token.expose_secret().trim().is_empty() {
                err("bigcommerce.access_token", "is empty".into());
            }
            // Same rule as Buzzbip's URL: the access token must not travel in clear text.
            // Shown without user info or query: they may hold credentials.
            if buzzbip::parse_base_url(&bc.api_base_url).is_err() {
                err(
                    "bigcommerce.api_base_url",
                    format!(
                        "{:?} is not allowed: use an https:// URL without query (http:// only for a loopback host)",
                        display_url(&bc.api_base_url)
                    ),
                );
            }
            Some(BigcommerceApi {
                store_hash: hash.to_owned(),
                access_token: bc.access_token.clone(),
                api_base_url: bc.api_base_url.trim_end_matches('/').to_owned(),
            })
        }
        (None, _) => None,
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
