//! Load generator and measuring tools behind BENCHMARKS.md: posts signed ~5 KB WooCommerce orders
//! over loopback, serves the "ceiling" (a bare actix-web handler that only reads the body and
//! checks the HMAC), and times the service's steps, rendering and whole runs. A crate of its own
//! so the product's build and tests never compile it; it sees only shopbip's public API.

mod ceiling;
mod console;
mod e2e;
mod load;
mod render;
mod replicas;
mod stages;
mod support;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "shopbip ingestion benchmark tools")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// A bare handler: read the body, check the WooCommerce HMAC, answer 200.
    Ceiling {
        #[arg(long, default_value_t = 8091)]
        port: u16,
        #[arg(long)]
        secret: String,
        /// Also do what shopbip's handler does before storage (parse into the canonical event,
        /// serialise the order for the store), then answer without storing: what durable
        /// storage costs is the gap between this and `shopbip serve`.
        #[arg(long)]
        parse: bool,
    },
    /// The CPU cost of each step a webhook request takes before storage, in-process on one
    /// thread: the HMAC check, parsing into the canonical order (with the delivery key), and
    /// serialising the order for the job store.
    Stages {
        #[arg(long, default_value_t = 20_000)]
        iterations: usize,
    },
    /// Renders invoices in-process: time per 1-page and 3-page invoice, PDF size, peak RSS.
    Render {
        #[arg(long, default_value_t = 1000)]
        renders: usize,
        /// Also times PNG pages (2 pixels per point) of the 1-page invoice: alone, and with the
        /// PDF from one compilation.
        #[arg(long)]
        png: bool,
    },
    /// The whole service in-process against the sandbox: orders/s from webhook to recorded
    /// send, with PDFs and text-only, and webhook-to-send latency at a steady rate.
    E2e {
        #[arg(long, default_value_t = 1000)]
        orders: usize,
        /// Steady rate for the latency run (orders/s) and its length in seconds.
        #[arg(long, default_value_t = 50)]
        rate: u64,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// A PostgreSQL server (`postgres://user@host:port`) to run on instead of SQLite; each
        /// run gets a fresh database on it.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// End to end with several `shopbip serve` replicas (child processes of the binary next to
    /// this one) on one PostgreSQL database, against an in-process sandbox.
    Replicas {
        #[arg(long, default_value_t = 2)]
        replicas: usize,
        #[arg(long, default_value_t = 1000)]
        orders: usize,
        #[arg(long)]
        postgres: String,
        /// With the invoice PDF rule (else text-only).
        #[arg(long)]
        pdf: bool,
    },
    /// The console's message list on a big database (filled straight in SQL): list queries by
    /// store, state, cursor, date and search (p50/p99), CSV of 10,000 rows, and with `--ingest`
    /// what the console's indexes cost the webhook path.
    Console {
        #[arg(long, default_value_t = 1_000_000)]
        jobs: u64,
        #[arg(long, default_value_t = 20)]
        stores: u64,
        /// Timed runs of each list query.
        #[arg(long, default_value_t = 300)]
        runs: usize,
        /// A PostgreSQL server (`postgres://user@host:port`) to run on instead of SQLite; the
        /// bench creates and drops its databases there.
        #[arg(long)]
        postgres: Option<String>,
        /// Also ingest this many webhooks' events on fresh databases, with and without the
        /// console's indexes.
        #[arg(long, default_value_t = 0)]
        ingest: usize,
    },
    /// Posts signed orders and reports throughput and latency.
    Load {
        /// Webhook URL; several, comma-separated, are used in turn (replicas).
        #[arg(long)]
        url: String,
        #[arg(long)]
        secret: String,
        /// Closed loop: this many requests in flight at all times.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Open loop instead: this many requests per second, scheduled regardless of answers.
        #[arg(long)]
        rate: Option<u64>,
        /// First order id; use a new range per run so every order is new to the database.
        #[arg(long, default_value_t = 1_000_000)]
        first_id: u64,
        /// The server's process id: its CPU time over the run is reported per request too.
        #[arg(long)]
        server_pid: Option<u32>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Ceiling {
            port,
            secret,
            parse,
        } => ceiling::run(port, secret, parse).await,
        Cmd::Stages { iterations } => stages::run(iterations),
        Cmd::Render { renders, png } => render::run(renders, png),
        Cmd::Replicas {
            replicas,
            orders,
            postgres,
            pdf,
        } => replicas::run(replicas, orders, postgres.trim_end_matches('/'), pdf).await,
        Cmd::E2e {
            orders,
            rate,
            seconds,
            concurrency,
            postgres,
        } => e2e::run(orders, rate, seconds, concurrency, postgres).await,
        Cmd::Console {
            jobs,
            stores,
            runs,
            postgres,
            ingest,
        } => {
            let run = console::ConsoleRun {
                jobs,
                stores,
                runs,
                postgres: postgres.map(|p| p.trim_end_matches('/').to_owned()),
                ingest,
            };
            console::run(run).await
        }
        Cmd::Load {
            url,
            secret,
            concurrency,
            requests,
            rate,
            first_id,
            server_pid,
        } => {
            let run = load::LoadRun {
                concurrency,
                requests,
                rate,
                first_id,
                server_pid,
            };
            load::run(url, secret, run).await
        }
    }
}
