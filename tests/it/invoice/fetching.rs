//! Fetching the platform's own invoice PDF (`invoice.source = "fetch"`) from a local HTTP
//! server: redirects, sizes, login pages, timeouts.

use super::*;
use actix_web::{App, HttpResponse, HttpServer, web};

async fn serve() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/ok.pdf",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("application/pdf")
                        .body(shopbip::cli::demo::placeholder_pdf("fetched invoice"))
                }),
            )
            .route(
                "/login",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html")
                        .body("<!DOCTYPE html><html><body>Log in</body></html>")
                }),
            )
            .route(
                "/empty",
                web::get()
                    .to(|| async { HttpResponse::Ok().content_type("application/pdf").finish() }),
            )
            .route(
                "/big",
                web::get().to(|| async {
                    let mut body = b"%PDF-1.7\n".to_vec();
                    body.resize(64 * 1024, b' ');
                    HttpResponse::Ok()
                        .content_type("application/pdf")
                        .body(body)
                }),
            )
            .route(
                "/zip",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("application/pdf")
                        .body(b"PK\x03\x04 not a pdf".to_vec())
                }),
            )
            .route(
                "/down",
                web::get().to(|| async { HttpResponse::ServiceUnavailable().finish() }),
            )
            .route(
                "/missing",
                web::get().to(|| async { HttpResponse::NotFound().finish() }),
            )
            .route(
                "/loop",
                web::get().to(|| async {
                    HttpResponse::Found()
                        .insert_header(("Location", "/loop"))
                        .finish()
                }),
            )
            // Redirects wherever `/to?{target}` says.
            .route(
                "/to",
                web::get().to(|req: actix_web::HttpRequest| async move {
                    HttpResponse::Found()
                        .insert_header(("Location", req.query_string().to_owned()))
                        .finish()
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    base
}

fn options() -> FetchOptions {
    FetchOptions {
        max_bytes: 32 * 1024,
        ..FetchOptions::default()
    }
}

async fn get(base: &str, path: &str) -> Result<Vec<u8>, FetchError> {
    fetch(
        &format!("{base}{path}?access_key=s3cret"),
        UrlPolicy::default(),
    )
    .await
}

async fn fetch(url: &str, policy: UrlPolicy) -> Result<Vec<u8>, FetchError> {
    fetch_pdf(&FetchClients::new(&options()), policy, url, &options()).await
}

#[tokio::test]
async fn a_pdf_is_accepted_and_everything_else_refused_with_its_reason() {
    let base = serve().await;
    assert!(get(&base, "/ok.pdf").await.unwrap().starts_with(b"%PDF-"));
    for (path, reason, transient) in [
        ("/login", "HTML page", false),
        ("/empty", "empty", false),
        ("/big", "larger than the 32768-byte limit", false),
        ("/zip", "not a PDF", false),
        ("/missing", "HTTP 404", false),
        ("/loop", "more than 5 redirects", false),
        ("/down", "HTTP 503", true),
    ] {
        let err = get(&base, path).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains(reason), "{path}: {text}");
        assert_eq!(err.is_transient(), transient, "{path}: {text}");
        assert!(
            text.contains(&format!("{base}{path}")) && !text.contains("s3cret"),
            "{path}: {text}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_is_transient_and_plain_http_elsewhere_is_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = get(&format!("http://127.0.0.1:{port}"), "/x.pdf")
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    let err = fetch("http://shop.example/invoice.pdf", UrlPolicy::default())
        .await
        .unwrap_err();
    assert!(
        !err.is_transient() && err.to_string().contains("loopback"),
        "{err}"
    );
}

#[tokio::test]
async fn every_redirect_hop_is_checked_by_the_url_policy() {
    let pdfs = serve().await;
    let port = pdfs.rsplit(':').next().unwrap().to_owned();
    let hops = pdfs.clone();
    // Followed: another loopback URL.
    let ok = fetch(&format!("{hops}/to?{pdfs}/ok.pdf"), UrlPolicy::default()).await;
    assert!(ok.unwrap().starts_with(b"%PDF-"));
    for (target, why) in [
        // The cloud metadata service, over plain http.
        ("http://169.254.169.254/latest/meta-data/", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.0.0.7/invoice.pdf", "private"),
        // 0.0.0.0 reaches this very machine: the PDF server is there, and never asked.
        (&format!("https://0.0.0.0:{port}/ok.pdf"), "not an address"),
        ("file:///etc/passwd", "file://"),
        ("ftp://shop.example/invoice.pdf", "ftp://"),
    ] {
        let err = fetch(&format!("{hops}/to?{target}"), UrlPolicy::default())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(!err.is_transient(), "{target}: {text}");
        assert!(
            text.contains("refused") && text.contains(why),
            "{target}: {text}"
        );
    }
    // The same first URL is refused too, without a request.
    let err = fetch("https://169.254.169.254/x.pdf", UrlPolicy::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("link-local"), "{err}");
    // A store that fetches from its own network may follow to a private address: the
    // policy lets it through (the address then simply does not answer here).
    let quick = FetchOptions {
        timeout: std::time::Duration::from_secs(1),
        ..options()
    };
    let err = fetch_pdf(
        &FetchClients::new(&quick),
        UrlPolicy {
            allow_private: true,
        },
        &format!("{hops}/to?https://10.255.255.1:9/x.pdf"),
        &quick,
    )
    .await
    .unwrap_err();
    assert!(!err.to_string().contains("refused"), "{err}");
}
