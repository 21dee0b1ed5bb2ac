//! Who is asking: the session cookie → the stored session → the configured user, as a
//! [`ConsoleUser`] (name, role, stores) inside the page context [`Ctx`] every handler takes.
//!
//! A session cookie holds 32 random bytes (base64url); the database holds only their SHA-256,
//! with the user's name, the session's CSRF token and its expiry. The user's role and stores
//! are read from the settings on every request, so a changed `[[console.users]]` entry applies
//! at the next restart to sessions already open, and a removed user's sessions stop working.

use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};

use super::error::{ConsoleError, Why};
use super::i18n::Lang;
use crate::http::AppState;
pub use crate::http::auth::same_secret;
use crate::jobs::SessionRecord;
use crate::settings::{ConsoleRole, ConsoleSettings};
use crate::stores::{Store, StoreRegistry};

/// The session cookie (`HttpOnly`, `SameSite=Strict`, `Path=/console`, `Secure` unless
/// `console.allow_plain_http`).
pub const SESSION_COOKIE: &str = "shopbip_session";

/// Which stores a user sees: the scope the message queries (`jobs::messages`) always apply,
/// so `ctx.user.stores.clone()` goes straight into a `MessageQuery`.
pub use crate::jobs::messages::StoreScope;

/// The signed-in user, as the settings describe them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleUser {
    pub name: String,
    pub role: ConsoleRole,
    pub stores: StoreScope,
}

impl ConsoleUser {
    pub fn from_settings(settings: &ConsoleSettings, name: &str) -> Option<Self> {
        let user = settings.user(name)?;
        let stores = if user.stores.iter().any(|s| s == "*") {
            StoreScope::All
        } else {
            StoreScope::only(user.stores.iter().cloned())
        };
        Some(Self {
            name: user.name.clone(),
            role: user.role,
            stores,
        })
    }

    /// Whether anything of `store_id` may be shown to this user. Every handler that shows or
    /// acts on something of a store asks this (through [`Ctx::visible`]) before anything else.
    pub fn can_see(&self, store_id: &str) -> bool {
        self.stores.allows(store_id)
    }

    /// Replays, retries: operators only.
    pub fn is_operator(&self) -> bool {
        self.role == ConsoleRole::Operator
    }

    /// The configured stores this user sees, in the registry's order.
    pub fn visible_stores(&self, registry: &StoreRegistry) -> Vec<Arc<Store>> {
        registry
            .iter()
            .filter(|s| self.can_see(s.id.as_str()))
            .cloned()
            .collect()
    }
}

/// A request with a live session: the user and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Signed {
    pub user: ConsoleUser,
    pub csrf: String,
}

/// The page context every console handler takes as its first argument: who asks, in which
/// language, with which CSRF token for its forms. Extracting it is the authentication: no
/// session sends a GET to the login form (and back afterwards), anything else gets 403.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: ConsoleUser,
    pub lang: Lang,
    /// Put in every POST form as the hidden field `csrf` (see [`Ctx::csrf_field`]).
    pub csrf: String,
    /// The request's path, for the navigation and the language switch.
    pub path: String,
    /// The request's query string (without the leading `?`).
    pub query: String,
}

impl Ctx {
    /// A 404 in the request's language.
    pub fn not_found(&self) -> ConsoleError {
        ConsoleError::new(Why::NotFound, self.lang)
    }

    /// `Ok` when the user may see `store_id`, else the same 404 as for what does not exist:
    /// a viewer of store A gets 404 for anything of store B, by any URL.
    pub fn visible(&self, store_id: &str) -> Result<(), ConsoleError> {
        if self.user.can_see(store_id) {
            Ok(())
        } else {
            Err(self.not_found())
        }
    }

    /// `Ok` for operators; viewers get 403 (ask [`Ctx::visible`] first, so a store they
    /// cannot see stays a 404).
    pub fn operator(&self) -> Result<(), ConsoleError> {
        if self.user.is_operator() {
            Ok(())
        } else {
            Err(ConsoleError::new(Why::ReadOnly, self.lang))
        }
    }

    /// A 400 with a one-line reason.
    pub fn bad_request(&self, reason: impl Into<String>) -> ConsoleError {
        ConsoleError::new(Why::BadRequest(reason.into()), self.lang)
    }

    /// A job store error: logged, answered 503.
    pub fn store_error(&self, e: impl std::fmt::Display) -> ConsoleError {
        ConsoleError::store(e, self.lang)
    }

    /// The hidden input every POST form must hold.
    pub fn csrf_field(&self) -> maud::Markup {
        maud::html! { input type="hidden" name="csrf" value=(self.csrf); }
    }
}

impl FromRequest for Ctx {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let lang = Lang::of(&req);
            // The CSRF check of a POST already found the session.
            let known = req.extensions().get::<Signed>().cloned();
            let signed = match known {
                Some(s) => Some(s),
                None => signed_in(&req)
                    .await
                    .map_err(|e| ConsoleError::store(e, lang))?,
            };
            match signed {
                Some(Signed { user, csrf }) => Ok(Ctx {
                    user,
                    lang,
                    csrf,
                    path: req.path().to_owned(),
                    query: req.query_string().to_owned(),
                }),
                None if matches!(*req.method(), Method::GET | Method::HEAD) => {
                    let next = match req.query_string() {
                        "" => req.path().to_owned(),
                        q => format!("{}?{q}", req.path()),
                    };
                    Err(ConsoleError::new(
                        Why::LoginRequired {
                            next: safe_next(Some(&next)),
                        },
                        lang,
                    ))
                }
                None => Err(ConsoleError::new(Why::Forbidden, lang)),
            }
        })
    }
}

/// The request's live session and its user, if any.
pub async fn signed_in(req: &HttpRequest) -> Result<Option<Signed>, crate::jobs::StoreError> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Ok(None);
    };
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(hash) = token_hash(cookie.value()) else {
        return Ok(None);
    };
    let now = crate::clock::now_ms();
    let Some(session) = state.console.sessions.session(&hash, now).await? else {
        return Ok(None);
    };
    Ok(
        ConsoleUser::from_settings(&state.console.settings, &session.user_name).map(|user| {
            Signed {
                user,
                csrf: session.csrf_token,
            }
        }),
    )
}

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The stored form of a session token: hex SHA-256. `None` for a value that cannot be one of
/// our tokens (so a junk cookie costs no database read).
pub fn token_hash(token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    (bytes.len() == 32).then(|| hex::encode(Sha256::digest(token.as_bytes())))
}

/// A new session for `user`, expiring after `hours`; the token goes in the cookie, the record
/// in the database.
pub fn new_session(user: &str, hours: u64, now: i64) -> (String, SessionRecord) {
    let token = random_token();
    let record = SessionRecord {
        token_sha256: hex::encode(Sha256::digest(token.as_bytes())),
        user_name: user.to_owned(),
        csrf_token: random_token(),
        created_at: now,
        expires_at: now.saturating_add((hours as i64).saturating_mul(3_600_000)),
    };
    (token, record)
}

/// A console cookie with the flags every one of them gets.
pub fn cookie(name: &'static str, value: String, settings: &ConsoleSettings) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(!settings.allow_plain_http)
        .finish()
}

/// Where to go after signing in: `next` when it is a path inside the console, else the
/// overview. No scheme, no host, no `//` or `\` (a browser reads `/\evil` as another host),
/// no control characters, at most 1 KiB.
pub fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/console";
    let Some(next) = next else {
        return HOME.to_owned();
    };
    let inside = next == HOME || next.starts_with("/console/") || next.starts_with("/console?");
    let clean = !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && !next.contains("/../")
        && !next.ends_with("/..")
        && next.len() <= 1024;
    if inside && clean && !next.starts_with("/console/login") {
        next.to_owned()
    } else {
        HOME.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_console() {
        for ok in [
            "/console",
            "/console/messages?state=dead&store=acme",
            "/console/messages/42",
            "/console?lang=fr",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "https://evil.test/console",
            "//evil.test/console",
            "/console//evil.test",
            "/\\evil.test",
            "/console/\\evil",
            "/consolex",
            "/console/../admin/jobs",
            "/console/..",
            "/admin",
            "console",
            "",
            "/console/login?next=/console",
            "/console/\nSet-Cookie:x",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/console");
        assert_eq!(
            safe_next(Some(&format!("/console/{}", "a".repeat(2000)))),
            "/console"
        );
    }

    #[test]
    fn tokens_are_32_random_bytes_stored_as_their_hash() {
        let (token, record) = new_session("ana", 12, 1_000);
        assert_eq!(token.len(), 43);
        assert_eq!(
            token_hash(&token).as_deref(),
            Some(record.token_sha256.as_str())
        );
        assert_ne!(record.token_sha256, token);
        assert_eq!(record.expires_at, 1_000 + 12 * 3_600_000);
        assert_ne!(new_session("ana", 12, 1_000).0, token);
        assert_eq!(token_hash("short"), None);
        assert_eq!(token_hash(&"!".repeat(43)), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }

    #[test]
    fn a_user_sees_their_stores_only() {
        let user = ConsoleUser {
            name: "v".into(),
            role: ConsoleRole::Viewer,
            stores: StoreScope::only(["acme"]),
        };
        assert!(user.can_see("acme"));
        assert!(!user.can_see("atlas"));
        assert!(!user.is_operator());
        let all = ConsoleUser {
            stores: StoreScope::All,
            role: ConsoleRole::Operator,
            ..user
        };
        assert!(all.can_see("atlas") && all.is_operator());
    }
}
