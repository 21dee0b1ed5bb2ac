//! `shopbip sandbox`: the Buzzbip sandbox alone, for trying a store profile by hand.

use std::path::Path;

use crate::sandbox::{self, SandboxConfig};

pub async fn command(
    host: &str,
    port: u16,
    config_file: Option<&Path>,
    token_ttl: Option<u64>,
) -> anyhow::Result<()> {
    let mut config = match config_file {
        Some(path) => SandboxConfig::from_file(path)?,
        None => SandboxConfig::default(),
    };
    if let Some(ttl) = token_ttl {
        config.token_ttl_secs = ttl.max(1);
    }
    sandbox::run(&config, host, port).await
}
