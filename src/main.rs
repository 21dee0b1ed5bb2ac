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
    Check {
        /// Checks the settings and this one store's profile (`<stores.dir>/<ID>.toml`) only.
        #[arg(long, value_name = "ID")]
        store: Option<String>,
    },
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
    /// Reads and acts on the job store directly (the admin API's jobs routes, offline).
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Copies a SQLite job store (events, jobs, invoice numbers) into an empty PostgreSQL
    /// database, to move to several replicas. Stop shopbip first.
    MigrateSqliteToPostgres {
        #[arg(long, value_name = "sqlite://FILE")]
        from: String,
        #[arg(long, value_name = "postgres://…")]
        to: String,
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

#[derive(Subcommand)]
enum JobsAction {
    /// Jobs, newest first.
    List {
        #[arg(long)]
        store: Option<String>,
        /// queued, running, done, skipped or dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        order: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only jobs older than this id (the next page).
        #[arg(long)]
        before: Option<i64>,
    },
    /// One job: its event, order (phone masked), rule and steps, as JSON.
    Show { id: i64 },
    /// Runs a done, dead or skipped job again (a running `shopbip serve` picks it up).
    Replay { id: i64 },
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
    let mut settings = Settings::load(cli.config.as_deref())?;
    if matches!(cli.command, Command::Demo) && std::env::var_os("SHOPBIP__LOG__LEVEL").is_none() {
        // The demo prints its own account of what happened; logs only for trouble.
        settings.log.level = "warn".into();
    }
    shopbip::telemetry::init(&settings.log);
    match cli.command {
        Command::Serve { sandbox } => shopbip::serve::run(settings, sandbox).await,
        Command::Check { store } => {
            let ok =
                shopbip::check::run(&settings, store.as_deref(), &mut std::io::stdout().lock())?;
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
        Command::Jobs { action } => {
            let store =
                shopbip::jobs::open(&settings.database.url, settings.worker.retry_policy()).await?;
            let mut out = std::io::stdout().lock();
            match action {
                JobsAction::List {
                    store: s,
                    state,
                    order,
                    limit,
                    before,
                } => {
                    let filter = shopbip::jobs::JobFilter {
                        store_id: s,
                        state: state
                            .as_deref()
                            .map(shopbip::jobs::cli::parse_state)
                            .transpose()?,
                        order_id: order,
                        before_id: before,
                        limit,
                    };
                    shopbip::jobs::cli::list(store.as_ref(), &filter, &mut out).await
                }
                JobsAction::Show { id } => {
                    shopbip::jobs::cli::show(store.as_ref(), id, &mut out).await
                }
                JobsAction::Replay { id } => {
                    shopbip::jobs::cli::replay(store.as_ref(), id, &mut out).await
                }
            }
        }
        Command::MigrateSqliteToPostgres { from, to } => {
            let copied = shopbip::jobs::migrate::sqlite_to_postgres(&from, &to).await?;
            println!(
                "copied {} events, {} jobs, {} invoice numbers; point database.url at the PostgreSQL database",
                copied.events, copied.jobs, copied.invoice_numbers
            );
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
