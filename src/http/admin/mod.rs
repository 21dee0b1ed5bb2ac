//! `/admin`: what happened to a store's orders, and replay.
//!
//! The contract (the README's "Operating it" section says the same):
//! - with `admin.token` empty the admin API does not exist (404 on every `/admin` path);
//! - otherwise every request, including one to an unknown path or with a malformed id or
//!   query, is authenticated first: `Authorization: Bearer <admin.token>`, the scheme in any
//!   case, the token compared in constant time (as SHA-256 digests, so not even its length
//!   leaks); anything else is 401 before the path or query is looked at;
//! - every error is JSON `{"error": "…"}`, whatever produced it (a bad id or query, an unknown
//!   path, a method a path does not take, the job store);
//! - times are RFC 3339 UTC strings with milliseconds under `…_at`, with the epoch
//!   milliseconds beside them under `…_at_ms`;
//! - `/admin/openapi.json` documents every route served here.

mod optouts;
mod query;
pub mod view;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub use self::query::JobQuery;
use self::query::{job_filter, job_id, quoted};
use self::view::{DeliveryView, JobDetail, JobSummary, MessageStatusView, OrderView, PaymentView};
use super::AppState;
use super::error::{ErrorAnswer, json_error as error};
use crate::jobs::ReplayOutcome;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            // Runs before routing and every extractor: nothing is parsed for a caller without
            // the token, and no error leaves as anything but JSON.
            .wrap_fn(super::auth::gate)
            .service(
                web::resource("/openapi.json")
                    .route(web::get().to(openapi))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/stores")
                    .route(web::get().to(list_stores))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/stores/{id}/optouts")
                    .route(web::get().to(optouts::list))
                    .route(web::post().to(optouts::add))
                    .default_service(web::to(not_allowed("GET, POST"))),
            )
            .service(
                web::resource("/stores/{id}/optouts/{phone}")
                    .route(web::delete().to(optouts::remove))
                    .default_service(web::to(not_allowed("DELETE"))),
            )
            .service(
                web::resource("/jobs")
                    .route(web::get().to(list_jobs))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/jobs/{id}")
                    .route(web::get().to(get_job))
                    .default_service(web::to(not_allowed("GET"))),
            )
            .service(
                web::resource("/jobs/{id}/replay")
                    .route(web::post().to(replay_job))
                    .default_service(web::to(not_allowed("POST"))),
            )
            .default_service(web::to(no_such_route)),
    );
}

#[derive(OpenApi)]
#[openapi(
    info(title = "shopbip admin API", description = "Jobs and stores of a shopbip deployment. Every route needs `Authorization: Bearer <admin.token>` (the scheme in any case); phone numbers are masked. Every error is JSON `{\"error\": \"…\"}`. Times are RFC 3339 UTC strings with milliseconds under `…_at`, with the epoch milliseconds beside them under `…_at_ms`. With `admin.token` empty the admin API does not exist: every path answers 404."),
    paths(openapi, list_stores, optouts::list, optouts::add, optouts::remove, list_jobs, get_job, replay_job),
    components(schemas(StoreView, ReconcileView, JobPage, JobSummary, JobDetail, DeliveryView, MessageStatusView, OrderView, PaymentView, ReplayAnswer, ErrorAnswer, optouts::OptOutView, optouts::OptOutRequest, optouts::OptOutAnswer)),
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
    /// When the last webhook was stored for the store (RFC 3339).
    pub last_webhook_at: Option<String>,
    pub last_webhook_at_ms: Option<i64>,
    /// When the last message was sent (RFC 3339).
    pub last_send_at: Option<String>,
    pub last_send_at_ms: Option<i64>,
    /// Jobs by state.
    pub jobs: BTreeMap<String, u64>,
    /// Webhooks refused for their signature since this process started.
    pub failed_signatures: u64,
    /// The reconciliation sweep (`[reconcile]`) and the shop's webhook subscription.
    pub reconcile: ReconcileView,
}

/// A store's reconciliation sweep and what its platform says of our webhook subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconcileView {
    /// `[reconcile] enabled`.
    pub enabled: bool,
    /// Every order changed before this has been listed and stored (RFC 3339); absent: never
    /// swept.
    pub watermark_at: Option<String>,
    pub watermark_at_ms: Option<i64>,
    /// When the last sweep ended (RFC 3339).
    pub last_sweep_at: Option<String>,
    pub last_sweep_at_ms: Option<i64>,
    /// Why the last sweep stopped short; absent when it listed everything.
    pub last_error: Option<String>,
    /// When the next sweep is due (RFC 3339).
    pub next_sweep_at: Option<String>,
    /// Orders the sweeps found that no webhook had brought, in all.
    pub recovered: i64,
    /// Whether the shop's platform shows our webhook subscription active; absent: not
    /// checked (or the platform cannot tell).
    pub webhook_subscription_ok: Option<bool>,
    /// What was found, with the fix when it is not ok.
    pub webhook_subscription: Option<String>,
}

fn reconcile_view(enabled: bool, r: Option<crate::jobs::SweepRecord>) -> ReconcileView {
    let r = r.unwrap_or_default();
    ReconcileView {
        enabled,
        watermark_at: r.watermark.map(view::rfc3339_ms),
        watermark_at_ms: r.watermark,
        last_sweep_at: r.last_finished_at.map(view::rfc3339_ms),
        last_sweep_at_ms: r.last_finished_at,
        last_error: r.last_error,
        next_sweep_at: (enabled && r.next_at > 0).then(|| view::rfc3339_ms(r.next_at)),
        recovered: r.recovered_total,
        webhook_subscription_ok: r.subscription_ok.map(|ok| ok == 1),
        webhook_subscription: r.subscription_detail,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobSummary>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayAnswer {
    /// `requeued`.
    pub status: String,
    pub job: i64,
}

/// The answer to a method a route does not take.
fn not_allowed(
    allowed: &'static str,
) -> impl Fn(HttpRequest) -> std::future::Ready<HttpResponse> + Clone + 'static {
    move |req: HttpRequest| {
        let mut answer = error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!(
                "{} is not allowed on {} (allowed: {allowed})",
                req.method(),
                req.match_pattern().unwrap_or_else(|| req.path().to_owned())
            ),
        );
        answer
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allowed));
        std::future::ready(answer)
    }
}

async fn no_such_route(req: HttpRequest) -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "no admin route {} {}; the routes are in /admin/openapi.json",
            req.method(),
            quoted(req.path())
        ),
    )
}

fn db_error(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "admin API: job store error");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the job store is unavailable",
    )
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serialises")
});

/// This document.

#[utoipa::path(
    get,
    path = "/admin/openapi.json",
    responses(
        (status = 200, body = Object, description = "The OpenAPI 3.1 document of the admin API"),
        (status = 401, body = ErrorAnswer, description = "No or a wrong bearer token"),
        (status = 404, body = ErrorAnswer, description = "The admin API is off (`admin.token` is empty)")
    ),
    security(("bearer" = []))
)]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(header::ContentType::json())
        .body(DOCUMENT.as_str())
}

/// Every configured store with its recent activity.
#[utoipa::path(
    get,
    path = "/admin/stores",
    responses(
        (status = 200, body = [StoreView], description = "Every configured store"),
        (status = 401, body = ErrorAnswer, description = "No or a wrong bearer token"),
        (status = 404, body = ErrorAnswer, description = "The admin API is off (`admin.token` is empty)"),
        (status = 503, body = ErrorAnswer, description = "The job store does not answer")
    ),
    security(("bearer" = []))
)]
async fn list_stores(state: web::Data<AppState>) -> HttpResponse {
    let stats = match state.reads.store_stats().await {
        Ok(s) => s,
        Err(e) => return db_error(e),
    };
    let failures = state.signature_failures();
    let registry = state.stores.load();
    let mut sweeps = std::collections::HashMap::new();
    for s in registry.iter() {
        match state.sweeps.sweep_record(s.id.as_str()).await {
            Ok(r) => sweeps.insert(s.id.to_string(), r),
            Err(e) => return db_error(e),
        };
    }
    let stores: Vec<StoreView> = registry
        .iter()
        .map(|s| {
            let st = stats.get(s.id.as_str()).cloned().unwrap_or_default();
            let sweep = sweeps.remove(s.id.as_str()).flatten();
            StoreView {
                id: s.id.to_string(),
                platform: s.platform.to_string(),
                environment: format!("{:?}", s.environment).to_lowercase(),
                last_webhook_at: st.last_webhook_at.map(view::rfc3339_ms),
                last_webhook_at_ms: st.last_webhook_at,
                last_send_at: st.last_send_at.map(view::rfc3339_ms),
                last_send_at_ms: st.last_send_at,
                jobs: st.jobs,
                failed_signatures: failures.get(s.id.as_str()).copied().unwrap_or(0),
                reconcile: reconcile_view(s.reconcile.enabled, sweep),
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
    responses(
        (status = 200, body = JobPage, description = "One page of jobs, newest first"),
        (status = 400, body = ErrorAnswer, description = "A malformed, unknown or repeated query parameter"),
        (status = 401, body = ErrorAnswer, description = "No or a wrong bearer token"),
        (status = 404, body = ErrorAnswer, description = "The admin API is off (`admin.token` is empty)"),
        (status = 503, body = ErrorAnswer, description = "The job store does not answer")
    ),
    security(("bearer" = []))
)]
async fn list_jobs(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let filter = match job_filter(req.query_string()) {
        Ok(f) => f,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    match state.reads.list(&filter).await {
        Ok(jobs) => {
            let next_cursor = (jobs.len() as u32 == filter.limit)
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

/// One job: its event, the delivery it came from, its order (phone masked), its rule and
/// every step's result.
#[utoipa::path(
    get,
    path = "/admin/jobs/{id}",
    params(("id" = i64, Path, description = "Job id", minimum = 1)),
    responses(
        (status = 200, body = JobDetail, description = "The job"),
        (status = 400, body = ErrorAnswer, description = "The id is not a positive whole number"),
        (status = 401, body = ErrorAnswer, description = "No or a wrong bearer token"),
        (status = 404, body = ErrorAnswer, description = "No such job, or the admin API is off"),
        (status = 503, body = ErrorAnswer, description = "The job store does not answer")
    ),
    security(("bearer" = []))
)]
async fn get_job(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let id = match job_id(&req) {
        Ok(id) => id,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    match state.reads.get(id).await {
        Ok(Some(job)) => {
            let event = state.reads.event(job.event_id).await.ok().flatten();
            HttpResponse::Ok().json(view::detail(&job, event))
        }
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no job {id}")),
        Err(e) => db_error(e),
    }
}

/// Runs a done, dead or skipped job again: the one way an order gets a second message.
#[utoipa::path(
    post,
    path = "/admin/jobs/{id}/replay",
    params(("id" = i64, Path, description = "Job id", minimum = 1)),
    responses(
        (status = 200, body = ReplayAnswer, description = "The job is queued to run again"),
        (status = 400, body = ErrorAnswer, description = "The id is not a positive whole number"),
        (status = 401, body = ErrorAnswer, description = "No or a wrong bearer token"),
        (status = 404, body = ErrorAnswer, description = "No such job, or the admin API is off"),
        (status = 409, body = ErrorAnswer, description = "The job is still queued or running"),
        (status = 503, body = ErrorAnswer, description = "The job store does not answer")
    ),
    security(("bearer" = []))
)]
async fn replay_job(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let id = match job_id(&req) {
        Ok(id) => id,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    match state.queue.replay(id).await {
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
        Ok(ReplayOutcome::NotFound) => error(StatusCode::NOT_FOUND, &format!("no job {id}")),
        Ok(ReplayOutcome::NotFinished(s)) => error(
            StatusCode::CONFLICT,
            &format!("job {id} is {s}: only done, dead or skipped jobs can be replayed"),
        ),
        Err(e) => db_error(e),
    }
}
