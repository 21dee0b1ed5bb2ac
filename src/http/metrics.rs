//! `GET /metrics`: Prometheus text exposition.

use actix_web::{HttpResponse, web};

use super::AppState;
use crate::jobs::JobState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // Job counts live in the database (shared by every replica): read them at scrape time.
    match state.reads.count_by_state().await {
        Ok(counts) => {
            for s in JobState::ALL {
                let n = counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
                metrics::gauge!(crate::metrics::JOBS, "state" => s.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read job counts for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::handle().render())
}
