#![forbid(unsafe_code)]
//! shopbip: shop events in, WhatsApp messages with the invoice attached out, through Buzzbip.

pub mod app;
pub mod buzzbip;
pub mod cli;
pub mod clock;
pub mod http;
pub mod ingest;
pub mod invoice;
pub mod jobs;
pub mod metrics;
pub mod net;
pub mod order;
pub mod phone;
pub mod platforms;
pub mod reconcile;
pub mod sandbox;
pub mod settings;
pub mod stores;
pub mod telemetry;
pub mod worker;
