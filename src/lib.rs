#![forbid(unsafe_code)]
//! shopbip: shop events in, WhatsApp messages with the invoice attached out, through Buzzbip.

pub mod buzzbip;
pub mod demo;
pub mod sandbox;
pub mod settings;
pub mod telemetry;
pub mod jobs;
pub mod order;
pub mod platforms;
pub mod stores;
pub mod http;
pub mod check;
pub mod serve;
