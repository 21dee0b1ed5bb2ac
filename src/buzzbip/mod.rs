//! The Buzzbip API client, per `BUZZBIP.md`.

mod auth;
mod client;
mod error;
mod jsend;

pub use auth::TokenCache;
pub use client::{
    Button, BuzzbipClient, ClientOptions, Credentials, DEFAULT_MAX_UPLOAD_BYTES, SendReceipt,
    SendRequest, http_client, parse_base_url,
};
pub use error::{BuzzbipError, Endpoint, ErrorClass};
pub use jsend::{Jsend, JsendStatus};
