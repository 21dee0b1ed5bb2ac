//! How the HTTP edge answers errors: JSON `{"error": …}` everywhere.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// Every error the admin API answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorAnswer {
    pub error: String,
}

/// `{"error": message}` with `status`.
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(ErrorAnswer {
        error: message.to_owned(),
    })
}

/// Why a webhook was not taken. Each maps to one status (through [`ResponseError`]) and one
/// `outcome` label of `shopbip_webhooks_total`.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The store id, escaped and cut (it is the caller's own text).
    #[error("unknown store {0:?}")]
    UnknownStore(String),
    #[error("{0}")]
    BadSignature(#[from] crate::platforms::VerifyError),
    #[error("{0}")]
    BadBody(String),
    /// A `Content-Encoding` (escaped, cut) other than `identity`.
    #[error(
        "Content-Encoding {0} is not accepted: webhooks are signed over the bytes as sent, uncompressed"
    )]
    Encoded(String),
    #[error("body larger than the {max_bytes}-byte limit")]
    TooLarge { max_bytes: usize },
    /// Not all there by the deadline.
    #[error("the body was not received within {secs} s")]
    Late { secs: u64 },
    #[error("the body could not be read: {0}")]
    Broken(String),
    /// The bodies being read at once already hold the whole budget.
    #[error("too many webhook bodies are being received at once; retry later")]
    Busy,
    /// Not bad input: the platform should retry, so a 5xx is the honest answer.
    #[error("could not store the event; retry later")]
    Unstored,
}

impl IngestError {
    /// The `outcome` label in metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            IngestError::UnknownStore(_) => "unknown_store",
            IngestError::BadSignature(_) => "bad_signature",
            IngestError::BadBody(_) | IngestError::Encoded(_) | IngestError::Broken(_) => {
                "bad_body"
            }
            IngestError::TooLarge { .. } => "too_large",
            IngestError::Late { .. } => "body_timeout",
            IngestError::Busy => "busy",
            IngestError::Unstored => "store_error",
        }
    }

    /// Whether the body was left unread: the connection is closed rather than drained.
    fn body_unread(&self) -> bool {
        !matches!(
            self,
            IngestError::BadSignature(_) | IngestError::BadBody(_) | IngestError::Unstored
        )
    }
}

impl actix_web::ResponseError for IngestError {
    fn status_code(&self) -> StatusCode {
        match self {
            IngestError::UnknownStore(_) => StatusCode::NOT_FOUND,
            IngestError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            IngestError::BadBody(_) | IngestError::Broken(_) => StatusCode::BAD_REQUEST,
            IngestError::Encoded(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::Late { .. } => StatusCode::REQUEST_TIMEOUT,
            IngestError::Busy | IngestError::Unstored => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut answer = HttpResponse::build(self.status_code());
        if matches!(self, IngestError::Busy) {
            answer.insert_header((actix_web::http::header::RETRY_AFTER, "5"));
        }
        if self.body_unread() {
            answer.force_close();
        }
        answer.json(ErrorAnswer {
            error: self.to_string(),
        })
    }
}
