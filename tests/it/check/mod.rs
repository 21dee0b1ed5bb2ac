//! `shopbip check` as a user runs it: the binary, real files, real environment.

mod languages;
mod serve;
mod settings;

use std::path::Path;
use std::process::{Command, Output};

const EXAMPLE_ENV: [&str; 19] = [
    "EXAMPLE_WOO_WEBHOOK_SECRET",
    "EXAMPLE_WOO_BUZZBIP_PASSWORD",
    "EXAMPLE_WOO_BUZZBIP_API_KEY",
    "EXAMPLE_SHOPIFY_WEBHOOK_SECRET",
    "EXAMPLE_SHOPIFY_BUZZBIP_PASSWORD",
    "EXAMPLE_SHOPIFY_BUZZBIP_API_KEY",
    "EXAMPLE_STRIPE_WEBHOOK_SECRET",
    "EXAMPLE_STRIPE_BUZZBIP_PASSWORD",
    "EXAMPLE_STRIPE_BUZZBIP_API_KEY",
    "EXAMPLE_STANDARD_WEBHOOK_SECRET",
    "EXAMPLE_STANDARD_BUZZBIP_PASSWORD",
    "EXAMPLE_STANDARD_BUZZBIP_API_KEY",
    "EXAMPLE_SHOPWARE_SHOP_SECRET",
    "EXAMPLE_SHOPWARE_BUZZBIP_PASSWORD",
    "EXAMPLE_SHOPWARE_BUZZBIP_API_KEY",
    "EXAMPLE_BIGCOMMERCE_CLIENT_SECRET",
    "EXAMPLE_BIGCOMMERCE_ACCESS_TOKEN",
    "EXAMPLE_BIGCOMMERCE_BUZZBIP_PASSWORD",
    "EXAMPLE_BIGCOMMERCE_BUZZBIP_API_KEY",
];

/// What the test sets each example variable to: the Standard Webhooks secret has a format.
fn example_value(name: &str) -> &'static str {
    if name == "EXAMPLE_STANDARD_WEBHOOK_SECRET" {
        "whsec_c2V0LWluLXRlc3Qtd2hzZWMtc2VjcmV0"
    } else {
        "set-in-test"
    }
}

fn check(stores_dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shopbip"));
    cmd.arg("check")
        .env("SHOPBIP__STORES__DIR", stores_dir)
        .current_dir(std::env::temp_dir());
    for name in EXAMPLE_ENV {
        cmd.env_remove(name);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_shipped_examples_pass_and_print_the_runbook() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin-config");
    let env: Vec<(&str, &str)> = EXAMPLE_ENV.iter().map(|n| (*n, example_value(n))).collect();
    let out = check(&dir, &env);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("STORE") && all.contains("TEMPLATE") && all.contains("INVOICE"),
        "{all}"
    );
    let row = all
        .lines()
        .find(|l| l.starts_with("example-woocommerce"))
        .unwrap_or_else(|| panic!("no runbook row: {all}"));
    for cell in [
        "woocommerce",
        "production",
        "order.paid",
        "1289",
        "generate (fr)",
    ] {
        assert!(row.contains(cell), "{row}");
    }
    assert!(all.lines().any(|l| l.starts_with("example-shopify")
        && l.contains("order.fulfilled")
        && l.contains("none")));
    for (store, platform, invoice) in [
        ("example-stripe", "stripe", "fetch (Stripe's invoice_pdf)"),
        ("example-standard", "standard", "generate (fr)"),
        ("example-shopware", "shopware", "generate (en)"),
        (
            "example-bigcommerce",
            "bigcommerce (order via API)",
            "generate (en)",
        ),
    ] {
        assert!(
            all.lines()
                .any(|l| l.starts_with(store) && l.contains(platform) && l.contains(invoice)),
            "no runbook row for {store}: {all}"
        );
    }
    assert!(!all.contains("set-in-test"), "check never prints secrets");
    assert!(!all.contains("c2V0LWluLXRlc3Qtd2hzZWMtc2VjcmV0"));
    // After the send: the examples leave events and write-back commented out, except
    // BigCommerce, whose API access (needed to fetch orders) also writes back.
    let after = |store: &str| {
        all.lines()
            .find(|l| l.starts_with(&format!("after the send: {store} ")))
            .unwrap_or_else(|| panic!("no after-the-send line for {store}: {all}"))
            .to_owned()
    };
    assert!(after("example-woocommerce").contains("events off"));
    assert!(after("example-woocommerce").contains("no write-back"));
    assert!(after("example-bigcommerce").contains("write-back to bigcommerce"));
}

#[test]
fn missing_secrets_fail_naming_file_and_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin-config");
    let out = check(&dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    let all = text(&out);
    assert!(
        all.contains("example-woocommerce.toml: webhook.secrets[0]: environment variable EXAMPLE_WOO_WEBHOOK_SECRET is not set"),
        "{all}"
    );
}

fn broken(name: &str, body: &str) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), body).unwrap();
    let out = check(dir.path(), &[]);
    (dir, out)
}

const VALID: &str = r#"platform = "woocommerce"
base_uri = "https://shop.test"
default_country = "TN"
[webhook]
secrets = ["s"]
[buzzbip]
username = "u"
password = "p"
api_key = "k"
[[notify]]
on = "order.paid"
template_id = 1289
body_params = ["{customer.first_name}"]
"#;

#[test]
fn a_valid_profile_passes() {
    let (_d, out) = broken("shop.toml", VALID);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn broken_profiles_fail_naming_file_and_key() {
    let cases = [
        (
            "shop.toml",
            VALID.replace("template_id", "tempalte_id"),
            "shop.toml: notify[0]",
        ),
        (
            "shop.toml",
            VALID.replace("{customer.first_name}", "{customer.nickname}"),
            "notify[0].body_params[0]: unknown placeholder {customer.nickname}",
        ),
        (
            "shop.toml",
            VALID.replace(
                "https://shop.test\"",
                "https://shop.test\"\ncolour = \"red\"",
            ),
            "unknown field `colour`",
        ),
        (
            "shop.toml",
            VALID.replace(
                "[buzzbip]",
                "[buzzbip]\nbase_url = \"http://app.buzzbip.com\"",
            ),
            "buzzbip.base_url: Buzzbip base URL \"http://app.buzzbip.com\" is not allowed",
        ),
        (
            "shop.toml",
            VALID.replace("\"woocommerce\"", "\"magento\""),
            "shop.toml: platform",
        ),
        (
            "shop.toml",
            VALID.replace("\"TN\"", "\"Tunisia\""),
            "default_country",
        ),
        (
            "shop.toml",
            VALID.replace("secrets = [\"s\"]", "secrets = [\"${NOT_SET_ANYWHERE}\"]"),
            "webhook.secrets[0]: environment variable NOT_SET_ANYWHERE is not set",
        ),
        (
            "Shop_1.toml",
            VALID.to_owned(),
            "Shop_1.toml: store id \"Shop_1\"",
        ),
        (
            "shop.toml",
            format!("{VALID}\n[[notify]]\non = \"order.paid\"\ntemplate_id = 1289\n"),
            "notify[1]: same event and template as notify[0]",
        ),
        (
            "shop.toml",
            VALID.replace("[[notify]]", "[invoice]\nsource = \"fetch\"\n[[notify]]"),
            "invoice.fetch_url",
        ),
        ("shop.toml", "platform = \n".to_owned(), "not valid TOML"),
        (
            "shop.toml",
            VALID.replace("\"woocommerce\"", "\"bigcommerce\""),
            "shop.toml: bigcommerce: platform = \"bigcommerce\" needs [bigcommerce] store_hash and access_token",
        ),
        (
            "shop.toml",
            VALID.replace("\"woocommerce\"", "\"bigcommerce\"")
                + "[bigcommerce]\nstore_hash = \"abc123\"\n",
            "shop.toml: bigcommerce: line 14: missing field `access_token`",
        ),
        (
            "shop.toml",
            VALID.replace("\"woocommerce\"", "\"bigcommerce\"")
                + "[bigcommerce]\nstore_hash = \"abc123\"\naccess_token = \"${BC_TOKEN_NOT_SET}\"\n",
            "bigcommerce.access_token: environment variable BC_TOKEN_NOT_SET is not set",
        ),
        (
            "shop.toml",
            VALID.replace("\"woocommerce\"", "\"bigcommerce\"")
                + "[bigcommerce]\nstore_hash = \"abc123\"\naccess_token = \"t\"\napi_base_url = \"http://api.bigcommerce.com\"\n",
            "bigcommerce.api_base_url: \"http://api.bigcommerce.com/\" is not allowed",
        ),
        (
            "shop.toml",
            VALID.replace("\"woocommerce\"", "\"standard\""),
            "webhook.secrets[0]: is not a Standard Webhooks secret",
        ),
        (
            "shop.toml",
            VALID.replace("\"woocommerce\"", "\"bigcommerce\"").replace(
                "secrets = [\"s\"]",
                "secrets = [\"s\", \"whsec_not base64!\"]",
            ) + "[bigcommerce]\nstore_hash = \"abc123\"\naccess_token = \"t\"\n",
            "webhook.secrets[1]: starts with whsec_ but the rest is not base64",
        ),
        (
            "shop.toml",
            VALID.replace("secrets = [\"s\"]", "secrets = [\"s\"]\ntolerance_secs = 0"),
            "webhook.tolerance_secs: 0 is not between 1 and 86400 seconds",
        ),
    ];
    for (file, body, expected) in cases {
        let (_d, out) = broken(file, &body);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{expected}: {all}");
        assert!(all.contains(expected), "expected {expected:?} in:\n{all}");
    }
}

/// A refused `api_base_url` is shown without the user info it may carry.
#[test]
fn a_refused_bigcommerce_api_url_is_shown_without_credentials() {
    let body = VALID.replace("\"woocommerce\"", "\"bigcommerce\"")
        + "[bigcommerce]\nstore_hash = \"abc123\"\naccess_token = \"t\"\n\
           api_base_url = \"http://admin:pa55word@api.bigcommerce.com/?key=s3cret\"\n";
    let (_d, out) = broken("shop.toml", &body);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("bigcommerce.api_base_url: \"http://api.bigcommerce.com/\" is not allowed"),
        "{all}"
    );
    assert!(
        !all.contains("pa55word") && !all.contains("s3cret"),
        "{all}"
    );
}

#[test]
fn duplicate_store_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.toml"), VALID).unwrap();
    std::fs::write(dir.path().join("shop.TOML"), VALID).unwrap();
    let out = check(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("duplicate store id \"shop\""),
        "{}",
        text(&out)
    );
}

/// `shopbip serve` on `stores` with a throwaway database; it must refuse to start.
fn serve_refusing(stores: &Path, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("serve")
        .env("SHOPBIP__STORES__DIR", stores)
        .env("SHOPBIP__SERVER__PORT", "0")
        .env("SHOPBIP__DATABASE__URL", "sqlite://never-created.db")
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!dir.path().join("never-created.db").exists());
    all
}
