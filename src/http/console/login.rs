//! `GET`/`POST /console/login` and `POST /console/logout`, and the limit on failed sign-ins.
//!
//! The login form is protected from cross-site posts by a double-submit token: the form's
//! hidden `csrf` must equal the `shopbip_login` cookie set with it (there is no session yet).
//! Failures are limited per client address and per name (5 in 15 minutes, in this process's
//! memory), checked before the password is, so a locked-out guesser costs no argon2 work.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use maud::html;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::auth::{self, SESSION_COOKIE, Signed, safe_next, same_secret};
use super::error::{ConsoleError, Why};
use super::i18n::{Key, Lang};
use super::layout;
use crate::http::AppState;

const LOGIN_COOKIE: &str = "shopbip_login";

/// Failed sign-ins allowed per address and per name within [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most; past it the oldest windows are forgotten first.
const MAX_KEYS: usize = 10_000;

/// Failed sign-ins per address and per name.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginLimiter {
    fn keys(ip: Option<IpAddr>, name: &str) -> [String; 2] {
        [
            format!("ip:{}", ip.map(|i| i.to_string()).unwrap_or_default()),
            // Names compared as the login compares them, so case games do not reset it.
            format!("name:{name}"),
        ]
    }

    /// Whether this address or name has used up its failures.
    pub fn locked(&self, ip: Option<IpAddr>, name: &str, now: Instant) -> bool {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        Self::keys(ip, name).iter().any(|k| {
            map.get(k)
                .is_some_and(|(since, n)| now.duration_since(*since) < WINDOW && *n >= MAX_FAILURES)
        })
    }

    pub fn fail(&self, ip: Option<IpAddr>, name: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, (since, _)| now.duration_since(*since) < WINDOW);
            if map.len() >= MAX_KEYS {
                // Still full of live windows: a flood from many addresses. Forget the oldest
                // half rather than grow without bound; the names' counts go with it.
                let mut starts: Vec<Instant> = map.values().map(|(s, _)| *s).collect();
                starts.sort();
                let cut = starts[starts.len() / 2];
                map.retain(|_, (since, _)| *since > cut);
            }
        }
        for key in Self::keys(ip, name) {
            let entry = map.entry(key).or_insert((now, 0));
            if now.duration_since(entry.0) >= WINDOW {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    /// A successful sign-in clears the name's failures (not the address's).
    pub fn succeed(&self, name: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&format!("name:{name}"));
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

fn form_page(
    req: &HttpRequest,
    state: &AppState,
    next: &str,
    failed: bool,
    status: actix_web::http::StatusCode,
) -> HttpResponse {
    let lang = Lang::of(req);
    let token = auth::random_token();
    let body = html! {
        div.login {
            h1 { (lang.t(Key::LoginTitle)) }
            @if failed {
                p.notice.error role="alert" { (lang.t(Key::LoginFailed)) }
            }
            form.stack method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label { (lang.t(Key::UserName))
                    input type="text" name="name" autocomplete="username" required autofocus; }
                label { (lang.t(Key::Password))
                    input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { (lang.t(Key::SignIn)) }
            }
            p.langs {
                @for l in Lang::ALL {
                    a href={ "/console/login?lang=" (l.code()) "&next=" (encode(next)) }
                      lang=(l.code()) aria-current=[(l == lang).then_some("true")] { (l.name()) }
                }
            }
        }
    };
    HttpResponse::build(status)
        .cookie(auth::cookie(LOGIN_COOKIE, token, &state.console.settings))
        .content_type(header::ContentType::html())
        .body(layout::bare(lang, lang.t(Key::LoginTitle), body).into_string())
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /console/login`: the form (or, already signed in, on to `next`).
pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let next = safe_next(query.next.as_deref());
    let lang = Lang::of(&req);
    if auth::signed_in(&req)
        .await
        .map_err(|e| ConsoleError::store(e, lang))?
        .is_some()
    {
        return Ok(see_other(&next));
    }
    Ok(form_page(
        &req,
        &state,
        &next,
        false,
        actix_web::http::StatusCode::OK,
    ))
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// `POST /console/login`.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    let lang = Lang::of(&req);
    let form = form.into_inner();
    let expected = req.cookie(LOGIN_COOKIE);
    if form.csrf.is_empty() || !expected.is_some_and(|c| same_secret(c.value(), &form.csrf)) {
        return Err(ConsoleError::new(Why::Forbidden, lang));
    }
    let next = safe_next(form.next.as_deref());
    let ip = req.peer_addr().map(|a| a.ip());
    let limiter = &state.console.limiter;
    // Only configured names reach the log: a password typed into the name field must not.
    let logged_name = |name: &str| match state.console.settings.user(name) {
        Some(u) => u.name.clone(),
        None => "(not a console user)".to_owned(),
    };
    if limiter.locked(ip, &form.name, Instant::now()) {
        tracing::warn!(
            user = %crate::telemetry::untrusted(&logged_name(&form.name)),
            "console: sign-in refused, too many failures"
        );
        return Err(ConsoleError::new(Why::TooManyAttempts, lang));
    }
    let settings = &state.console.settings;
    // An unknown name is checked against a hash all the same, so timing does not tell which
    // names exist.
    let hash = settings
        .user(&form.name)
        .map(|u| u.password_hash.expose_secret().to_owned());
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| state.console.decoy_hash.clone());
    let password = form.password;
    let matches = web::block(move || crate::settings::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    if !(known && matches) {
        limiter.fail(ip, &form.name, Instant::now());
        tracing::info!(
            user = %crate::telemetry::untrusted(&logged_name(&form.name)),
            "console: sign-in failed"
        );
        return Ok(form_page(
            &req,
            &state,
            &next,
            true,
            actix_web::http::StatusCode::UNAUTHORIZED,
        ));
    }
    limiter.succeed(&form.name);
    let now = crate::clock::now_ms();
    let sessions = &state.console.sessions;
    // Lazily, at each sign-in: expired sessions never pile up, and no timer is needed.
    if let Err(e) = sessions.purge_expired_sessions(now).await {
        tracing::warn!(error = %e, "console: purging expired sessions failed");
    }
    let (token, record) = auth::new_session(&form.name, settings.session_hours, now);
    sessions
        .create_session(&record)
        .await
        .map_err(|e| ConsoleError::store(e, lang))?;
    tracing::info!(user = %crate::telemetry::untrusted(&form.name), "console: signed in");
    let mut session = auth::cookie(SESSION_COOKIE, token, settings);
    session.set_max_age(actix_web::cookie::time::Duration::hours(
        settings.session_hours as i64,
    ));
    let mut done_with_login = auth::cookie(LOGIN_COOKIE, String::new(), settings);
    done_with_login.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .cookie(session)
        .cookie(done_with_login)
        .finish())
}

/// `POST /console/logout` (its CSRF token checked by the console's middleware): the session
/// is deleted from the database, so the cookie is worthless even if kept.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let lang = Lang::of(&req);
    if let Some(hash) = req
        .cookie(SESSION_COOKIE)
        .and_then(|c| auth::token_hash(c.value()))
    {
        state
            .console
            .sessions
            .delete_session(&hash)
            .await
            .map_err(|e| ConsoleError::store(e, lang))?;
    }
    if let Some(signed) = req.extensions().get::<Signed>() {
        tracing::info!(user = %crate::telemetry::untrusted(&signed.user.name), "console: signed out");
    }
    let mut gone = auth::cookie(SESSION_COOKIE, String::new(), &state.console.settings);
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login"))
        .cookie(gone)
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_an_address_and_a_name_for_the_window() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        let ip: Option<IpAddr> = Some("192.0.2.1".parse().unwrap());
        let other: Option<IpAddr> = Some("192.0.2.2".parse().unwrap());
        for n in 0..MAX_FAILURES {
            assert!(!limiter.locked(ip, "ana", t0), "after {n}");
            // A different name each time: the address alone reaches the limit.
            limiter.fail(ip, &format!("guess{n}"), t0);
        }
        assert!(limiter.locked(ip, "ana", t0), "the address is locked");
        assert!(
            !limiter.locked(other, "ana", t0),
            "ana from elsewhere is not"
        );
        for _ in 0..MAX_FAILURES {
            limiter.fail(other, "bo", t0);
        }
        let third: Option<IpAddr> = Some("192.0.2.3".parse().unwrap());
        assert!(
            limiter.locked(third, "bo", t0),
            "the name is locked from anywhere"
        );
        assert!(!limiter.locked(ip, "ana", t0 + WINDOW), "the window ends");
        limiter.succeed("bo");
        assert!(!limiter.locked(third, "bo", t0));
    }

    #[test]
    fn the_limiter_stays_bounded() {
        let limiter = LoginLimiter::default();
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS as u32 + 100) {
            let ip = IpAddr::from(i.to_be_bytes());
            limiter.fail(Some(ip), "x", t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(limiter.failures.lock().unwrap().len() <= MAX_KEYS);
    }
}
