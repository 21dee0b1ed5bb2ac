//! What several subcommands share: the order they post, the store profile they serve, the
//! database they run on, and how they read their figures.

use std::time::Duration;

use serde_json::Value;

/// The signed secret of the bench store profile (and of `bench/ingest.sh`'s).
pub const SECRET: &str = "bench-secret";

pub const FIXTURE: &str =
    include_str!("../../tests/fixtures/woocommerce/order-updated-paid-tnd.json");

/// ~5 KB: the fixture with its own id and enough line items.
pub fn body(id: u64) -> Vec<u8> {
    let mut order: Value = serde_json::from_str(FIXTURE).expect("fixture parses");
    order["id"] = id.into();
    order["number"] = id.to_string().into();
    let item = order["line_items"][1].clone();
    let items = order["line_items"].as_array_mut().expect("line items");
    while serde_json::to_vec(items).map(|v| v.len()).unwrap_or(0) < 3600 {
        items.push(item.clone());
    }
    serde_json::to_vec(&order).expect("serialises")
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// The bench store: a paid WooCommerce order sends one template, with the invoice PDF or not.
pub fn profile(attach: bool) -> String {
    format!(
        r#"platform = "woocommerce"
base_uri = "https://shop.bench.test"
default_country = "TN"
[webhook]
secrets = ["{SECRET}"]
[buzzbip]
base_url = "http://127.0.0.1:9"
username = "demo@shopbip.test"
password = "demo-password"
api_key = "demo-api-key"
[invoice]
language = "fr"
seller_name = "Acme SARL"
[[notify]]
on = "order.paid"
template_id = {}
body_params = ["{{customer.first_name}}", "{{order.number}}"]
attach_invoice = {attach}
"#,
        if attach { 1289 } else { 1400 }
    )
}

/// SQLite in `dir`, or a fresh database on the PostgreSQL server `postgres`.
pub async fn database(dir: &std::path::Path, postgres: Option<&str>) -> anyhow::Result<String> {
    let Some(server) = postgres else {
        return Ok(format!("sqlite://{}", dir.join("shopbip.db").display()));
    };
    use sqlx::Connection;
    let name = format!(
        "shopbip_bench_{}_{}",
        std::process::id(),
        rand::random::<u32>()
    );
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    Ok(format!("{server}/{name}"))
}
