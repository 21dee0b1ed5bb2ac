//! `shopbip serve` as a child process of its own, for the tests that must kill it (crash) or
//! run several on one database (replicas): the real binary, configured by environment only.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `shopbip serve`; killed when dropped, so a failing test leaves no process behind.
pub struct Serve {
    pub child: Child,
    pub port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free on loopback now (the child binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `shopbip serve` on `port` with `dir/plugin-config` and database `db`: short leases
/// and polls so a test sees recovery in seconds, sends paced at `rate` per second.
pub fn serve(dir: &Path, port: u16, db: &str, rate: u32) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_shopbip"))
        .arg("serve")
        .env("SHOPBIP__SERVER__PORT", port.to_string())
        .env("SHOPBIP__STORES__DIR", dir.join("plugin-config"))
        .env("SHOPBIP__DATABASE__URL", db)
        .env("SHOPBIP__WORKER__LEASE_SECS", "3")
        .env("SHOPBIP__WORKER__POLL_INTERVAL_MS", "20")
        .env("SHOPBIP__WORKER__RATE_PER_SECOND", rate.to_string())
        .env("SHOPBIP__WORKER__RETRY_BASE_MS", "200")
        .env("SHOPBIP__LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Serve { child, port }
}

impl Serve {
    /// Waits until `/readyz` answers 200 (the database is open and the stores are loaded).
    pub async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !reqwest::get(format!("http://127.0.0.1:{}/readyz", self.port))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            assert!(
                Instant::now() < deadline,
                "shopbip serve never became ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, as a crash or an OOM kill would end it: nothing of it runs after this.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}
