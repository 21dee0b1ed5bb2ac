//! The merchant console over loopback, on the real server and a real database: sign-in,
//! sessions, CSRF, who sees which store, languages.

mod access;
mod browser;
mod fetched;
mod login;
mod message;
mod message_routes;
mod messages;
mod optouts;
mod overview;
mod preview;
mod sessions;
mod settings;

use std::net::IpAddr;

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use shopbip::settings::{ConsoleRole, ConsoleUserSettings, Settings};

use crate::common::app::{TestApp, spawn_app_with};

/// Signs in as everything.
pub const OPERATOR: (&str, &str) = ("ana", "ana-password-2026");
/// Sees the WooCommerce store (`acme-woo`) only.
pub const VIEWER: (&str, &str) = ("acme", "acme-password-2026");

pub struct Console {
    pub app: TestApp,
}

pub fn user(name: &str, password: &str, stores: &[&str], role: ConsoleRole) -> ConsoleUserSettings {
    ConsoleUserSettings {
        name: name.into(),
        password_hash: shopbip::settings::hash_password(password).unwrap().into(),
        stores: stores.iter().map(|s| s.to_string()).collect(),
        role,
    }
}

/// The harness's two stores (`acme-woo`, `atlas-shopify`) with [`OPERATOR`] and [`VIEWER`],
/// over plain http (the cookie without `Secure`, so the test's cookie jar sends it back);
/// `adjust` runs last.
pub async fn start(adjust: impl FnOnce(&mut Settings)) -> Console {
    let app = spawn_app_with(|s| {
        s.console.users = vec![
            user(OPERATOR.0, OPERATOR.1, &["*"], ConsoleRole::Operator),
            user(VIEWER.0, VIEWER.1, &["acme-woo"], ConsoleRole::Viewer),
        ];
        s.console.allow_plain_http = true;
        adjust(s);
    })
    .await;
    Console { app }
}

/// A browser: a cookie jar, redirects not followed (tests look at them).
pub fn browser() -> reqwest::Client {
    browser_from(None)
}

/// A browser whose connections come from `ip` (any 127.x address on loopback), for limits per
/// client address.
pub fn browser_from(ip: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .local_address(ip)
        .build()
        .unwrap()
}

/// The value of the hidden `csrf` field of a page's first form.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no csrf field in {html}"));
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The `Set-Cookie` line of cookie `name`.
pub fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

impl Console {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    pub async fn get(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client.get(self.url(path)).send().await.unwrap()
    }

    /// Fills and posts the login form as a browser would; answers the POST's response.
    pub async fn login(
        &self,
        client: &reqwest::Client,
        name: &str,
        password: &str,
    ) -> reqwest::Response {
        let form = self.get(client, "/console/login").await;
        assert_eq!(form.status(), StatusCode::OK);
        let csrf = csrf_of(&form.text().await.unwrap());
        client
            .post(self.url("/console/login"))
            .form(&[
                ("name", name),
                ("password", password),
                ("csrf", &csrf),
                ("next", "/console"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// A signed-in browser.
    pub async fn signed_in(&self, (name, password): (&str, &str)) -> reqwest::Client {
        let client = browser();
        let res = self.login(&client, name, password).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{name} signs in");
        client
    }

    /// The page's HTML, asserting its status.
    pub async fn page(&self, client: &reqwest::Client, path: &str, status: StatusCode) -> String {
        let res = self.get(client, path).await;
        assert_eq!(res.status(), status, "GET {path}");
        res.text().await.unwrap()
    }
}
