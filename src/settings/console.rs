//! `[console]`: who may open the merchant console, what each may see, and how its session
//! cookie is sent. The console exists only while at least one user is configured.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Longest `console.session_hours`: a month; a session is meant to end.
pub const MAX_SESSION_HOURS: u64 = 24 * 30;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// `[[console.users]]`; none turns the console off (every `/console` path is a 404).
    pub users: Vec<ConsoleUserSettings>,
    /// How long a login lasts.
    pub session_hours: u64,
    /// `true` sends the session cookie without `Secure`, so a browser keeps it over plain
    /// `http://`: only for a console reached on localhost or a trusted network. Behind TLS
    /// (the normal case) leave it `false`.
    pub allow_plain_http: bool,
    /// The address platforms reach shopbip at (`https://shopbip.example.com`), used to print
    /// each store's webhook URL; empty: the scheme and host the console was opened with.
    pub public_url: String,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            session_hours: 12,
            allow_plain_http: false,
            public_url: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleUserSettings {
    pub name: String,
    /// An argon2id PHC string (`shopbip console hash-password`). Not a secret as such, but
    /// kept out of `Debug` so it never reaches a log.
    pub password_hash: SecretString,
    /// Store ids this user sees, or `["*"]` for every store.
    pub stores: Vec<String>,
    pub role: ConsoleRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleRole {
    /// Everything, replays and retries included.
    Operator,
    /// Read-only.
    Viewer,
}

impl ConsoleSettings {
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    pub fn user(&self, name: &str) -> Option<&ConsoleUserSettings> {
        self.users.iter().find(|u| u.name == name)
    }

    /// What `check` reports and `serve` refuses to start with (store ids aside: see
    /// [`Self::unknown_stores`]).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=MAX_SESSION_HOURS).contains(&self.session_hours) {
            problems.push(format!(
                "console.session_hours is {}: it must be 1 to {MAX_SESSION_HOURS}",
                self.session_hours
            ));
        }
        let url = self.public_url.trim();
        if !url.is_empty() {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => problems.push(format!(
                    "console.public_url {url:?} is not an http(s):// address (e.g. \
                     https://shopbip.example.com), or leave it empty"
                )),
            }
        }
        for (i, user) in self.users.iter().enumerate() {
            let at = format!("console.users[{i}]");
            let name = &user.name;
            if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
                problems.push(format!(
                    "{at}.name must be 1 to 64 characters, without control characters"
                ));
            } else if self.users[..i].iter().any(|u| &u.name == name) {
                problems.push(format!("{at}.name {name:?} is given to two users"));
            }
            if let Err(why) = check_hash(user.password_hash.expose_secret()) {
                problems.push(format!(
                    "{at}.password_hash (user {name:?}) {why}: make one with \
                     `shopbip console hash-password`"
                ));
            }
            let all = user.stores.iter().any(|s| s == "*");
            if user.stores.is_empty() {
                problems.push(format!(
                    "{at}.stores is empty: list store ids, or [\"*\"] for every store"
                ));
            } else if all && user.stores.len() > 1 {
                problems.push(format!(
                    "{at}.stores mixes \"*\" with store ids: \"*\" alone means every store"
                ));
            }
        }
        problems
    }

    /// A line per store id a user is given that no profile defines: `check` reports them and
    /// `serve` refuses to start, like any settings error (a typo would hide a store).
    pub fn unknown_stores(&self, exists: impl Fn(&str) -> bool) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, user) in self.users.iter().enumerate() {
            for id in user.stores.iter().filter(|s| *s != "*") {
                if !exists(id) {
                    problems.push(format!(
                        "console.users[{i}].stores (user {:?}): no store {id:?} in the store \
                         profiles",
                        user.name
                    ));
                }
            }
        }
        problems
    }
}

/// Why `hash` is not an argon2id PHC string.
fn check_hash(hash: &str) -> Result<(), &'static str> {
    let parsed = PasswordHash::new(hash).map_err(|_| "is not a PHC string")?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err("is not argon2id");
    }
    if parsed.hash.is_none() || parsed.salt.is_none() {
        return Err("has no salt or hash");
    }
    argon2::Params::try_from(&parsed).map_err(|_| "has argon2 parameters out of range")?;
    Ok(())
}

/// The argon2id PHC string of `password` (a fresh random salt, the crate's default costs:
/// 19 MiB, 2 passes, OWASP's recommendation).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let hash: PasswordHash = argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash` (its own costs and salt). Slow on purpose
/// (tens of milliseconds): call it off the async threads.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) if parsed.algorithm.as_str() == "argon2id" => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, hash: &str, stores: &[&str]) -> ConsoleUserSettings {
        ConsoleUserSettings {
            name: name.into(),
            password_hash: SecretString::from(hash),
            stores: stores.iter().map(|s| s.to_string()).collect(),
            role: ConsoleRole::Viewer,
        }
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert!(check_hash(&hash).is_ok());
    }

    #[test]
    fn users_are_validated() {
        let good = hash_password("pw").unwrap();
        let mut s = ConsoleSettings {
            users: vec![user("ana", &good, &["*"]), user("bo", &good, &["acme"])],
            ..ConsoleSettings::default()
        };
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        s.users.push(user("ana", &good, &["acme"]));
        s.users
            .push(user("cy", "$2b$12$bcrypt.is.not.argon2id", &["acme"]));
        // argon2i, not argon2id.
        s.users.push(user(
            "di",
            "$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$Zm9vYmFyYmF6cXV4",
            &["acme"],
        ));
        s.users.push(user("ed", &good, &[]));
        s.users.push(user("fi", &good, &["*", "acme"]));
        s.session_hours = 0;
        let problems = s.problems().join("\n");
        assert!(
            problems.contains("\"ana\" is given to two users"),
            "{problems}"
        );
        assert!(
            problems.contains("user \"cy\") is not a PHC string"),
            "{problems}"
        );
        assert!(
            problems.contains("user \"di\") is not argon2id"),
            "{problems}"
        );
        assert!(problems.contains("users[5].stores is empty"), "{problems}");
        assert!(problems.contains("users[6].stores mixes"), "{problems}");
        assert!(problems.contains("session_hours is 0"), "{problems}");
        assert!(
            !problems.contains(&good),
            "no hash in a message: {problems}"
        );
    }

    #[test]
    fn unknown_store_ids_are_named() {
        let good = hash_password("pw").unwrap();
        let s = ConsoleSettings {
            users: vec![
                user("ana", &good, &["*"]),
                user("bo", &good, &["acme", "gone"]),
            ],
            ..ConsoleSettings::default()
        };
        let problems = s.unknown_stores(|id| id == "acme");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("no store \"gone\""), "{problems:?}");
    }

    fn load(text: &str) -> anyhow::Result<crate::settings::Settings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shopbip.toml");
        std::fs::write(&path, text).unwrap();
        crate::settings::Settings::load_with_env(Some(&path), [])
    }

    #[test]
    fn users_are_read_from_the_settings_file_and_roles_are_known() {
        let hash = hash_password("pw").unwrap();
        let text = format!(
            "[console]\nsession_hours = 2\n[[console.users]]\nname = \"ana\"\n\
             password_hash = \"{hash}\"\nstores = [\"*\"]\nrole = \"operator\"\n"
        );
        let s = load(&text).unwrap();
        assert!(s.console.enabled());
        assert_eq!(s.console.session_hours, 2);
        assert_eq!(s.console.users[0].role, ConsoleRole::Operator);
        assert!(!s.console.allow_plain_http, "Secure by default");
        assert!(!format!("{s:?}").contains(&hash), "no hash in Debug");
        let err = format!(
            "{:#}",
            load(&text.replace("operator", "admin")).unwrap_err()
        );
        assert!(err.contains("role") && err.contains("admin"), "{err}");
        let err = format!(
            "{:#}",
            load(&text.replace("role =", "roles =")).unwrap_err()
        );
        assert!(err.contains("roles"), "unknown keys are errors: {err}");
        assert!(!load("").unwrap().console.enabled(), "off by default");
    }

    #[test]
    fn public_url_must_be_http() {
        let mut s = ConsoleSettings::default();
        for ok in ["", "https://shopbip.example.com", "http://127.0.0.1:8080/"] {
            s.public_url = ok.into();
            assert!(s.problems().is_empty(), "{ok}");
        }
        s.public_url = "shopbip.example.com".into();
        assert!(s.problems()[0].contains("public_url"));
    }
}
