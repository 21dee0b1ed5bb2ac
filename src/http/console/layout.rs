//! The console's one page layout: [`page`] for signed-in pages (navigation, language switch,
//! logout form), [`bare`] for the login form and refusals.

use actix_web::HttpResponse;
use actix_web::http::header;
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::auth::Ctx;
use super::i18n::{Key, Lang};

/// The navigation: (path, text). A page is "current" when the request's path starts with its
/// path (the overview only when it is the path).
const NAV: [(&str, Key); 3] = [
    ("/console", Key::NavOverview),
    ("/console/messages", Key::NavMessages),
    ("/console/preview", Key::NavInvoicePreview),
];

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx's own inline indicator styles would be refused by the CSP.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
            title { (title) " · " (lang.t(Key::Console)) }
            link rel="stylesheet" href=(assets::css());
            script src=(assets::htmx()) defer {}
            script src=(assets::script()) defer {}
        }
    }
}

/// A page without navigation (login, refusals).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) dir=(lang.dir()) {
            (head(lang, title))
            body { main { (body) } }
        }
    }
}

/// A signed-in page: `title` in the tab and as the heading's text is the caller's; `body` goes
/// inside `<main>` under the navigation. Answered 200 as HTML.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> HttpResponse {
    let lang = ctx.lang;
    let role = if ctx.user.is_operator() {
        Key::RoleOperator
    } else {
        Key::RoleViewer
    };
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) dir=(lang.dir()) {
            (head(lang, title))
            body {
                header.top {
                    span.brand { (lang.t(Key::Console)) }
                    nav.main aria-label=(lang.t(Key::NavOverview)) {
                        @for (path, key) in NAV {
                            @let current = if path == "/console" {
                                ctx.path == path
                            } else {
                                ctx.path.starts_with(path)
                            };
                            a href=(path) aria-current=[current.then_some("page")] { (lang.t(key)) }
                        }
                    }
                    div.session {
                        span.langs aria-label=(lang.t(Key::Language)) {
                            @for l in Lang::ALL {
                                a href=(switch_href(ctx, l)) lang=(l.code())
                                  aria-current=[(l == lang).then_some("true")] { (l.name()) }
                            }
                        }
                        span { (lang.t(Key::SignedInAs)) " " strong { (ctx.user.name) } " (" (lang.t(role)) ")" }
                        form method="post" action="/console/logout" {
                            (ctx.csrf_field())
                            button.link type="submit" { (lang.t(Key::Logout)) }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    HttpResponse::Ok()
        .content_type(header::ContentType::html())
        .body(markup.into_string())
}

/// This page in language `l`: the same path and query, with `lang` replaced.
fn switch_href(ctx: &Ctx, l: Lang) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(ctx.query.as_bytes()) {
        if k != "lang" {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("lang", l.code());
    format!("{}?{}", ctx.path, query.finish())
}

/// A moment for people: `2026-12-03 07:12 UTC` (the exact time in the `<time>` element).
pub fn when(lang: Lang, ms: Option<i64>) -> Markup {
    match ms {
        Some(ms) => {
            let exact = crate::http::admin::view::rfc3339_ms(ms);
            let short = format!("{} {} UTC", &exact[..10], &exact[11..16]);
            html! { time datetime=(exact) title=(exact) { (short) } }
        }
        None => html! { span.muted { (lang.t(Key::Never)) } },
    }
}

/// A job state as a coloured badge.
pub fn state_badge(lang: Lang, state: crate::jobs::JobState) -> Markup {
    html! {
        span class={ "state state-" (state.as_str()) } { (lang.t(super::i18n::state_key(state))) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::console::auth::{ConsoleUser, StoreScope};
    use crate::settings::ConsoleRole;

    fn ctx(lang: Lang, path: &str, query: &str) -> Ctx {
        Ctx {
            user: ConsoleUser {
                name: "ana <b>".into(),
                role: ConsoleRole::Viewer,
                stores: StoreScope::All,
            },
            lang,
            csrf: "tok".into(),
            path: path.into(),
            query: query.into(),
        }
    }

    #[test]
    fn the_switch_keeps_the_query_and_replaces_lang() {
        let c = ctx(
            Lang::En,
            "/console/messages",
            "state=dead&lang=fr&store=a%20b",
        );
        assert_eq!(
            switch_href(&c, Lang::Ar),
            "/console/messages?state=dead&store=a+b&lang=ar"
        );
    }

    #[tokio::test]
    async fn arabic_pages_are_right_to_left_and_text_is_escaped() {
        let res = page(&ctx(Lang::Ar, "/console", ""), "t", html! { p { "x" } });
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        let body = std::str::from_utf8(&body).unwrap();
        assert!(body.contains(r#"<html lang="ar" dir="rtl">"#), "{body}");
        assert!(body.contains("ana &lt;b&gt;"), "{body}");
        assert!(body.contains(r#"name="csrf" value="tok""#), "{body}");
    }
}
