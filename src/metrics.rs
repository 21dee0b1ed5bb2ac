//! Prometheus metrics: one process-wide recorder, rendered by `GET /metrics`.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const WEBHOOKS: &str = "shopbip_webhooks_total";
pub const WEBHOOK_SECONDS: &str = "shopbip_webhook_seconds";
pub const JOBS: &str = "shopbip_jobs";
pub const JOB_STEP_SECONDS: &str = "shopbip_job_step_seconds";
pub const JOBS_FINISHED: &str = "shopbip_jobs_finished_total";
pub const JOB_RETRIES: &str = "shopbip_job_retries_total";
pub const JOBS_DEAD: &str = "shopbip_jobs_dead_total";
pub const UPSTREAM_CALLS: &str = "shopbip_upstream_calls_total";
pub const UPSTREAM_SECONDS: &str = "shopbip_upstream_seconds";
pub const LOGINS: &str = "shopbip_buzzbip_logins_total";
pub const SENDS: &str = "shopbip_messages_sent_total";
pub const CONFIG_RELOADS: &str = "shopbip_config_reloads_total";
pub const MESSAGE_STATUS: &str = "shopbip_message_status_total";
pub const TIME_TO_DELIVERED: &str = "shopbip_message_time_to_delivered_seconds";
pub const BUZZBIP_EVENTS: &str = "shopbip_buzzbip_events_total";
pub const WRITEBACKS: &str = "shopbip_writebacks_total";
pub const RECONCILE_RECOVERED: &str = "shopbip_reconcile_recovered_total";
pub const RECONCILE_SWEEPS: &str = "shopbip_reconcile_sweeps_total";
pub const WEBHOOK_SUBSCRIPTION_OK: &str = "shopbip_webhook_subscription_ok";

/// Installs the recorder on first call (later calls, e.g. several apps in one test process,
/// share it) and returns the handle that renders the exposition text.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let buckets = [
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ];
        let recorder = PrometheusBuilder::new()
            .set_buckets(&buckets)
            .expect("static buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; ours then stays unused.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        WEBHOOKS,
        "Webhooks received, by store and outcome (accepted, duplicate, ignored, ping, bad_signature, unknown_store, bad_body, store_error)"
    );
    describe_histogram!(WEBHOOK_SECONDS, "Time to answer a webhook");
    describe_gauge!(
        JOBS,
        "Jobs by state, read from the job store at scrape time"
    );
    describe_histogram!(
        JOB_STEP_SECONDS,
        "Duration of each job step (phone, invoice, upload, send)"
    );
    describe_counter!(
        JOBS_FINISHED,
        "Job attempts by store and outcome (done, skipped, dead, retry, paced)"
    );
    describe_counter!(
        JOB_RETRIES,
        "Job attempts that failed transiently and were rescheduled"
    );
    describe_counter!(JOBS_DEAD, "Jobs that went dead");
    describe_counter!(
        UPSTREAM_CALLS,
        "Buzzbip calls by endpoint and outcome (success, transient, permanent, token_refused)"
    );
    describe_histogram!(UPSTREAM_SECONDS, "Buzzbip call latency by endpoint");
    describe_counter!(LOGINS, "Buzzbip logins by outcome");
    describe_counter!(SENDS, "WhatsApp messages Buzzbip accepted, by store");
    describe_counter!(
        CONFIG_RELOADS,
        "Store profile reloads by outcome (applied, refused)"
    );
    describe_counter!(
        MESSAGE_STATUS,
        "Delivery states messages reached, by store and status (accepted, sent, delivered, read, failed, unknown)"
    );
    describe_histogram!(
        TIME_TO_DELIVERED,
        "Time from the send to delivered (or read, when delivered was never seen), by store"
    );
    describe_counter!(
        WRITEBACKS,
        "Outcomes written back on the shop's orders, by store and outcome (done, retry, failed, skipped)"
    );
    describe_counter!(
        BUZZBIP_EVENTS,
        "Events Buzzbip posted, by store and outcome (stored, duplicate, bad_signature, unknown_store, bad_body, store_error)"
    );
    describe_counter!(
        RECONCILE_RECOVERED,
        "Orders a reconciliation sweep found that no webhook had brought, by store"
    );
    describe_counter!(
        RECONCILE_SWEEPS,
        "Reconciliation sweeps by store and outcome (done, failed, lost_lease)"
    );
    describe_gauge!(
        WEBHOOK_SUBSCRIPTION_OK,
        "1 while the shop's platform shows our webhook subscription active, 0 when it is disabled, paused or missing, by store"
    );
}
