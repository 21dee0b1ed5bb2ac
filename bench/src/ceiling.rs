//! The bare servers `bench/ingest.sh` compares `shopbip serve` with: what this machine can do per
//! request with no storage at all.

use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use secrecy::SecretString;
use shopbip::platforms::signature::verify_base64_body;

pub async fn run(port: u16, secret: String, parse: bool) -> anyhow::Result<()> {
    let secrets = web::Data::new(vec![SecretString::from(secret)]);
    println!("ceiling server on 127.0.0.1:{port}");
    HttpServer::new(move || {
        let app = App::new()
            .app_data(secrets.clone())
            .app_data(web::PayloadConfig::new(2 * 1024 * 1024));
        if parse {
            app.route("/webhooks/{store}", web::post().to(parsed))
        } else {
            app.route("/webhooks/{store}", web::post().to(bare))
        }
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}

async fn bare(
    req: HttpRequest,
    body: web::Bytes,
    secrets: web::Data<Vec<SecretString>>,
) -> HttpResponse {
    let sig = req
        .headers()
        .get("x-wc-webhook-signature")
        .and_then(|v| v.to_str().ok());
    match verify_base64_body("X-WC-Webhook-Signature", sig, &body, &secrets) {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "accepted"})),
        Err(_) => HttpResponse::Unauthorized().finish(),
    }
}

/// The webhook handler's work up to the hand-off to the job store: verify, parse into the
/// canonical event, serialise the order as the store would.
async fn parsed(
    req: HttpRequest,
    body: web::Bytes,
    secrets: web::Data<Vec<SecretString>>,
) -> HttpResponse {
    use shopbip::platforms::woocommerce::WooCommerce;
    use shopbip::platforms::{Parsed, WebhookPlatform};
    let headers = shopbip::http::request_headers(&req);
    if WooCommerce
        .verify(&headers, &body, &secrets, Duration::from_secs(300))
        .is_err()
    {
        return HttpResponse::Unauthorized().finish();
    }
    match WooCommerce.parse(&headers, &body) {
        Ok(Parsed::Event(event)) => {
            let order = serde_json::to_string(&event.order).unwrap_or_default();
            HttpResponse::Ok().json(serde_json::json!({
                "status": "accepted",
                "order_bytes": order.len(),
            }))
        }
        Ok(Parsed::Ignored { .. }) => HttpResponse::Ok().finish(),
        Err(_) => HttpResponse::BadRequest().finish(),
    }
}
