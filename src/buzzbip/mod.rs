//! The Buzzbip API client, per `BUZZBIP.md`.

mod answer;
mod auth;
mod client;
mod delivery;
mod error;
mod jsend;
mod request;

pub use auth::TokenCache;
pub use client::{
    BuzzbipClient, ClientOptions, Credentials, DEFAULT_MAX_UPLOAD_BYTES, MAX_ANSWER_BYTES,
    http_client, parse_base_url,
};
pub use delivery::{DeliveryObservation, DeliveryState, parse_time};
pub use error::{BuzzbipError, Endpoint, ErrorClass};
pub use jsend::{Jsend, JsendStatus};
pub use request::{Button, SendReceipt, SendRequest};
