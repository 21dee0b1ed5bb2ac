//! A store whose invoices are the platform's own (`invoice.source = "fetch"`): the console
//! fetches the PDF again through the worker's fetch path and compares it with the one sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use shopbip::stores::InvoiceSource;

use super::messages::{job_ids, woo_order};
use super::{OPERATOR, start};
use crate::common::app::woo_profile;
use crate::common::read_pdf;

/// A platform serving `/inv/{number}.pdf`; once `changed` is set, another document.
fn platform(changed: Arc<AtomicBool>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let changed = changed.clone();
        App::new().route(
            "/inv/{number}.pdf",
            web::get().to(move |n: web::Path<String>| {
                let edition = if changed.load(Ordering::SeqCst) {
                    "v2"
                } else {
                    "v1"
                };
                let pdf = shopbip::cli::demo::placeholder_pdf(&format!("fetched {n} {edition}"));
                async move { HttpResponse::Ok().content_type("application/pdf").body(pdf) }
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

#[tokio::test]
async fn a_fetched_invoice_is_fetched_again_and_compared_with_the_one_sent() {
    let changed = Arc::new(AtomicBool::new(false));
    let base = platform(changed.clone());
    let c = start(|_| {}).await;
    // The profile reloaded with a fetched invoice.
    let profile = woo_profile(&c.app.sandbox.handle.base_url()).replace(
        "[invoice]\n",
        &format!(
            "[invoice]\nsource = \"fetch\"\nfetch_url = \"{base}/inv/{{order.number}}.pdf\"\nfetch_allow_private = true\n"
        ),
    );
    std::fs::write(
        c.app.dir.path().join("plugin-config/acme-woo.toml"),
        profile,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while c
        .app
        .service
        .stores
        .load()
        .get("acme-woo")
        .unwrap()
        .invoice
        .source
        != InvoiceSource::Fetch
    {
        assert!(Instant::now() < deadline, "the profile was never reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    woo_order(&c, "5120", None).await;
    assert_eq!(c.app.service.run_pending_jobs().await.unwrap(), 1);
    let id = job_ids(&c, "acme-woo").await[0];
    let job = c.app.jobs().await.into_iter().find(|j| j.id == id).unwrap();
    assert_eq!(
        job.state,
        shopbip::jobs::JobState::Done,
        "{:?}",
        job.last_error
    );
    let client = c.signed_in(OPERATOR).await;
    let page = c
        .page(&client, &format!("/console/messages/{id}"), StatusCode::OK)
        .await;
    assert!(page.contains("Identical to the document sent."), "{page}");
    let pdf = c
        .get(&client, &format!("/console/messages/{id}/invoice.pdf"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&pdf)),
        job.steps["pdf_sha256"].as_str().unwrap()
    );
    assert!(read_pdf::text(&pdf).contains("fetched 5120 v1"));

    // The platform's document changed since: said so.
    changed.store(true, Ordering::SeqCst);
    let page = c
        .page(&client, &format!("/console/messages/{id}"), StatusCode::OK)
        .await;
    assert!(page.contains("Differs from the document sent"), "{page}");
}
