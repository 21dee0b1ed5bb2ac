//! `shopbip demo`. The webhook → worker pipeline is not built yet, so for now the demo runs the
//! part that exists: the Buzzbip client against an in-process sandbox, and says so.

use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::Context;
use secrecy::SecretString;

use crate::buzzbip::{
    BuzzbipClient, ClientOptions, Credentials, SendRequest, TokenCache, http_client,
};
use crate::sandbox::{self, SandboxConfig};

const DEMO_ACCOUNT: &str = "demo@shopbip.test";
const DEMO_TEMPLATE: u64 = 1289;

pub async fn run() -> anyhow::Result<()> {
    println!("shopbip demo");
    println!(
        "  Not built yet: webhook ingestion, the job store and invoice rendering (issues 3-5)."
    );
    println!("  This run shows what exists: the Buzzbip client against an in-process sandbox,");
    println!("  uploading a placeholder PDF and sending template {DEMO_TEMPLATE} with it.\n");

    let config = SandboxConfig::default();
    let account = config
        .account(DEMO_ACCOUNT)
        .context("the built-in sandbox config has the demo account")?
        .clone();
    let sandbox = sandbox::spawn(&config, TcpListener::bind("127.0.0.1:0")?)?;
    println!("sandbox: {}", sandbox.base_url());

    let options = ClientOptions::default();
    let client = BuzzbipClient::new(
        http_client(&options),
        &TokenCache::new(),
        Credentials {
            base_url: sandbox.base_url(),
            username: account.username.clone(),
            password: SecretString::from(account.password.clone()),
            api_key: SecretString::from(account.api_key.clone()),
            platform_type: "woocommerce".into(),
            base_uri: "https://shop.demo.test".into(),
        },
        options,
    )?;

    let pdf = placeholder_pdf("shopbip demo - placeholder document, not an invoice yet");
    let out = std::env::temp_dir().join("shopbip-demo-Invoice-1001.pdf");
    std::fs::write(&out, &pdf).with_context(|| format!("cannot write {}", out.display()))?;

    let media_id = client
        .upload_pdf("Invoice-1001.pdf", bytes::Bytes::from(pdf))
        .await?;
    let receipt = client
        .send_template(
            DEMO_TEMPLATE,
            &SendRequest {
                to: "21696816277".into(),
                country_code: "TN".into(),
                body_params: vec!["Amira".into(), "1001".into()],
                buttons: vec![],
                header_media_id: Some(media_id),
            },
        )
        .await?;

    print_received(&sandbox.control()).await?;
    println!(
        "\nwhatsapp_bulk_group_id: {}",
        receipt.whatsapp_bulk_group_id
    );
    println!("PDF written to: {}", display(out));
    sandbox.stop().await;
    Ok(())
}

async fn print_received(control: &sandbox::SandboxControl) -> anyhow::Result<()> {
    println!("\nwhat the sandbox received:");
    for call in control.calls().await? {
        print!("  {} {} -> {}", call.method, call.path, call.status);
        if let Some(f) = &call.file {
            print!(
                "  upload: file {:?}, {} bytes, {}",
                f.filename.as_deref().unwrap_or("(none)"),
                f.size,
                f.content_type.as_deref().unwrap_or("?")
            );
        }
        if call.path.ends_with("/send")
            && let Some(json) = &call.json
        {
            print!(
                "  send: to {}, country_code {}, body_params {}, header_media_id {}",
                json["to"], json["country_code"], json["body_params"], json["header_media_id"]
            );
        }
        println!();
    }
    Ok(())
}

fn display(p: PathBuf) -> String {
    p.display().to_string()
}

/// A one-page PDF with one line of Helvetica text, written by hand (offsets computed) so the
/// demo needs no renderer until invoice rendering lands.
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
