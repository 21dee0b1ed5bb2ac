//! What a job has done so far, kept in the job's `steps_json` after every step so a retry or a
//! restart resumes where it stopped.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Steps {
    /// The order as fetched from the platform's API (platforms whose webhooks carry only an id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<serde_json::Value>,
    /// The normalised recipient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// Set just before the send call: if a crash follows before `whatsapp_bulk_group_id` is
    /// recorded, the next attempt knows a duplicate is possible and says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_started_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp_bulk_group_id: Option<String>,
    /// What the operator should know although the job went on: an order whose own numbers
    /// do not add up (its invoice prints the platform's total).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Earlier runs of a replayed job, and anything else already recorded.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Steps {
    pub fn from_json(v: &serde_json::Value) -> Self {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
