//! `shopbip migrate-sqlite-to-postgres`: the one-way move to several replicas.

pub async fn command(from: &str, to: &str) -> anyhow::Result<()> {
    let copied = crate::jobs::migrate::sqlite_to_postgres(from, to).await?;
    println!(
        "copied {} events, {} jobs, {} invoice numbers, {} Buzzbip events, {} opt-outs, {} sweep watermarks; point database.url at the PostgreSQL database",
        copied.events,
        copied.jobs,
        copied.invoice_numbers,
        copied.buzzbip_events,
        copied.optouts,
        copied.sweeps
    );
    Ok(())
}
