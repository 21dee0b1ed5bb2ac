//! `shopbip demo`: the whole round trip on embedded defaults, then exit. A temporary SQLite file,
//! an in-process Buzzbip sandbox, a demo WooCommerce store, one signed paid order posted over
//! HTTP to the real receiver, the real workers rendering, uploading and sending.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::app::Application;
use crate::jobs::{JobFilter, JobState};
use crate::platforms::signature::sign_base64;
use crate::sandbox::stores::{pointed_at, with_sandbox};
use crate::settings::Settings;
use crate::stores::StoreRegistry;

const STORE_ID: &str = "demo-shop";
const WEBHOOK_SECRET: &str = "demo-webhook-secret";
const SAMPLE_ORDER: &[u8] =
    include_bytes!("../../tests/fixtures/woocommerce/order-updated-paid-tnd.json");

fn demo_profile() -> String {
    format!(
        r#"platform = "woocommerce"
base_uri = "https://shop.demo.test"
default_country = "TN"

[webhook]
secrets = ["{WEBHOOK_SECRET}"]

[buzzbip]
base_url = "http://127.0.0.1:9"   # replaced by the in-process sandbox
username = "demo@shopbip.test"
password = "demo-password"
api_key = "demo-api-key"

[invoice]
filename = "Facture-{{order.number}}.pdf"
language = "fr"
seller_name = "Acme SARL"
seller_address = "12 rue de Marseille, 1001 Tunis"
seller_tax_id = "1234567/A/B/M/000"

[[notify]]
on = "order.paid"
template_id = 1289
body_params = ["{{customer.first_name}}", "{{order.number}}"]
buttons = [{{ index = 0, sub_type = "url", value = "{{order.id}}" }}]
"#
    )
}

pub async fn run() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("shopbip-demo-{}", std::process::id()));
    let stores_dir = dir.join("plugin-config");
    std::fs::create_dir_all(&stores_dir)
        .with_context(|| format!("cannot create {}", stores_dir.display()))?;
    std::fs::write(stores_dir.join(format!("{STORE_ID}.toml")), demo_profile())?;

    let mut settings = Settings::default();
    settings.server.port = 0;
    settings.stores.dir = stores_dir.clone();
    settings.database.url = format!("sqlite://{}", dir.join("shopbip.db").display());
    settings.worker.poll_interval_ms = 50;
    let registry = StoreRegistry::load_dir(&stores_dir)
        .map_err(|e| anyhow::anyhow!("the demo profile is invalid: {}", e[0]))?;
    let (sandbox, registry) = with_sandbox(&registry)?;
    let service = Application::build(&settings, registry, pointed_at(sandbox.base_url())).await?;
    println!("shopbip demo");
    println!("  database:  {}", settings.database.url);
    println!("  sandbox:   {} (Buzzbip stand-in)", sandbox.base_url());
    println!(
        "  receiver:  http://127.0.0.1:{}/webhooks/{STORE_ID}",
        service.port
    );

    let response = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/webhooks/{STORE_ID}",
            service.port
        ))
        .header("content-type", "application/json")
        .header("X-WC-Webhook-Topic", "order.updated")
        .header(
            "X-WC-Webhook-Signature",
            sign_base64(WEBHOOK_SECRET, SAMPLE_ORDER),
        )
        .header("X-WC-Webhook-Delivery-ID", "demo-1")
        .body(SAMPLE_ORDER)
        .send()
        .await?;
    println!(
        "\nposted a signed WooCommerce order.updated (order 5120, paid): HTTP {}",
        response.status().as_u16()
    );

    let job = wait_for_job(&service).await?;
    println!("job {}: {} (attempt {})", job.id, job.state, job.attempts);

    let control = sandbox.control();
    println!("\nwhat the sandbox received:");
    let mut pdf_path = None;
    for call in control.calls().await? {
        if let Some(f) = &call.file {
            println!(
                "  upload  {} {} -> {}: file {:?}, {} bytes, {}",
                call.method,
                call.path,
                call.status,
                f.filename.as_deref().unwrap_or("(none)"),
                f.size,
                f.content_type.as_deref().unwrap_or("?")
            );
        } else if call.path.ends_with("/send")
            && let Some(json) = &call.json
        {
            let template = call.path.split('/').nth(5).unwrap_or("?");
            println!(
                "  send    {} {} -> {}: template {template}, to {}, country_code {}, body_params {}, buttons {}, header_media_id {}",
                call.method,
                call.path,
                call.status,
                json["to"],
                json["country_code"],
                json["body_params"],
                json["buttons"],
                json["header_media_id"]
            );
            if let Some(id) = json["header_media_id"].as_str() {
                let bytes = control.media_content(id).await?;
                let path = dir.join(format!("invoice-{id}.pdf"));
                std::fs::write(&path, &bytes)?;
                pdf_path = Some(path);
            }
        } else {
            println!(
                "  {:<7} {} {} -> {}",
                "login", call.method, call.path, call.status
            );
        }
    }
    service.stop().await;
    sandbox.stop().await;
    match (job.state, pdf_path) {
        (JobState::Done, Some(path)) => {
            println!(
                "\ninvoice PDF (the bytes Buzzbip received): {}",
                path.display()
            );
            Ok(())
        }
        (state, _) => bail!(
            "the demo order did not complete: job {state}: {}",
            job.last_error.unwrap_or_default()
        ),
    }
}

async fn wait_for_job(service: &Application) -> anyhow::Result<crate::jobs::Job> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = service
            .jobs
            .list(&JobFilter {
                limit: 10,
                ..JobFilter::default()
            })
            .await?;
        if let Some(job) = jobs
            .into_iter()
            .find(|j| matches!(j.state, JobState::Done | JobState::Dead | JobState::Skipped))
        {
            return Ok(job);
        }
        if Instant::now() > deadline {
            bail!("no job finished within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A one-page PDF with one line of Helvetica text, written by hand (offsets computed): what the
/// tests serve as a platform's own invoice PDF.
pub fn placeholder_pdf(text: &str) -> Vec<u8> {
    let escaped: String = text
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .flat_map(|c| match c {
            '(' | ')' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let stream = format!("BT /F1 14 Tf 72 760 Td ({escaped}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}
