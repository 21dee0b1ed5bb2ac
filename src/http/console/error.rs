//! How the console refuses: an HTML page in the request's language with the right status.
//! Handlers return `Result<HttpResponse, ConsoleError>`; the usual ones come from
//! [`super::Ctx`] (`ctx.not_found()`, `ctx.visible(store)?`, `ctx.operator()?`).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use maud::html;

use super::i18n::{Key, Lang};
use super::layout;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// No such thing, or not for this user's eyes: the same answer, so a viewer of one store
    /// cannot tell which of another store's ids exist.
    NotFound,
    /// A POST without the session's CSRF token (or without a session): nothing was done.
    Forbidden,
    /// A viewer asked for an operator's action.
    ReadOnly,
    /// Not signed in, on a page: to the login form, then back to `next` (a `/console` path).
    LoginRequired {
        next: String,
    },
    TooManyAttempts,
    /// The job store does not answer.
    Unavailable,
    /// Malformed input, with a one-line reason shown as it is (keep request text out of it,
    /// or escape and cut it: maud escapes, but the reason may be logged).
    BadRequest(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("console: {why:?}")]
pub struct ConsoleError {
    pub why: Why,
    pub lang: Lang,
}

impl ConsoleError {
    pub fn new(why: Why, lang: Lang) -> Self {
        Self { why, lang }
    }

    /// A job store error: logged here (never shown), answered 503.
    pub fn store(e: impl std::fmt::Display, lang: Lang) -> Self {
        tracing::error!(error = %e, "console: job store error");
        Self::new(Why::Unavailable, lang)
    }
}

impl actix_web::ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self.why {
            Why::NotFound => StatusCode::NOT_FOUND,
            Why::Forbidden | Why::ReadOnly => StatusCode::FORBIDDEN,
            Why::LoginRequired { .. } => StatusCode::SEE_OTHER,
            Why::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            Why::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Why::BadRequest(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let lang = self.lang;
        let (title, text) = match &self.why {
            Why::LoginRequired { next } => {
                let mut to = String::from("/console/login");
                if next != "/console" {
                    to.push_str("?next=");
                    to.extend(url::form_urlencoded::byte_serialize(next.as_bytes()));
                }
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, to))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish();
            }
            Why::NotFound => (Key::NotFoundTitle, lang.t(Key::NotFoundText).to_owned()),
            Why::Forbidden => (Key::ForbiddenTitle, lang.t(Key::ForbiddenText).to_owned()),
            Why::ReadOnly => (Key::ForbiddenTitle, lang.t(Key::ReadOnlyText).to_owned()),
            Why::TooManyAttempts => (
                Key::TooManyAttemptsTitle,
                lang.t(Key::TooManyAttemptsText).to_owned(),
            ),
            Why::Unavailable => (
                Key::UnavailableTitle,
                lang.t(Key::UnavailableText).to_owned(),
            ),
            Why::BadRequest(reason) => (Key::BadRequestTitle, reason.clone()),
        };
        let body = html! {
            h1 { (lang.t(title)) }
            p.notice { (text) }
            p { a href="/console" { (lang.t(Key::BackToOverview)) } }
        };
        let mut answer = HttpResponse::build(self.status_code());
        if self.why == Why::TooManyAttempts {
            answer.insert_header((header::RETRY_AFTER, "900"));
        }
        answer
            .content_type(header::ContentType::html())
            .body(layout::bare(lang, lang.t(title), body).into_string())
    }
}
