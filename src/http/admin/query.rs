//! What a caller puts in an admin URL (the job id, the jobs query), parsed with named errors.

use actix_web::HttpRequest;
use utoipa::IntoParams;

use crate::jobs::{JobFilter, JobState};

/// The query of `GET /admin/jobs`. An empty value (`store=`) is the same as none; an unknown
/// or repeated parameter is a 400.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only this store's jobs.
    pub store: Option<String>,
    /// Only jobs in this state: queued, running, done, skipped or dead.
    pub state: Option<String>,
    /// Only this order id.
    pub order: Option<String>,
    /// Page size: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// A caller's value quoted in an error message: at most 64 characters, control characters
/// escaped.
pub(super) fn quoted(value: &str) -> String {
    let cut: String = value.chars().take(64).collect();
    let more = if cut.len() < value.len() { "…" } else { "" };
    format!("{cut:?}{more}")
}

/// The job id of `/admin/jobs/{id}…`, or the reason it is refused.
pub(super) fn job_id(req: &HttpRequest) -> Result<i64, String> {
    let raw = req.match_info().get("id").unwrap_or_default();
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(format!(
            "the job id must be a positive whole number, not {}",
            quoted(raw)
        )),
    }
}

/// The query of `GET /admin/jobs` as a filter, or the reason it is refused.
pub(super) fn job_filter(query: &str) -> Result<JobFilter, String> {
    let mut filter = JobFilter {
        limit: DEFAULT_LIMIT,
        ..JobFilter::default()
    };
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if seen.iter().any(|k| *k == key) {
            return Err(format!(
                "the query parameter {} is given twice",
                quoted(&key)
            ));
        }
        seen.push(key.to_string());
        if value.is_empty() && matches!(&*key, "store" | "state" | "order" | "limit" | "cursor") {
            continue;
        }
        match &*key {
            "store" => filter.store_id = Some(value.into_owned()),
            "order" => filter.order_id = Some(value.into_owned()),
            "state" => {
                filter.state = Some(value.parse::<JobState>().map_err(|e| {
                    format!("{e}: the states are queued, running, done, skipped and dead")
                })?)
            }
            "limit" => {
                filter.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "limit must be a whole number from 1 to {MAX_LIMIT}, not {}",
                            quoted(&value)
                        )
                    })?
            }
            "cursor" => {
                filter.before_id = Some(value.parse::<i64>().map_err(|_| {
                    format!(
                        "cursor must be the next_cursor of a previous page, not {}",
                        quoted(&value)
                    )
                })?)
            }
            other => {
                return Err(format!(
                    "unknown query parameter {} (known: store, state, order, limit, cursor)",
                    quoted(other)
                ));
            }
        }
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jobs_query_is_parsed_with_named_errors() {
        let f = job_filter("store=acme&state=dead&order=5120&limit=10&cursor=99").unwrap();
        assert_eq!(f.store_id.as_deref(), Some("acme"));
        assert_eq!(f.state, Some(JobState::Dead));
        assert_eq!(f.order_id.as_deref(), Some("5120"));
        assert_eq!((f.limit, f.before_id), (10, Some(99)));
        let empty = job_filter("store=&state=&order=&limit=&cursor=").unwrap();
        assert_eq!(empty.limit, DEFAULT_LIMIT);
        assert!(empty.store_id.is_none() && empty.state.is_none());
        for (query, needle) in [
            ("limit=abc", "limit must be a whole number from 1 to 500"),
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("cursor=x", "cursor"),
            ("state=lost", "lost"),
            ("stat=dead", "unknown query parameter \"stat\""),
            ("limit=1&limit=2", "twice"),
        ] {
            let reason = job_filter(query).unwrap_err();
            assert!(reason.contains(needle), "{query}: {reason}");
        }
    }
}
