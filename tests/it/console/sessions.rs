//! The session store on the backend the run uses (SQLite here, PostgreSQL in `.ci/run`'s
//! PostgreSQL step, through `common::db::fresh_url`).

use shopbip::jobs::{RetryPolicy, SessionRecord};

use crate::common::db;

fn record(hash: &str, user: &str, expires_at: i64) -> SessionRecord {
    SessionRecord {
        token_sha256: hash.into(),
        user_name: user.into(),
        csrf_token: format!("csrf-{hash}"),
        created_at: 1_000,
        expires_at,
    }
}

#[tokio::test]
async fn sessions_are_created_read_until_they_expire_deleted_and_purged() {
    let dir = tempfile::tempdir().unwrap();
    let url = db::fresh_url(&dir.path().join("data")).await;
    let store = shopbip::jobs::open(&url, RetryPolicy::default())
        .await
        .unwrap();
    let live = record("aa", "ana", 10_000);
    store.create_session(&live).await.unwrap();
    store
        .create_session(&record("bb", "bo", 5_000))
        .await
        .unwrap();
    store
        .create_session(&record("cc", "cy", 6_000))
        .await
        .unwrap();

    assert_eq!(
        store.session("aa", 2_000).await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        store.session("bb", 5_000).await.unwrap(),
        None,
        "expired at 5 000"
    );
    assert_eq!(store.session("zz", 2_000).await.unwrap(), None);

    assert_eq!(store.purge_expired_sessions(5_500).await.unwrap(), 1);
    assert_eq!(
        store.session("cc", 5_500).await.unwrap().unwrap().user_name,
        "cy"
    );
    assert!(store.delete_session("cc").await.unwrap());
    assert!(!store.delete_session("cc").await.unwrap());
    assert_eq!(store.session("cc", 2_000).await.unwrap(), None);
    // Reopened (another replica, a restart): the session is still there.
    store.close().await;
    let again = shopbip::jobs::open(&url, RetryPolicy::default())
        .await
        .unwrap();
    assert_eq!(again.session("aa", 2_000).await.unwrap(), Some(live));
    assert_eq!(
        db::scalar(&url, "SELECT COUNT(*) FROM console_sessions").await,
        1
    );
    again.close().await;
}
