//! The command line: one module per subcommand, each a few lines over the library. `main.rs`
//! only parses arguments and reports the error.

mod check;
mod console;
pub mod demo;
mod invoice;
mod jobs;
mod migrate;
mod optout;
mod reconcile;
mod sandbox;
mod serve;
mod test_send;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::settings::Settings;

pub use check::print_runbook;
pub use serve::shutdown_signal;

#[derive(Parser)]
#[command(
    name = "shopbip",
    version,
    about = "Shop events in, WhatsApp messages with the invoice attached out"
)]
pub struct Cli {
    /// App settings file (default ./shopbip.toml, optional); SHOPBIP__SECTION__KEY overrides.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Runs the webhook receiver (POST /webhooks/{store_id}, /healthz, /readyz) and the workers.
    Serve {
        /// Point every store at an in-process Buzzbip sandbox: nothing leaves the machine.
        #[arg(long)]
        sandbox: bool,
    },
    /// Validates the settings and every store profile, and prints the runbook; with --online,
    /// also tries each store's Buzzbip account.
    Check {
        /// Checks the settings and this one store's profile (`<stores.dir>/<ID>.toml`) only.
        #[arg(long, value_name = "ID")]
        store: Option<String>,
        /// After the offline checks, logs in to Buzzbip with each store's credentials and
        /// uploads and deletes a one-page test PDF; one OK/FAIL line per store. Sends nothing.
        #[arg(long)]
        online: bool,
    },
    /// Sends one rule's message for a sample order (or a saved one) through the store's real
    /// Buzzbip account to a test phone, and prints Buzzbip's answer. Writes no job.
    TestSend {
        /// The store whose profile (`<stores.dir>/<ID>.toml`), rule and Buzzbip account are used.
        #[arg(long, value_name = "ID")]
        store: String,
        /// The recipient, e.g. +21696816277; must be in the store's [test].allow_phones unless
        /// --yes is given. Replaces whatever phone the order has.
        #[arg(long, value_name = "PHONE")]
        to: String,
        /// Which [[notify]] block of the store's profile, counted from 1.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        rule: u32,
        /// A platform order payload (as for `shopbip invoice --order`) instead of the sample
        /// order.
        #[arg(long, value_name = "FILE.json")]
        order: Option<PathBuf>,
        /// Sends to a phone that is not in [test].allow_phones.
        #[arg(long)]
        yes: bool,
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
        /// Also writes each page as a PNG image beside the PDF: out-1.png, out-2.png, … (named
        /// after -o's file name), for a quick look without a PDF viewer.
        #[arg(long)]
        png: bool,
        /// Pixels per typographic point of the PNG pages (2 gives 1191 × 1684 for A4).
        #[arg(
            long,
            value_name = "N",
            default_value_t = crate::invoice::DEFAULT_PIXELS_PER_PT,
            requires = "png",
            value_parser = invoice::parse_scale
        )]
        scale: f32,
    },
    /// Reads and acts on the job store directly (the admin API's jobs routes, offline).
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// A store's opt-out list: the customers who answered STOP (or were added by hand) get
    /// no more messages from it.
    Optout {
        #[command(subcommand)]
        action: OptoutAction,
    },
    /// Runs one reconciliation sweep of a store now: lists the orders its shop changed (since
    /// the store's watermark, or `--since`) through the shop's API and stores those no
    /// webhook brought, so they are sent once. Prints what it found.
    Reconcile {
        #[arg(long, value_name = "ID")]
        store: String,
        /// List orders changed since this time (RFC 3339, e.g. 2026-11-01T00:00:00Z) instead
        /// of since the store's watermark.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Print what was found and what would be sent; store nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copies a SQLite job store (events, jobs, invoice numbers) into an empty PostgreSQL
    /// database, to move to several replicas. Stop shopbip first.
    MigrateSqliteToPostgres {
        #[arg(long, value_name = "sqlite://FILE")]
        from: String,
        #[arg(long, value_name = "postgres://…")]
        to: String,
    },
    /// Runs the whole round trip on embedded defaults and exits: a signed WooCommerce order posted
    /// to the real receiver, rendered, uploaded and sent to an in-process Buzzbip sandbox.
    Demo,
    /// The merchant console (/console).
    Console {
        #[command(subcommand)]
        action: ConsoleAction,
    },
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
pub enum ConsoleAction {
    /// Reads a password (a prompt, or one line of stdin) and prints its argon2id PHC string,
    /// for `password_hash` in `[[console.users]]`.
    HashPassword,
}

#[derive(Subcommand)]
pub enum OptoutAction {
    /// The listed numbers (masked), newest first.
    List {
        #[arg(long, value_name = "ID")]
        store: String,
    },
    /// Lists a number: the store's next messages to it are skipped.
    Add {
        #[arg(long, value_name = "ID")]
        store: String,
        /// E.g. +21696816277 (without a country code: the store's default_country).
        phone: String,
    },
    /// Takes a number off the list.
    Remove {
        #[arg(long, value_name = "ID")]
        store: String,
        phone: String,
    },
}

#[derive(Subcommand)]
pub enum JobsAction {
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

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    let reports = matches!(
        cli.command,
        Command::Demo | Command::TestSend { .. } | Command::Check { online: true, .. }
    );
    if reports && std::env::var_os("SHOPBIP__LOG__LEVEL").is_none() {
        // These print their own account of what happened; logs only for trouble.
        settings.log.level = "warn".into();
    }
    crate::telemetry::init(&settings.log);
    match cli.command {
        Command::Serve { sandbox } => serve::run(settings, sandbox).await,
        Command::Check { store, online } => {
            check::command(&settings, store.as_deref(), online).await
        }
        Command::TestSend {
            store,
            to,
            rule,
            order,
            yes,
        } => {
            let args = test_send::TestSend {
                store,
                to,
                rule: rule as usize,
                order,
                yes,
            };
            test_send::command(&settings, &args).await
        }
        Command::Invoice {
            store,
            order,
            out,
            png,
            scale,
        } => invoice::command(&settings, &store, &order, &out, png.then_some(scale)),
        Command::Jobs { action } => jobs::command(&settings, action).await,
        Command::Optout { action } => optout::command(&settings, action).await,
        Command::Reconcile {
            store,
            since,
            dry_run,
        } => {
            let args = reconcile::Args {
                store,
                since,
                dry_run,
            };
            reconcile::command(&settings, &args).await
        }
        Command::MigrateSqliteToPostgres { from, to } => migrate::command(&from, &to).await,
        Command::Demo => demo::run().await,
        Command::Console {
            action: ConsoleAction::HashPassword,
        } => console::hash_password(),
        Command::Sandbox {
            port,
            host,
            sandbox_config,
            token_ttl,
        } => sandbox::command(&host, port, sandbox_config.as_deref(), token_ttl).await,
    }
}
