//! The integration tests, one binary: each test binary links Typst and the whole service, so
//! thirteen of them cost thirteen links (and once filled the CI disk). One module per area.
//!
//! All tests share this process: the Prometheus recorder is process-wide (tests look for the
//! series they made, never at exact totals), no test sets environment variables or changes the
//! current directory (children get theirs through `Command::env`), and every server binds port 0.

mod common;

mod admin;
mod buzzbip_client;
mod check;
mod check_online;
mod console;
mod console_reads;
mod crash;
mod delivery_loop;
mod ingest;
mod invoice;
mod job_store;
mod logs;
mod migrate;
mod pipeline;
mod platforms;
mod reconcile;
mod replicas;
mod sandbox;
mod test_send;
