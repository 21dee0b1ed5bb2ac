#![forbid(unsafe_code)]
//! shopbip: shop events in, WhatsApp messages with the invoice attached out, through Buzzbip.

pub mod buzzbip;
pub mod check;
pub mod clock;
pub mod demo;
pub mod http;
pub mod invoice;
pub mod jobs;
pub mod metrics;
pub mod order;
pub mod outbound;
pub mod phone;
pub mod platforms;
pub mod sandbox;
pub mod serve;
pub mod settings;
pub mod stores;
pub mod telemetry;
pub mod worker;
