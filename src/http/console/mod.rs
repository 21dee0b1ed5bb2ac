//! `/console`: the merchant console, server-rendered HTML (maud) that reads fine with
//! JavaScript off; htmx (vendored, served from the binary) only enhances.
//!
//! # Adding a page
//! 1. A handler taking [`Ctx`] first (the extractor *is* the authentication: no session on a
//!    GET goes to the login form and back, anything else is a 403) and returning
//!    `Result<HttpResponse, ConsoleError>`:
//!    ```ignore
//!    async fn message(ctx: Ctx, state: web::Data<AppState>, id: web::Path<i64>)
//!        -> Result<HttpResponse, ConsoleError> {
//!        let job = state.reads.get(*id).await.map_err(|e| ctx.store_error(e))?
//!            .ok_or_else(|| ctx.not_found())?;
//!        ctx.visible(&job.store_id)?;          // another store's job: the same 404
//!        let body = html! { h1 { (ctx.lang.t(Key::…)) } … };
//!        Ok(layout::page(&ctx, title, body))
//!    }
//!    ```
//! 2. Its route in [`configure`] (inside the scope, before `default_service`).
//! 3. Its words as [`Key`] variants with an arm in each language of `i18n.rs`.
//!
//! # Access
//! - `ctx.visible(store_id)?` before showing or doing anything of a store: a viewer of store A
//!   gets the same 404 for store B's things as for things that do not exist, by any URL.
//!   Lists pass `ctx.user.stores.clone()` (a `jobs::messages::StoreScope`) to the query,
//!   which applies it in SQL: never filter a page of rows after reading it.
//! - `ctx.operator()?` before an action (replay, retry): viewers get 403.
//! - Every POST is checked by this scope's middleware before any handler runs: it needs a live
//!   session and that session's CSRF token, as the form field `csrf` (put
//!   `(ctx.csrf_field())` in every form) or the header `X-CSRF-Token`; a multipart form
//!   (uploads) sends it in the query, `action="…?csrf=…"`. Anything else is a 403 and nothing
//!   is done. Urlencoded POST bodies are capped at 64 KiB.
//!
//! # Off
//! With no `[[console.users]]` the console does not exist: every `/console` path is a 404.

mod actions;
mod assets;
pub mod auth;
pub mod error;
mod filters;
pub mod i18n;
mod invoice_pdf;
pub mod layout;
mod login;
mod message;
mod messages;
mod optouts;
mod overview;
mod preview;
pub mod refusals;
mod words;

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use futures_util::StreamExt;

pub use auth::{ConsoleUser, Ctx, StoreScope};
pub use error::{ConsoleError, Why};
pub use i18n::{Key, Lang};
pub use layout::page;

use super::AppState;
use crate::jobs::messages::Messages;
use crate::jobs::{JobStore, Sessions};
use crate::settings::ConsoleSettings;

/// Largest urlencoded POST body read for its CSRF token.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// A POST body must arrive within this.
const FORM_TIMEOUT: Duration = Duration::from_secs(10);

/// What the console keeps beside the rest of [`AppState`].
pub struct ConsoleState {
    pub settings: ConsoleSettings,
    pub sessions: Arc<dyn Sessions>,
    /// The message list and the operator's actions, always inside the user's scope.
    pub messages: Arc<dyn Messages>,
    pub(crate) limiter: login::LoginLimiter,
    /// A hash checked when the name is unknown, so a failure takes as long either way.
    pub(crate) decoy_hash: String,
}

impl ConsoleState {
    pub fn new(settings: ConsoleSettings, jobs: Arc<dyn JobStore>) -> Self {
        let decoy_hash = if settings.enabled() {
            crate::settings::hash_password(&auth::random_token()).unwrap_or_default()
        } else {
            String::new()
        };
        Self {
            settings,
            sessions: jobs.clone(),
            messages: jobs,
            limiter: login::LoginLimiter::default(),
            decoy_hash,
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .wrap(from_fn(gate))
            .route("", web::get().to(overview::overview))
            .route("/", web::get().to(overview::overview))
            .route("/stores/{id}", web::get().to(overview::store))
            .route("/stores/{id}/optouts", web::get().to(optouts::list))
            .route("/stores/{id}/optouts", web::post().to(optouts::add))
            .route(
                "/stores/{id}/optouts/remove",
                web::post().to(optouts::remove),
            )
            .route("/login", web::get().to(login::form))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("/assets/{name}", web::get().to(assets::serve))
            .route("/messages", web::get().to(messages::list))
            .route("/messages.csv", web::get().to(messages::csv))
            .route("/messages/retry-dead", web::post().to(messages::retry_dead))
            .route("/messages/{id}", web::get().to(message::show))
            .route(
                "/messages/{id}/invoice.pdf",
                web::get().to(invoice_pdf::serve),
            )
            .route("/messages/{id}/replay", web::post().to(actions::replay))
            .route(
                "/messages/{id}/retry-now",
                web::post().to(actions::retry_now),
            )
            .route("/preview", web::get().to(preview::page))
            .route("/preview", web::post().to(preview::upload))
            .route("/preview.pdf", web::get().to(preview::job_pdf))
            .route("/preview.png", web::get().to(preview::job_png))
            .default_service(web::to(no_such_page)),
    );
}

/// Any other path: a 404 once signed in (signing in first, so a stranger learns nothing).
async fn no_such_page(ctx: Ctx) -> Result<HttpResponse, ConsoleError> {
    Err(ctx.not_found())
}

/// The scope's middleware: the console off → 404; a POST without its session's CSRF token →
/// 403 before routing; then the answer gets the console's security headers and, after a
/// language switch, the cookie remembering it.
async fn gate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req.into_response(HttpResponse::ServiceUnavailable().finish()));
    };
    if !state.console.settings.enabled() {
        let off = HttpResponse::NotFound()
            .content_type(header::ContentType::plaintext())
            .body("the console is off: no [[console.users]] in the settings");
        return Ok(req.into_response(off));
    }
    let lang = Lang::of(req.request());
    let is_asset = req.path().starts_with("/console/assets/");
    if req.method() == Method::POST
        && req.path() != "/console/login"
        && let Err(refused) = check_post(&mut req, lang).await
    {
        return Ok(secured(req.into_response(refused.error_response()), false));
    }
    let switched = i18n::switch(req.query_string());
    let from_htmx = req.headers().contains_key("hx-request");
    let mut res = next.call(req).await?.map_into_boxed_body();
    if from_htmx {
        res = whole_page_redirect(res);
    }
    if let Some(l) = switched {
        let mut remembered = auth::cookie(
            i18n::LANG_COOKIE,
            l.code().to_owned(),
            &state.console.settings,
        );
        remembered.set_max_age(actix_web::cookie::time::Duration::days(365));
        // The language is no secret, and the login page's switch must work before a session.
        remembered.set_http_only(false);
        let _ = res.response_mut().add_cookie(&remembered);
    }
    Ok(secured(res, is_asset))
}

/// htmx follows a redirect inside its request and would swap the login form into a piece of
/// the page; a session that ended while a page was open sends the whole window there instead.
fn whole_page_redirect(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let to_login = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|to| res.status().is_redirection() && to.starts_with("/console/login"))
        .map(str::to_owned);
    match to_login {
        Some(to) => res.into_response(
            HttpResponse::Ok()
                .insert_header(("hx-redirect", to))
                .finish(),
        ),
        None => res,
    }
}

/// Headers on every console answer: no framing, no inline script, no caching of pages (they
/// show customers' data) — assets keep their long cache. An answer that set its own CSP and
/// framing rule keeps them (the invoice PDFs, framed by the console's own pages).
fn secured(mut res: ServiceResponse<BoxBody>, is_asset: bool) -> ServiceResponse<BoxBody> {
    let headers = res.headers_mut();
    let set = |h: &mut header::HeaderMap, name, value: &'static str| {
        if !(h.contains_key(&name) && h.contains_key(header::X_FRAME_OPTIONS)) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    if !is_asset {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    res
}

/// A POST goes on only with a live session and that session's CSRF token; the session found
/// is left in the request's extensions for [`Ctx`].
async fn check_post(req: &mut ServiceRequest, lang: Lang) -> Result<(), ConsoleError> {
    let forbidden = || ConsoleError::new(Why::Forbidden, lang);
    // The session first: a stranger's body is never read.
    let signed = auth::signed_in(req.request())
        .await
        .map_err(|e| ConsoleError::store(e, lang))?
        .ok_or_else(forbidden)?;
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let given = match header_token {
        Some(t) => Some(t),
        None if is_form => {
            let body = read_form(req, lang).await?;
            let token = field(&body, "csrf");
            req.set_payload(replay(body));
            token
        }
        None => field(req.query_string().as_bytes(), "csrf"),
    };
    match given {
        Some(t) if !t.is_empty() && auth::same_secret(&t, &signed.csrf) => {
            req.extensions_mut().insert(signed);
            Ok(())
        }
        _ => {
            tracing::warn!(
                path = %crate::telemetry::untrusted(req.path()),
                "console: POST refused, missing or wrong CSRF token"
            );
            Err(forbidden())
        }
    }
}

fn field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The whole urlencoded body, at most [`MAX_FORM_BYTES`], within [`FORM_TIMEOUT`].
async fn read_form(req: &mut ServiceRequest, lang: Lang) -> Result<bytes::Bytes, ConsoleError> {
    let too_large = || ConsoleError::new(Why::BadRequest("the form is too large".into()), lang);
    let mut payload = req.take_payload();
    let read = async {
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| too_large())?;
            if body.len() + chunk.len() > MAX_FORM_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    tokio::time::timeout(FORM_TIMEOUT, read)
        .await
        .map_err(|_| ConsoleError::new(Why::BadRequest("the form came too slowly".into()), lang))?
}

/// The body read for the check, handed back to the handler as its payload.
fn replay(body: bytes::Bytes) -> actix_web::dev::Payload {
    type Chunks = std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, actix_web::error::PayloadError>>>,
    >;
    let stream: Chunks = Box::pin(futures_util::stream::once(async move { Ok(body) }));
    actix_web::dev::Payload::from(stream)
}
