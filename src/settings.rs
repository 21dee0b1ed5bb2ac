//! App settings (PRODUCT.md §2): `shopbip.toml` when present, then `SHOPBIP__SECTION__KEY`
//! environment variables; every key has a default so no file is needed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;
use serde::Deserialize;

use crate::buzzbip::{ClientOptions, DEFAULT_MAX_UPLOAD_BYTES};
use crate::telemetry::LogSettings;

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
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            max_body_bytes: 2_097_152,
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
    /// Bearer token of the admin API; empty turns the admin API off.
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
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("SHOPBIP__"))
            .collect();
        let built = config::Config::builder()
            .add_source(
                config::File::from(file.as_path())
                    .format(config::FileFormat::Toml)
                    .required(required),
            )
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
        built.try_deserialize().with_context(|| {
            format!(
                "invalid settings in {} or SHOPBIP__ environment",
                file.display()
            )
        })
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
}
