//! `shopbip test-send` as a merchant runs it: the binary, a profile on disk, the sandbox over
//! loopback standing in for Buzzbip.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{TestSandbox, spawn_sandbox};

const ALLOWED: &str = "21696816277";
const OTHER_PHONE: &str = "21620123456";

/// A production store on the sandbox's demo account: rule 1 the invoice template (document
/// header, a URL button), rule 2 a text-only template, rule 3 a template still in DRAFT.
fn profile(base_url: &str) -> String {
    format!(
        r#"platform = "woocommerce"
base_uri = "https://shop.acme.test"
default_country = "TN"
[webhook]
secrets = ["s"]
[buzzbip]
base_url = "{base_url}"
username = "demo@shopbip.test"
password = "demo-password"
api_key = "demo-api-key"
[invoice]
filename = "Facture-{{order.number}}.pdf"
language = "fr"
seller_name = "Acme SARL"
[[notify]]
on = "order.paid"
template_id = 1289
body_params = ["{{customer.first_name}}", "{{order.number}}"]
buttons = [{{ index = 0, sub_type = "url", value = "{{order.id}}" }}]
[[notify]]
on = "order.fulfilled"
template_id = 1290
attach_invoice = false
body_params = ["{{order.number}}"]
[[notify]]
on = "order.created"
template_id = 1300
body_params = ["{{customer.first_name}}", "{{order.number}}"]
[test]
allow_phones = ["+{ALLOWED}"]
"#
    )
}

struct Shop {
    dir: tempfile::TempDir,
    sandbox: TestSandbox,
}

impl Shop {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = spawn_sandbox();
        let stores = dir.path().join("plugin-config");
        std::fs::create_dir_all(&stores).unwrap();
        std::fs::write(
            stores.join("acme.toml"),
            profile(&sandbox.handle.base_url()),
        )
        .unwrap();
        Self { dir, sandbox }
    }

    fn database(&self) -> PathBuf {
        self.dir.path().join("jobs.db")
    }

    async fn test_send(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_shopbip"))
            .args(["test-send", "--store", "acme"])
            .args(args)
            .env(
                "SHOPBIP__STORES__DIR",
                self.dir.path().join("plugin-config"),
            )
            .env(
                "SHOPBIP__DATABASE__URL",
                format!("sqlite://{}", self.database().display()),
            )
            .current_dir(self.dir.path())
            .output()
            .await
            .unwrap()
    }

    async fn sends(&self) -> Vec<shopbip::sandbox::Call> {
        self.sandbox
            .control
            .calls_to("/api/v2/whatsapp/templates")
            .await
            .unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn no_full_phone(all: &str) {
    for phone in [ALLOWED, OTHER_PHONE] {
        assert!(
            !all.contains(&phone[3..]),
            "a full phone number printed: {all}"
        );
    }
}

#[tokio::test]
async fn a_phone_outside_the_allow_list_is_refused_unless_yes() {
    let shop = Shop::new();
    let out = shop.test_send(&["--to", &format!("+{OTHER_PHONE}")]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("[test].allow_phones") && all.contains("--yes"),
        "the refusal says how to allow the phone: {all}"
    );
    assert_eq!(all.trim().lines().count(), 1, "one line: {all}");
    no_full_phone(&all);
    // Refused before anything reached Buzzbip: no login, no upload, no send.
    let calls = shop.sandbox.control.calls().await.unwrap();
    assert!(calls.is_empty(), "{calls:?}");

    let out = shop
        .test_send(&["--to", &format!("+{OTHER_PHONE}"), "--yes"])
        .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let sends = shop.sends().await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].json.as_ref().unwrap()["to"], OTHER_PHONE);
    no_full_phone(&all);
}

#[tokio::test]
async fn a_phone_in_the_allow_list_gets_the_rule_s_message_with_the_invoice() {
    let shop = Shop::new();
    // Written as a person would: normalised before it is compared with the allow-list.
    let out = shop.test_send(&["--to", "+216 96 816 277"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    no_full_phone(&all);

    let sends = shop.sends().await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    let send = &sends[0];
    assert_eq!(send.status, 200);
    assert_eq!(send.path, "/api/v2/whatsapp/templates/1289/send");
    assert_eq!(send.account.as_deref(), Some("demo@shopbip.test"));
    let json = send.json.as_ref().unwrap();
    assert_eq!(json["to"], ALLOWED);
    assert_eq!(json["country_code"], "TN");
    assert_eq!(json["body_params"].as_array().unwrap().len(), 2);
    assert_eq!(json["buttons"][0]["sub_type"], "url");
    let media_id = json["header_media_id"]
        .as_str()
        .expect("a header media id")
        .to_owned();

    // The header is the invoice the store renders, uploaded by the same account.
    let media = shop.sandbox.control.media().await.unwrap();
    let uploaded = media
        .iter()
        .find(|m| m.id == media_id)
        .unwrap_or_else(|| panic!("media {media_id} not uploaded: {media:?}"));
    assert_eq!(uploaded.owner, "demo@shopbip.test");
    assert_eq!(uploaded.content_type.as_deref(), Some("application/pdf"));
    assert!(
        uploaded
            .filename
            .as_deref()
            .unwrap()
            .starts_with("Facture-")
    );
    let pdf = shop.sandbox.control.media_content(&media_id).await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(crate::common::pdf_text(&pdf).contains("Acme SARL"));

    // Buzzbip's answer is printed: the bulk group id, the media id, the template.
    assert!(all.contains("whatsapp_bulk_group_id"), "{all}");
    assert!(all.contains(&media_id) && all.contains("1289"), "{all}");
    assert!(all.contains("+216•••••277"), "the recipient, masked: {all}");
    assert!(
        !shop.database().exists(),
        "a test send writes no job database"
    );
}

#[tokio::test]
async fn a_saved_order_and_another_rule_send_that_order_s_values_to_the_given_phone() {
    let shop = Shop::new();
    let order = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/woocommerce/order-updated-paid-tnd.json");
    let out = shop
        .test_send(&[
            "--to",
            &format!("+{ALLOWED}"),
            "--rule",
            "2",
            "--order",
            order.to_str().unwrap(),
        ])
        .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let sends = shop.sends().await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].path, "/api/v2/whatsapp/templates/1290/send");
    let json = sends[0].json.as_ref().unwrap();
    assert_eq!(json["body_params"][0], "5120", "the saved order's number");
    assert_eq!(json["to"], ALLOWED);
    assert!(json.get("header_media_id").is_none(), "{json}");
    assert!(
        shop.sandbox
            .control
            .calls_to("/api/v2/whatsapp/media")
            .await
            .unwrap()
            .is_empty(),
        "a rule without attach_invoice uploads nothing"
    );

    let out = shop
        .test_send(&["--to", &format!("+{ALLOWED}"), "--rule", "4"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--rule 4"), "{}", text(&out));
    let out = shop
        .test_send(&["--to", &format!("+{ALLOWED}"), "--rule", "0"])
        .await;
    assert_eq!(out.status.code(), Some(2), "a usage error: {}", text(&out));
}

#[tokio::test]
async fn a_refused_send_prints_the_class_and_fix_and_deletes_its_media() {
    let shop = Shop::new();
    let out = shop
        .test_send(&["--to", &format!("+{ALLOWED}"), "--rule", "3"])
        .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("permanent"), "{all}");
    assert!(all.contains("APPROVED") && all.contains("1300"), "{all}");
    no_full_phone(&all);
    let sends = shop.sends().await;
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].status, 400, "{sends:?}");
    // The upload happened, and its document was removed again.
    assert_eq!(
        shop.sandbox
            .control
            .calls_to("/api/v2/whatsapp/media")
            .await
            .unwrap()
            .iter()
            .filter(|c| c.method == "DELETE" && c.status == 200)
            .count(),
        1
    );
    assert!(shop.sandbox.control.media().await.unwrap().is_empty());
}
