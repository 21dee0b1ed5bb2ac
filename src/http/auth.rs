//! Admin authentication, as the `/admin` scope's middleware: a request is authenticated before
//! routing and before any extractor runs, so nothing is parsed for a caller without the token.

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpResponse, web};
use futures_util::FutureExt;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::json_error as error;

/// The bearer token of an `Authorization` value; the scheme is case-insensitive (RFC 9110).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Equal strings, compared in constant time (as SHA-256 digests, so not even the length
/// leaks).
pub fn same_secret(a: &str, b: &str) -> bool {
    bool::from(
        Sha256::digest(a.as_bytes())
            .as_slice()
            .ct_eq(Sha256::digest(b.as_bytes()).as_slice()),
    )
}

/// Why a caller may not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denied {
    /// `admin.token` is empty: the admin API does not exist.
    Off,
    Unauthorized,
}

impl Denied {
    fn answer(self) -> HttpResponse {
        match self {
            Denied::Off => error(
                StatusCode::NOT_FOUND,
                "the admin API is off (admin.token is empty)",
            ),
            Denied::Unauthorized => {
                let mut denied = error(
                    StatusCode::UNAUTHORIZED,
                    "missing or wrong admin bearer token",
                );
                denied.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"shopbip admin\""),
                );
                denied
            }
        }
    }
}

/// `Ok` when the caller may proceed.
fn authorize(headers: &HeaderMap, state: &AppState) -> Result<(), Denied> {
    let token = state.admin_token.expose_secret();
    if token.is_empty() {
        return Err(Denied::Off);
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .unwrap_or("");
    if !given.is_empty() && same_secret(given, token) {
        Ok(())
    } else {
        Err(Denied::Unauthorized)
    }
}

/// The admin scope's middleware: authentication before anything else, and every error that
/// actix itself produced (not one of ours, which are JSON already) rewritten as JSON.
pub(super) fn gate<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> + use<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let verdict = match req.app_data::<web::Data<AppState>>() {
        Some(state) => authorize(req.headers(), state).map_err(Denied::answer),
        None => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the admin API is not set up",
        )),
    };
    let next = match verdict {
        Ok(()) => Ok(srv.call(req)),
        Err(denied) => Err(req.into_response(denied)),
    };
    async move {
        let res = match next {
            // A bug in a handler is a 500 with a JSON reason, never a dropped connection.
            // (The request itself is not kept to answer with: a second handle on it makes
            // actix panic when it reuses the request.)
            Ok(fut) => match std::panic::AssertUnwindSafe(fut).catch_unwind().await {
                Ok(res) => res,
                Err(_) => {
                    tracing::error!("an admin handler panicked");
                    let message = "internal error: the handler failed; please report it";
                    let answer = error(StatusCode::INTERNAL_SERVER_ERROR, message);
                    return Err(
                        actix_web::error::InternalError::from_response(message, answer).into(),
                    );
                }
            },
            Err(denied) => return Ok(denied),
        };
        match res {
            Ok(res) => Ok(json_error_body(res)),
            Err(e) => {
                let status = e.as_response_error().status_code();
                let answer = error(status, &e.to_string());
                Err(actix_web::error::InternalError::from_response(e.to_string(), answer).into())
            }
        }
    }
}

/// An answer actix made from an error (an extractor's, a payload limit's) as JSON
/// `{"error": …}` with the same status; any other answer as it is.
fn json_error_body(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    match res.response().error() {
        Some(e) => {
            let answer = error(res.status(), &e.to_string());
            res.into_response(answer)
        }
        None => res,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn an_error_actix_made_is_answered_as_json() {
        let req = actix_web::test::TestRequest::default().to_srv_request();
        let plain = HttpResponse::from_error(actix_web::error::ErrorBadRequest(
            "Query deserialize error: invalid digit found in string",
        ));
        let (req, _) = req.into_parts();
        let res = json_error_body(ServiceResponse::new(req, plain));
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"error": "Query deserialize error: invalid digit found in string"})
        );

        let req = actix_web::test::TestRequest::default().to_srv_request();
        let ours = error(StatusCode::CONFLICT, "job 1 is running");
        let (req, _) = req.into_parts();
        let res = json_error_body(ServiceResponse::new(req, ours));
        assert_eq!(res.status(), StatusCode::CONFLICT);
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in [
            "Bearer tok",
            "bearer tok",
            "BEARER tok",
            "bEaReR  tok",
            "Bearer\ttok ",
        ] {
            assert_eq!(bearer_token(value), Some("tok"), "{value:?}");
        }
        for value in ["Basic tok", "Bearertok", "Bearer", "Bearer  ", "tok"] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}
