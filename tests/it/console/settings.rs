//! `[console]` settings as `check` and `serve` judge them.

use std::process::{Command, Output};

use crate::common::app::woo_profile;

/// Runs `shopbip --config <dir>/shopbip.toml <args>` with one valid store, `acme-woo`, and
/// `console` appended to the settings file.
fn run(console: &str, args: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("plugin-config");
    std::fs::create_dir_all(&stores).unwrap();
    std::fs::write(
        stores.join("acme-woo.toml"),
        woo_profile("https://app.buzzbip.com"),
    )
    .unwrap();
    let config = dir.path().join("shopbip.toml");
    let settings = format!(
        "[server]\nport = 0\n[stores]\ndir = {:?}\n[database]\nurl = \"sqlite://{}\"\n{console}",
        stores.display(),
        dir.path().join("never-created.db").display()
    );
    std::fs::write(&config, settings).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("--config")
        .arg(&config)
        .args(args)
        .env("SHOPBIP__LOG__LEVEL", "warn")
        .current_dir(dir.path())
        .output()
        .unwrap();
    (dir, out)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn users(stores: &str, hash: &str) -> String {
    format!(
        "[[console.users]]\nname = \"ana\"\npassword_hash = \"{hash}\"\nstores = {stores}\nrole = \"viewer\"\n"
    )
}

#[test]
fn check_and_serve_refuse_console_users_with_unknown_stores_or_bad_hashes() {
    let hash = shopbip::settings::hash_password("pw").unwrap();
    let (_d, out) = run(&users(r#"["acme-woo"]"#, &hash), &["check"]);
    assert!(out.status.success(), "{}", text(&out));

    let (_d, out) = run(&users(r#"["acme-woo", "acme-wooo"]"#, &hash), &["check"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(r#"console.users[0].stores (user "ana"): no store "acme-wooo""#),
        "{all}"
    );
    let (dir, out) = run(&users(r#"["acme-wooo"]"#, &hash), &["serve"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains(r#"no store "acme-wooo""#), "{all}");
    assert!(
        !dir.path().join("never-created.db").exists(),
        "refused before starting"
    );

    let (_d, out) = run(&users(r#"["*"]"#, "$2b$12$not-argon2"), &["check"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("password_hash (user \"ana\") is not a PHC string"),
        "{all}"
    );
    assert!(!all.contains("not-argon2"), "no hash in messages: {all}");
}
