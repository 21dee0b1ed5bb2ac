#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shopbip::sandbox::{self, SandboxConfig};
use shopbip::settings::Settings;

// glibc's malloc spent ~17 % of ingestion CPU in a profile (BENCHMARKS.md); mimalloc is the
// usual cure for many small short-lived allocations across threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "shopbip",
    version,
    about = "Shop events in, WhatsApp messages with the invoice attached out"
)]
struct Cli {
    /// App settings file (default ./shopbip.toml, optional); SHOPBIP__SECTION__KEY overrides.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the webhook receiver (POST /webhooks/{store_id}, /healthz, /readyz) and the workers.
    Serve {
        /// Point every store at an in-process Buzzbip sandbox: nothing leaves the machine.
        #[arg(long)]
        sandbox: bool,
    },
    /// Validates the settings and every store profile, and prints the runbook.
    Check,
    /// Renders a store's invoice for a saved platform order payload, to preview its look.
    Invoice {
        #[arg(long)]
        store: String,
        /// The order as the platform sends it (e.g. a WooCommerce webhook body).
        #[arg(long, value_name = "FILE.json")]
        order: PathBuf,
        #[arg(
            short = 'o',
            long,
            value_name = "out.pdf",
            default_value = "invoice.pdf"
        )]
        out: PathBuf,
    },
    /// Runs a round trip on embedded defaults and exits (today: the Buzzbip client against the
    /// sandbox; the full webhook pipeline comes with the next issues).
    Demo,
    /// Runs the Buzzbip sandbox alone, for trying a store profile by hand.
    Sandbox {
        #[arg(long, default_value_t = 9090)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Accounts and templates (TOML); the built-in demo accounts when omitted.
        #[arg(long, value_name = "FILE")]
        sandbox_config: Option<PathBuf>,
        /// Token lifetime in seconds, overriding the sandbox config.
        #[arg(long, value_name = "SECS")]
        token_ttl: Option<u64>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    shopbip::telemetry::init(&settings.log);
    match cli.command {
        Command::Serve { sandbox } => shopbip::serve::run(settings, sandbox).await,
        Command::Check => {
            let ok = shopbip::check::run(&settings, &mut std::io::stdout().lock())?;
            if ok {
                Ok(())
            } else {
                anyhow::bail!("configuration has errors (listed above)")
            }
        }
        Command::Invoice { store, order, out } => {
            let written = shopbip::invoice::preview(&settings, &store, &order, &out)?;
            println!("{} ({} bytes)", out.display(), written);
            Ok(())
        }
        Command::Demo => shopbip::demo::run().await,
        Command::Sandbox {
            port,
            host,
            sandbox_config,
            token_ttl,
        } => {
            let mut config = match sandbox_config {
                Some(path) => SandboxConfig::from_file(&path)?,
                None => SandboxConfig::default(),
            };
            if let Some(ttl) = token_ttl {
                config.token_ttl_secs = ttl.max(1);
            }
            sandbox::run(&config, &host, port).await
        }
    }
}
