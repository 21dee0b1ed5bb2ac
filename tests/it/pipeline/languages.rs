//! `invoice.language = "auto"` end to end: the order's locale (else its billing country) picks
//! the template of `template_ids` the message is sent with, and the language of the invoice
//! attached to it, read back from the uploaded PDF.

use std::path::Path;

use serde_json::Value;
use shopbip::jobs::messages::{MessageQuery, StoreScope};
use shopbip::jobs::{Job, JobState};

use super::{WOO_PAID, post_as, post_woo};
use crate::common::app::{SHOPIFY_SECRET, TestApp, WOO_OLD_SECRET, WOO_SECRET, start};
use crate::common::read_pdf;
use crate::common::sign::*;

/// The per-language templates of these stores: each one the sandbox knows as the approved
/// invoice template (two parameters, a document header).
const FR: u64 = 1289;
const AR: u64 = 1291;
const EN: u64 = 1292;

fn rules() -> String {
    format!(
        r#"[[notify]]
on = "order.paid"
template_ids = {{ fr = {FR}, ar = {AR}, en = {EN} }}
body_params = ["{{customer.first_name}}", "{{order.number}}"]
"#
    )
}

fn stores(dir: &Path, url: &str) {
    let buzzbip = format!(
        "[buzzbip]\nbase_url = \"{url}\"\nusername = \"demo@shopbip.test\"\n\
         password = \"demo-password\"\napi_key = \"demo-api-key\"\n"
    );
    // The Shopify store's default is French: an Arabic invoice comes from the order.
    std::fs::write(
        dir.join("atlas-shopify.toml"),
        format!(
            "platform = \"shopify\"\nbase_uri = \"https://atlas-argan.myshopify.com\"\n\
             default_country = \"MA\"\n[webhook]\nsecrets = [\"{SHOPIFY_SECRET}\"]\n{buzzbip}\
             [invoice]\nlanguage = \"auto\"\nlanguages = [\"fr\", \"ar\", \"en\"]\n\
             seller_name = \"Atlas Argan SARL\"\n{}",
            rules()
        ),
    )
    .unwrap();
    // The WooCommerce store's default is English: a French invoice comes from the country.
    std::fs::write(
        dir.join("acme-woo.toml"),
        format!(
            "platform = \"woocommerce\"\nbase_uri = \"https://shop.acme.test\"\n\
             default_country = \"TN\"\n[webhook]\nsecrets = [\"{WOO_OLD_SECRET}\", \"{WOO_SECRET}\"]\n\
             {buzzbip}[invoice]\nlanguage = \"auto\"\nlanguages = [\"en\", \"fr\", \"ar\"]\n\
             seller_name = \"Acme SARL\"\n{}",
            rules()
        ),
    )
    .unwrap();
}

/// The app, with the sandbox given the stores' templates as `shopbip serve --sandbox` gives
/// them (1289 is the sandbox's own; 1291 and 1292 are added like it).
async fn app() -> TestApp {
    let p = start(stores).await;
    p.sandbox
        .handle
        .provisioner()
        .provision(&shopbip::sandbox::stores::sandbox_config_for(
            &p.service.stores.load(),
        ));
    p
}

/// The one send's template id and the text of the PDF it carried.
async fn sent(p: &TestApp, job: &Job) -> (u64, String) {
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    let calls = p.sandbox.control.calls().await.unwrap();
    let sends: Vec<_> = calls.iter().filter(|c| c.path.ends_with("/send")).collect();
    assert_eq!(sends.len(), 1, "{sends:?}");
    let template: u64 = sends[0]
        .path
        .trim_start_matches("/api/v2/whatsapp/templates/")
        .trim_end_matches("/send")
        .parse()
        .unwrap();
    assert_eq!(sends[0].status, 200);
    let media_id = sends[0].json.as_ref().unwrap()["header_media_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pdf = p.sandbox.control.media_content(&media_id).await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    // What the job recorded is what went out.
    assert_eq!(job.steps["template_id"], Value::from(template));
    (template, read_pdf::text(&pdf))
}

fn assert_arabic(text: &str) {
    for word in ["فاتورة", "المجموع"] {
        assert!(text.contains(word), "no {word} in {text}");
    }
    for word in ["Invoice", "Facture", "Subtotal", "Sous-total"] {
        assert!(!has(text, word), "{word} in an Arabic invoice: {text}");
    }
}

// Titles may be set in capitals by the template: words are looked for case-insensitively.
fn has(text: &str, word: &str) -> bool {
    text.to_lowercase().contains(&word.to_lowercase())
}

fn assert_french(text: &str) {
    for word in [
        "Facture",
        "Sous-total",
        "Désignation",
        "Merci pour votre commande",
    ] {
        assert!(has(text, word), "no {word} in {text}");
    }
    for word in ["Invoice", "Subtotal", "Description", "فاتورة"] {
        assert!(!has(text, word), "{word} in a French invoice: {text}");
    }
}

fn assert_english(text: &str) {
    for word in [
        "Invoice",
        "Subtotal",
        "Description",
        "Thank you for your order",
    ] {
        assert!(has(text, word), "no {word} in {text}");
    }
    for word in ["Facture", "Sous-total", "فاتورة"] {
        assert!(!has(text, word), "{word} in an English invoice: {text}");
    }
}

async fn post_shopify(p: &TestApp, body: Vec<u8>) {
    post_as(
        p,
        "atlas-shopify",
        shopify_headers(SHOPIFY_SECRET, "orders/paid", &body, "w-lang"),
        body,
    )
    .await;
}

fn shopify_paid(locale: &str) -> Vec<u8> {
    let mut order: Value =
        serde_json::from_slice(&fixture("shopify/orders-paid-mad.json")).unwrap();
    order["customer_locale"] = Value::from(locale);
    serde_json::to_vec(&order).unwrap()
}

#[tokio::test]
async fn a_shopify_order_in_arabic_sends_the_arabic_template_and_an_arabic_invoice() {
    let p = app().await;
    post_shopify(&p, shopify_paid("ar")).await;
    let jobs = p.settled(1).await;
    let (template, text) = sent(&p, &jobs[0]).await;
    assert_eq!(
        template, AR,
        "customer_locale \"ar\" is among the languages"
    );
    assert_eq!(jobs[0].order.locale.as_deref(), Some("ar"));
    assert_eq!(jobs[0].steps["language"], "ar");
    assert_arabic(&text);
    // The admin API names the template the job sent, not the rule's default (fr).
    let resp = p
        .admin(reqwest::Method::GET, &format!("/admin/jobs/{}", jobs[0].id))
        .await;
    assert_eq!(resp.status(), 200);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["template_id"], Value::from(AR), "{view}");
    assert_eq!(view["rule"]["template_id"], Value::from(FR), "{view}");
    assert_eq!(
        view["rule"]["template_ids"]["ar"],
        Value::from(AR),
        "{view}"
    );
    // So does the console's list of messages (and its CSV).
    let query = MessageQuery {
        scope: StoreScope::All,
        store_id: None,
        state: None,
        event: None,
        created_from: None,
        created_to: None,
        search: None,
        before_id: None,
        limit: 10,
    };
    let rows = p.service.jobs.messages(&query).await.unwrap().rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].template_id, AR);
}

#[tokio::test]
async fn the_orders_locale_wins_over_its_billing_country() {
    let p = app().await;
    // Billed in Morocco (Arabic, then French), checked out in English.
    post_shopify(&p, shopify_paid("en-GB")).await;
    let jobs = p.settled(1).await;
    let (template, text) = sent(&p, &jobs[0]).await;
    assert_eq!(template, EN);
    assert_english(&text);
}

#[tokio::test]
async fn a_woocommerce_order_billed_in_france_without_language_meta_is_french() {
    let p = app().await;
    let body = fixture("woocommerce/order-updated-paid-eur.json");
    let order: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(order["billing"]["country"], "FR");
    let keys: Vec<&str> = order["meta_data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["key"].as_str())
        .collect();
    assert!(
        !keys.iter().any(|k| k.contains("lang")),
        "no language meta: {keys:?}"
    );
    post_woo(&p, "acme-woo", body, "d-fr").await;
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].order.locale, None);
    let (template, text) = sent(&p, &jobs[0]).await;
    assert_eq!(
        template, FR,
        "the store's default is en: FR billing chose fr"
    );
    assert_french(&text);
}

#[tokio::test]
async fn a_woocommerce_order_with_wpmls_language_meta_follows_it() {
    let p = app().await;
    // Billed in Tunisia (Arabic first), ordered on the shop's French pages.
    let mut order: Value = serde_json::from_slice(&fixture(WOO_PAID)).unwrap();
    order["meta_data"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": 77, "key": "wpml_language", "value": "fr"}));
    post_woo(
        &p,
        "acme-woo",
        serde_json::to_vec(&order).unwrap(),
        "d-wpml",
    )
    .await;
    let jobs = p.settled(1).await;
    assert_eq!(jobs[0].order.locale.as_deref(), Some("fr"));
    let (template, text) = sent(&p, &jobs[0]).await;
    assert_eq!(template, FR);
    assert_french(&text);
}
