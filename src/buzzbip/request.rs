//! The send request and its receipt, as Buzzbip's v2 template send takes and gives them.

use std::fmt;

use serde::Serialize;

use crate::telemetry::mask_phone;

/// The body of `POST /api/v2/whatsapp/templates/{id}/send`.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct SendRequest {
    /// Country calling code and national number, digits only.
    pub to: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    pub body_params: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_media_id: Option<String>,
}

// By hand, so a request logged by mistake still shows no phone number and no message text.
impl fmt::Debug for SendRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendRequest")
            .field("to", &mask_phone(&self.to))
            .field("country_code", &self.country_code)
            .field(
                "body_params",
                &format_args!("[{} redacted]", self.body_params.len()),
            )
            .field("buttons", &self.buttons.len())
            .field("header_media_id", &self.header_media_id)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Button {
    pub index: u32,
    pub sub_type: String,
    pub value: String,
}

/// What a successful send returns: the key for later delivery lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    pub whatsapp_bulk_group_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_request_debug_hides_phone_and_text() {
        let req = SendRequest {
            to: "21696816277".into(),
            country_code: "TN".into(),
            body_params: vec!["Amira".into()],
            buttons: vec![],
            header_media_id: Some("5".into()),
        };
        let dbg = format!("{req:?}");
        assert!(!dbg.contains("96816") && !dbg.contains("Amira"), "{dbg}");
    }
}
