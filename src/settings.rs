//! App settings (PRODUCT.md §2): `shopbip.toml` when present, then `SHOPBIP__SECTION__KEY`
//! environment variables; every key has a default so no file is needed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::buzzbip::{ClientOptions, DEFAULT_MAX_UPLOAD_BYTES};
use crate::stores::profile;
use crate::telemetry::LogSettings;

mod console;
pub use console::{
    ConsoleRole, ConsoleSettings, ConsoleUserSettings, MAX_SESSION_HOURS, hash_password,
    verify_password,
};

pub const DEFAULT_CONFIG_FILE: &str = "shopbip.toml";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub stores: StoresSettings,
    pub admin: AdminSettings,
    pub log: LogSettings,
    pub buzzbip: UpstreamSettings,
    pub worker: WorkerSettings,
    pub console: ConsoleSettings,
}

/// The workers inside `shopbip serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Jobs run at once by this process; 0 runs no workers (a receive-only replica).
    pub concurrency: usize,
    /// How long a claimed job stays ours without renewal; renewed every third of it.
    pub lease_secs: u64,
    /// How often an idle worker looks for due jobs.
    pub poll_interval_ms: u64,
    /// Sends per second per Buzzbip account (token bucket), so a burst drains at this pace.
    pub rate_per_second: u32,
    /// On shutdown, how long jobs in flight may take before they are handed back to the queue.
    pub shutdown_grace_secs: u64,
    /// First retry delay; it doubles per attempt up to `retry_cap_secs` (±20 % jitter).
    pub retry_base_ms: u64,
    pub retry_cap_secs: u64,
    /// Attempts before a job is `dead`.
    pub max_attempts: u32,
}

impl WorkerSettings {
    pub fn retry_policy(&self) -> crate::jobs::RetryPolicy {
        crate::jobs::RetryPolicy {
            base: Duration::from_millis(self.retry_base_ms.max(1)),
            cap: Duration::from_secs(self.retry_cap_secs.max(1)),
            max_attempts: self.max_attempts.max(1),
            ..crate::jobs::RetryPolicy::default()
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 8,
            lease_secs: 60,
            poll_interval_ms: 200,
            rate_per_second: 20,
            shutdown_grace_secs: 20,
            retry_base_ms: 10_000,
            retry_cap_secs: 3600,
            max_attempts: 12,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub max_body_bytes: usize,
    /// Seconds a client has to send a whole request body; then 408 and the connection closes
    /// (a client trickling its body holds memory only this long).
    pub body_timeout_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            max_body_bytes: 2_097_152,
            body_timeout_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    pub url: String,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/shopbip.db".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoresSettings {
    pub dir: PathBuf,
}

impl Default for StoresSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("plugin-config"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// Bearer token of the admin API, at least 16 characters; empty turns the admin API off.
    pub token: SecretString,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            token: SecretString::from(""),
        }
    }
}

/// How shopbip talks to Buzzbip, for every store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    pub connect_timeout_secs: u64,
    pub timeout_secs: u64,
    /// PDFs above this are refused before any upload.
    pub max_upload_bytes: u64,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            connect_timeout_secs: 10,
            timeout_secs: 60,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        }
    }
}

impl UpstreamSettings {
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            max_upload_bytes: self.max_upload_bytes,
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
            timeout: Duration::from_secs(self.timeout_secs),
        }
    }
}

impl Settings {
    /// Reads `path` (required when given, else `./shopbip.toml` if it exists), then the
    /// `SHOPBIP__…` environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let (file, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let all_env: HashMap<String, String> = env.into_iter().collect();
        let env: config::Map<String, String> = all_env
            .iter()
            .filter(|(k, _)| k.starts_with("SHOPBIP__"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => anyhow::bail!("cannot read settings from {}: {e}", file.display()),
        };
        // Parsed and `${ENV}`-filled here, as store profiles are, so no error quotes a line
        // of the file or a secret's value (the `config` crate's own TOML errors quote both).
        let problem = |key: &str, message: &str| {
            if key.is_empty() {
                anyhow::anyhow!("invalid settings in {}: {message}", file.display())
            } else {
                anyhow::anyhow!("invalid settings in {}: {key}: {message}", file.display())
            }
        };
        let mut doc = profile::parse_toml(&text).map_err(|p| problem(&p.key, &p.message))?;
        let mut expanded = HashSet::new();
        profile::expanded_paths(&doc, "", &mut expanded);
        let mut env_errors = Vec::new();
        profile::interpolate(
            &mut doc,
            "",
            &|name| all_env.get(name).cloned(),
            &mut env_errors,
        );
        if let Some((key, message)) = env_errors.first() {
            return Err(problem(key, message));
        }
        let origin = file.display().to_string();
        let table = match doc {
            toml::Value::Table(t) => t,
            _ => toml::Table::new(),
        };
        let built = config::Config::builder()
            .add_source(FileTable { origin, table })
            // Both separators must be set, or SHOPBIP__SERVER__PORT is silently ignored.
            .add_source(
                config::Environment::with_prefix("SHOPBIP")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(env)),
            )
            .build()
            .with_context(|| format!("cannot read settings from {}", file.display()))?;
        built.try_deserialize().map_err(|e| {
            let (key, message) = describe(&e);
            let p = profile::type_problem(&text, &key, &message, &expanded);
            anyhow::anyhow!(
                "invalid settings in {} or SHOPBIP__ environment: {}{}",
                file.display(),
                if p.key.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", p.key)
                },
                p.message
            )
        })
    }

    /// What `check` reports and `serve` refuses to start with, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let token = self.admin.token.expose_secret();
        let length = token.chars().count();
        if !token.is_empty() && length < MIN_ADMIN_TOKEN_CHARS {
            problems.push(format!(
                "admin.token is {length} characters: it must be at least {MIN_ADMIN_TOKEN_CHARS} \
                 (e.g. `openssl rand -hex 32`), or empty to turn the admin API off"
            ));
        }
        let timeout = self.server.body_timeout_secs;
        if !(1..=300).contains(&timeout) {
            problems.push(format!(
                "server.body_timeout_secs is {timeout}: it must be 1 to 300 (seconds a client has \
                 to send a whole webhook body)"
            ));
        }
        let max = self.server.max_body_bytes;
        if !(1024..=MAX_BODY_BYTES).contains(&max) {
            problems.push(format!(
                "server.max_body_bytes is {max}: it must be 1024 to {MAX_BODY_BYTES} (64 MiB)"
            ));
        }
        problems.extend(self.console.problems());
        problems
    }
}

/// Largest `server.max_body_bytes`: webhook bodies are orders, not uploads.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Shortest admin token accepted: a guessable bearer token would open the jobs and replays.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// The key and message of a `config` deserialisation error, without the origin (the caller
/// names the file) and without the value (`profile::type_problem` decides whether to show it).
fn describe(e: &config::ConfigError) -> (String, String) {
    match e {
        config::ConfigError::Type {
            unexpected,
            expected,
            key,
            ..
        } => (
            key.clone().unwrap_or_default(),
            format!("invalid type: {unexpected}, expected {expected}"),
        ),
        config::ConfigError::At { error, key, .. } => {
            let (inner_key, message) = describe(error);
            let key = match (key, inner_key.is_empty()) {
                (Some(k), true) => k.clone(),
                (Some(k), false) if !inner_key.starts_with(k.as_str()) => {
                    format!("{k}.{inner_key}")
                }
                _ => inner_key,
            };
            (key, message)
        }
        config::ConfigError::NotFound(key) => (key.clone(), "missing".to_owned()),
        other => (String::new(), other.to_string()),
    }
}

/// The settings file once parsed and interpolated, as a `config` source.
#[derive(Debug, Clone)]
struct FileTable {
    origin: String,
    table: toml::Table,
}

impl config::Source for FileTable {
    fn clone_into_box(&self) -> Box<dyn config::Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<config::Map<String, config::Value>, config::ConfigError> {
        Ok(self
            .table
            .iter()
            .map(|(k, v)| (k.clone(), to_config(&self.origin, v)))
            .collect())
    }
}

fn to_config(origin: &String, value: &toml::Value) -> config::Value {
    let at = Some(origin);
    match value {
        toml::Value::String(s) => config::Value::new(at, s.clone()),
        toml::Value::Integer(i) => config::Value::new(at, *i),
        toml::Value::Float(f) => config::Value::new(at, *f),
        toml::Value::Boolean(b) => config::Value::new(at, *b),
        toml::Value::Datetime(d) => config::Value::new(at, d.to_string()),
        toml::Value::Array(items) => config::Value::new(
            at,
            items
                .iter()
                .map(|v| to_config(origin, v))
                .collect::<Vec<_>>(),
        ),
        toml::Value::Table(t) => config::Value::new(
            at,
            t.iter()
                .map(|(k, v)| (k.clone(), to_config(origin, v)))
                .collect::<config::Map<_, _>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        assert!(Settings::load_with_env(Some(Path::new("/nonexistent/s.toml")), []).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "").unwrap();
        let s = Settings::load_with_env(Some(&path), []).unwrap();
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.server.max_body_bytes, 2_097_152);
        assert_eq!(s.database.url, "sqlite://data/shopbip.db");
        assert_eq!(s.stores.dir, PathBuf::from("plugin-config"));
    }

    #[test]
    fn file_then_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "[server]\nport = 9000\n[log]\nformat = \"json\"\n").unwrap();
        let env = [
            ("SHOPBIP__SERVER__HOST".to_owned(), "0.0.0.0".to_owned()),
            ("SHOPBIP__ADMIN__TOKEN".to_owned(), "s3cret".to_owned()),
        ];
        let s = Settings::load_with_env(Some(&path), env).unwrap();
        assert_eq!(s.server.port, 9000);
        assert_eq!(s.server.host, "0.0.0.0");
        assert_eq!(s.log.format, crate::telemetry::LogFormat::Json);
        assert_eq!(s.admin.token.expose_secret(), "s3cret");
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, "[server]\nprot = 9000\n").unwrap();
        let err = format!(
            "{:#}",
            Settings::load_with_env(Some(&path), []).unwrap_err()
        );
        assert!(err.contains("prot"), "{err}");
    }

    fn load_text(text: &str, env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shopbip.toml");
        std::fs::write(&path, text).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Settings::load_with_env(Some(&path), env)
    }

    #[test]
    fn env_variables_are_filled_in_as_in_profiles() {
        let text = "[admin]\ntoken = \"${ADMIN_TOKEN}\"\n[database]\nurl = \"postgres://u:${DB_PW}@db/shop\"\n";
        let s = load_text(
            text,
            &[("ADMIN_TOKEN", "0123456789abcdef-x"), ("DB_PW", "pw")],
        )
        .unwrap();
        assert_eq!(s.admin.token.expose_secret(), "0123456789abcdef-x");
        assert_eq!(s.database.url, "postgres://u:pw@db/shop");
        // SHOPBIP__ still wins over the file.
        let s = load_text(
            text,
            &[
                ("ADMIN_TOKEN", "0123456789abcdef-x"),
                ("DB_PW", "pw"),
                ("SHOPBIP__ADMIN__TOKEN", "from-the-environment"),
            ],
        )
        .unwrap();
        assert_eq!(s.admin.token.expose_secret(), "from-the-environment");
        let err = format!("{:#}", load_text(text, &[("DB_PW", "pw")]).unwrap_err());
        assert!(
            err.contains("admin.token: environment variable ADMIN_TOKEN is not set"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_key_and_line_but_not_secret_values() {
        let err = format!(
            "{:#}",
            load_text(
                "[server]\nport = 1\n[admin]\ntoken = \"hunter2-hunter2-hunter2\n",
                &[]
            )
            .unwrap_err()
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("admin.token: line 4: not valid TOML"), "{err}");
        // A value from the environment in a typed key: the type, not the value.
        let err = format!(
            "{:#}",
            load_text(
                "[server]\nport = \"${PORT}\"\n",
                &[("PORT", "hunter2-secret")]
            )
            .unwrap_err()
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("server.port: line 2: "), "{err}");
        assert!(err.contains("the value is not shown"), "{err}");
        // A plain key keeps its value in the message.
        let err = format!(
            "{:#}",
            load_text("[server]\nport = \"eighty\"\n", &[]).unwrap_err()
        );
        assert!(err.contains("eighty") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_short_admin_token_is_a_problem() {
        let with = |token: &str| {
            let mut s = Settings::default();
            s.admin.token = SecretString::from(token);
            s.problems()
        };
        assert!(with("").is_empty(), "empty turns the admin API off");
        assert!(with("0123456789abcdef").is_empty());
        let problems = with("short-token");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("at least 16"), "{problems:?}");
        assert!(!problems[0].contains("short-token"), "{problems:?}");
    }

    #[test]
    fn body_limits_out_of_range_are_problems() {
        let with = |timeout: u64, max: usize| {
            let mut s = Settings::default();
            s.server.body_timeout_secs = timeout;
            s.server.max_body_bytes = max;
            s.problems()
        };
        assert!(with(10, 2_097_152).is_empty());
        // 0 s would refuse every webhook with 408; a huge value would overflow a deadline.
        assert!(with(0, 2_097_152)[0].contains("body_timeout_secs"));
        assert!(with(u64::MAX, 2_097_152)[0].contains("1 to 300"));
        assert!(with(10, 1 << 30)[0].contains("max_body_bytes"));
    }
}
