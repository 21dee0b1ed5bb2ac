//! `/admin`: what happened to a store's orders, and replay. Bearer token from `admin.token`
//! (compared in constant time); with no token configured the admin API does not exist (404).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use crate::jobs::view::{self, EventView, JobDetail, JobSummary, OrderView, PaymentView};
use crate::jobs::{JobFilter, JobState, ReplayOutcome};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .route("/openapi.json", web::get().to(openapi))
            .route("/stores", web::get().to(list_stores))
            .route("/jobs", web::get().to(list_jobs))
            .route("/jobs/{id}", web::get().to(get_job))
            .route("/jobs/{id}/replay", web::post().to(replay_job)),
    );
}

#[derive(OpenApi)]
#[openapi(
    info(title = "shopbip admin API", description = "Jobs and stores of a shopbip deployment. Every route needs `Authorization: Bearer <admin.token>`; phone numbers are masked."),
    paths(list_stores, list_jobs, get_job, replay_job),
    components(schemas(StoreView, JobPage, JobSummary, JobDetail, EventView, OrderView, PaymentView, ReplayAnswer, ErrorAnswer)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreView {
    pub id: String,
    pub platform: String,
    pub environment: String,
    /// Epoch ms of the last webhook stored for the store.
    pub last_webhook_at: Option<i64>,
    /// Epoch ms of the last message sent.
    pub last_send_at: Option<i64>,
    /// Jobs by state.
    pub jobs: BTreeMap<String, u64>,
    /// Webhooks refused for their signature since this process started.
    pub failed_signatures: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobSummary>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayAnswer {
    pub status: String,
    pub job: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorAnswer {
    pub error: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct JobQuery {
    /// Only this store's jobs.
    pub store: Option<String>,
    /// queued, running, done, skipped or dead.
    pub state: Option<String>,
    /// Only this order id.
    pub order: Option<String>,
    /// Page size (default 50, at most 500).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
}

fn error(mut b: actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    b.json(json!({ "error": message }))
}

/// `None` when the caller may proceed, else the answer to give.
fn guard(req: &HttpRequest, state: &AppState) -> Option<HttpResponse> {
    let token = state.admin_token.expose_secret();
    if token.is_empty() {
        return Some(error(
            HttpResponse::NotFound(),
            "the admin API is off (admin.token is empty)",
        ));
    }
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        None
    } else {
        Some(error(
            HttpResponse::Unauthorized(),
            "missing or wrong admin bearer token",
        ))
    }
}

async fn openapi(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(denied) = guard(&req, &state) {
        return denied;
    }
    HttpResponse::Ok().json(ApiDoc::openapi())
}

fn db_error(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "admin API: job store error");
    error(
        HttpResponse::ServiceUnavailable(),
        "the job store is unavailable",
    )
}

/// Every configured store with its recent activity.
#[utoipa::path(
    get,
    path = "/admin/stores",
    responses((status = 200, body = [StoreView]), (status = 401, body = ErrorAnswer)),
    security(("bearer" = []))
)]
async fn list_stores(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(denied) = guard(&req, &state) {
        return denied;
    }
    let stats = match state.jobs.store_stats().await {
        Ok(s) => s,
        Err(e) => return db_error(e),
    };
    let failures = state.signature_failures();
    let stores: Vec<StoreView> = state
        .stores
        .load()
        .iter()
        .map(|s| {
            let st = stats.get(s.id.as_str()).cloned().unwrap_or_default();
            StoreView {
                id: s.id.to_string(),
                platform: s.platform.to_string(),
                environment: format!("{:?}", s.environment).to_lowercase(),
                last_webhook_at: st.last_webhook_at,
                last_send_at: st.last_send_at,
                jobs: st.jobs,
                failed_signatures: failures.get(s.id.as_str()).copied().unwrap_or(0),
            }
        })
        .collect();
    HttpResponse::Ok().json(stores)
}

/// Jobs, newest first, filtered and paginated with a cursor.
#[utoipa::path(
    get,
    path = "/admin/jobs",
    params(JobQuery),
    responses((status = 200, body = JobPage), (status = 400, body = ErrorAnswer), (status = 401, body = ErrorAnswer)),
    security(("bearer" = []))
)]
async fn list_jobs(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<JobQuery>,
) -> HttpResponse {
    if let Some(denied) = guard(&req, &state) {
        return denied;
    }
    let q = query.into_inner();
    let job_state = match q.state.as_deref().map(str::parse::<JobState>).transpose() {
        Ok(s) => s,
        Err(e) => return error(HttpResponse::BadRequest(), &e),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let filter = JobFilter {
        store_id: q.store,
        state: job_state,
        order_id: q.order,
        before_id: q.cursor,
        limit,
    };
    match state.jobs.list(&filter).await {
        Ok(jobs) => {
            let next_cursor = (jobs.len() as u32 == limit)
                .then(|| jobs.last().map(|j| j.id))
                .flatten();
            HttpResponse::Ok().json(JobPage {
                jobs: jobs.iter().map(view::summary).collect(),
                next_cursor,
            })
        }
        Err(e) => db_error(e),
    }
}

/// One job: its event, its order (phone masked), its rule and every step's result.
#[utoipa::path(
    get,
    path = "/admin/jobs/{id}",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = JobDetail), (status = 401, body = ErrorAnswer), (status = 404, body = ErrorAnswer)),
    security(("bearer" = []))
)]
async fn get_job(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> HttpResponse {
    if let Some(denied) = guard(&req, &state) {
        return denied;
    }
    let id = path.into_inner();
    match state.jobs.get(id).await {
        Ok(Some(job)) => {
            let event = state.jobs.event(job.event_id).await.ok().flatten();
            HttpResponse::Ok().json(view::detail(&job, event))
        }
        Ok(None) => error(HttpResponse::NotFound(), &format!("no job {id}")),
        Err(e) => db_error(e),
    }
}

/// Runs a done, dead or skipped job again: the one way an order gets a second message.
#[utoipa::path(
    post,
    path = "/admin/jobs/{id}/replay",
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, body = ReplayAnswer),
        (status = 401, body = ErrorAnswer),
        (status = 404, body = ErrorAnswer),
        (status = 409, body = ErrorAnswer, description = "The job is still queued or running")
    ),
    security(("bearer" = []))
)]
async fn replay_job(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> HttpResponse {
    if let Some(denied) = guard(&req, &state) {
        return denied;
    }
    let id = path.into_inner();
    match state.jobs.replay(id).await {
        Ok(ReplayOutcome::Requeued) => {
            tracing::warn!(
                job = id,
                "job replayed by an operator: its order will be sent again"
            );
            HttpResponse::Ok().json(ReplayAnswer {
                status: "requeued".into(),
                job: id,
            })
        }
        Ok(ReplayOutcome::NotFound) => error(HttpResponse::NotFound(), &format!("no job {id}")),
        Ok(ReplayOutcome::NotFinished(s)) => error(
            HttpResponse::Conflict(),
            &format!("job {id} is {s}: only done, dead or skipped jobs can be replayed"),
        ),
        Err(e) => db_error(e),
    }
}
