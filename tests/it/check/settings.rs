//! `check` on the app settings (`shopbip.toml`, environment variables, the admin token) and on
//! profiles whose mistakes must be told plainly without echoing a secret.

use super::*;

/// `check --config FILE` with a valid store, so only the settings decide.
fn check_settings(settings: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("plugin-config");
    std::fs::create_dir_all(&stores).unwrap();
    std::fs::write(stores.join("shop.toml"), VALID).unwrap();
    let config = dir.path().join("shopbip.toml");
    std::fs::write(&config, settings).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shopbip"));
    cmd.arg("--config")
        .arg(&config)
        .arg("check")
        .env("SHOPBIP__STORES__DIR", &stores)
        .env_remove("SHOPBIP__ADMIN__TOKEN")
        .env_remove("ADMIN_TOKEN")
        .current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (dir, out)
}

#[test]
fn env_variables_work_in_the_settings_file() {
    let settings = "[admin]\ntoken = \"${ADMIN_TOKEN}\"\n";
    let (_d, out) = check_settings(
        settings,
        &[("ADMIN_TOKEN", "8f14e45fceea167a5a36dedd4bea2543")],
    );
    assert!(out.status.success(), "{}", text(&out));
    // Taken literally before: then "${ADMIN_TOKEN}" was the token.
    let (_d, out) = check_settings(settings, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("admin.token: environment variable ADMIN_TOKEN is not set"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_short_admin_token_is_refused_by_check_and_serve() {
    let (_d, out) = check_settings(
        "[admin]\ntoken = \"${ADMIN_TOKEN}\"\n",
        &[("ADMIN_TOKEN", "letmein")],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("error: settings: admin.token is 7 characters: it must be at least 16"),
        "{all}"
    );
    assert!(!all.contains("letmein"), "{all}");
    let (_d, out) = check_settings("[admin]\ntoken = \"\"\n", &[]);
    assert!(
        out.status.success(),
        "empty turns the admin API off: {}",
        text(&out)
    );

    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("plugin-config");
    std::fs::create_dir_all(&stores).unwrap();
    std::fs::write(stores.join("shop.toml"), VALID).unwrap();
    let all = serve_refusing(&stores, &[("SHOPBIP__ADMIN__TOKEN", "letmein")]);
    assert!(all.contains("admin.token is 7 characters"), "{all}");
}

#[test]
fn syntax_errors_on_a_secret_line_do_not_print_the_secret() {
    // In the settings file.
    let (_d, out) = check_settings(
        "[server]\nport = 8080\n[admin]\ntoken = \"hunter2-hunter2-hunter2\n",
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
    assert!(
        all.contains("shopbip.toml: admin.token: line 4: not valid TOML"),
        "{all}"
    );
    // In a store profile.
    for broken in [
        "password = \"hunter2-hunter2",
        "password = hunter2-hunter2",
        "password = 'hunter2-hunter2' \"",
        "password = [\"hunter2-hunter2\"]",
    ] {
        let (_d, out) = broken_profile(&VALID.replace("password = \"p\"", broken));
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{broken}: {all}");
        assert!(!all.contains("hunter2"), "{broken}: {all}");
        assert!(
            all.contains("shop.toml: buzzbip.password: line 8: "),
            "{broken}: {all}"
        );
    }
}

fn broken_profile(body: &str) -> (tempfile::TempDir, Output) {
    broken("shop.toml", body)
}

#[test]
fn every_unknown_key_and_misfit_numbers_are_told_plainly() {
    let body = VALID
        .replace(
            "default_country = \"TN\"",
            "default_country = \"TN\"\ncountry = \"TN\"",
        )
        .replace("username = \"u\"", "user = \"u\"\nusername = \"u\"")
        .replace(
            "template_id = 1289",
            "template = 1289\ntemplate_id = 1289.0",
        );
    let (_d, out) = broken_profile(&body);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    for expected in [
        "shop.toml: country: line 4: unknown field `country`",
        "shop.toml: buzzbip.user: line 8: unknown field `user`",
        "shop.toml: notify[0].template: line 14: unknown field `template`",
        "shop.toml: notify[0].template_id: line 15: 1289.0 is not a whole number: write 1289",
    ] {
        assert!(all.contains(expected), "expected {expected:?} in:\n{all}");
    }
    assert!(!all.contains("untagged"), "{all}");
    let (_d, out) = broken_profile(&VALID.replace("template_id = 1289", "template_id = -5"));
    let all = text(&out);
    assert!(
        all.contains(
            "notify[0].template_id: line 12: -5 is negative: expected a whole number of 0 or more"
        ),
        "{all}"
    );
}
