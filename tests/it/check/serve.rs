//! What `serve` refuses as `check` does, and what one `check` looks at: one store with
//! `--store`, invoice assets only inside the profile folder.

use super::*;

#[test]
fn a_missing_or_empty_stores_folder_is_an_error_for_check_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("plugin-config");
    let out = check(&missing, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("does not exist"), "{all}");
    assert!(serve_refusing(&missing, &[]).contains("does not exist"));
    std::fs::create_dir_all(&missing).unwrap();
    let out = check(&missing, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("no store profile"), "{all}");
    assert!(serve_refusing(&missing, &[]).contains("no store profile"));
}

#[test]
fn serve_refuses_a_store_whose_template_does_not_compile() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shop.toml"),
        VALID.replace("[buzzbip]", "[invoice]\ntemplate = \"mine.typ\"\n[buzzbip]"),
    )
    .unwrap();
    std::fs::write(dir.path().join("mine.typ"), "#let x = (1, 2\n").unwrap();
    let all = serve_refusing(dir.path(), &[]);
    assert!(
        all.contains("shop.toml: invoice.template: mine.typ"),
        "{all}"
    );
}

#[test]
fn check_store_checks_one_profile_and_not_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.toml"), VALID).unwrap();
    // An example whose variables are not set: it would fail a check of the whole folder.
    std::fs::write(
        dir.path().join("example.toml"),
        VALID.replace(
            "password = \"p\"",
            "password = \"${UNSET_EXAMPLE_PASSWORD}\"",
        ),
    )
    .unwrap();
    let all_folder = check(dir.path(), &[]);
    assert_eq!(all_folder.status.code(), Some(1), "{}", text(&all_folder));
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["check", "--store", "mine"])
        .env("SHOPBIP__STORES__DIR", dir.path())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("mine") && !all.contains("example"), "{all}");
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .args(["check", "--store", "../mine"])
        .env("SHOPBIP__STORES__DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn invoice_assets_outside_the_profile_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("plugin-config");
    std::fs::create_dir_all(&stores).unwrap();
    // A file the server can read, which would render into a PDF sent to a customer.
    std::fs::write(dir.path().join("secrets.typ"), "s3cret").unwrap();
    for (key, path) in [("template", "../secrets.typ"), ("logo", "/etc/hostname")] {
        std::fs::write(
            stores.join("shop.toml"),
            VALID.replace(
                "[buzzbip]",
                &format!("[invoice]\n{key} = \"{path}\"\n[buzzbip]"),
            ),
        )
        .unwrap();
        let out = check(&stores, &[]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{all}");
        assert!(
            all.contains(&format!("invoice.{key}")) && all.contains("inside the profile's folder"),
            "{all}"
        );
    }
}
