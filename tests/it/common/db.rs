//! A fresh database per test: a SQLite file in the test's folder, or, when
//! `SHOPBIP_TEST_POSTGRES` names a server (`postgres://postgres@127.0.0.1:5432`), a new
//! PostgreSQL database on it (`.ci/run` drops them afterwards).
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn postgres_server() -> Option<String> {
    std::env::var("SHOPBIP_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('/').to_owned())
}

/// The server of a test that needs PostgreSQL (ignored by default, run by `.ci/run`'s
/// PostgreSQL step): a test run without it fails rather than passes having checked nothing.
pub fn require_postgres() -> String {
    postgres_server().unwrap_or_else(|| {
        panic!(
            "this test needs PostgreSQL: set SHOPBIP_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432"
        )
    })
}

pub async fn fresh_url(dir: &Path) -> String {
    match postgres_server() {
        Some(server) => {
            let name = format!(
                "shopbip_t_{}_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::SeqCst),
                rand::random::<u32>()
            );
            let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
                .await
                .expect("the test PostgreSQL server answers");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            format!("{server}/{name}")
        }
        None => format!("sqlite://{}", dir.join("shopbip.db").display()),
    }
}

/// Binds `$pool` to a pool of whichever backend `$url` names, runs `$body`, closes the pool.
macro_rules! with_pool {
    ($url:expr, |$pool:ident| $body:expr) => {
        if $url.starts_with("sqlite:") {
            let $pool = sqlx::SqlitePool::connect($url).await.unwrap();
            let out = $body;
            $pool.close().await;
            out
        } else {
            let $pool = sqlx::PgPool::connect($url).await.unwrap();
            let out = $body;
            $pool.close().await;
            out
        }
    };
}
pub(crate) use with_pool;

/// One number from SQL, on whichever backend `url` names.
pub async fn scalar(url: &str, sql: &str) -> i64 {
    with_pool!(url, |pool| {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&pool)
            .await
            .unwrap();
        n
    })
}

pub async fn exec(url: &str, sql: &str) {
    with_pool!(url, |pool| {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    })
}

pub async fn text(url: &str, sql: &str) -> String {
    with_pool!(url, |pool| {
        let s: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&pool)
            .await
            .unwrap();
        s
    })
}
