//! Wall-clock time as the database stores it: milliseconds since the Unix epoch. A leaf module
//! so the job store, the worker and the sandbox agree on one clock without depending on each
//! other.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 if the system clock is before it.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
