//! Console sessions on SQLite: writes through the writer thread like every other write (a
//! pooled connection would wait on the busy handler under a webhook flood), reads on the pool.

use async_trait::async_trait;

use super::{Arg, SqliteStore};
use crate::jobs::sessions::{DELETE_SESSION, GET_SESSION, INSERT_SESSION, PURGE_SESSIONS};
use crate::jobs::{SessionRecord, Sessions, StoreError};

#[async_trait]
impl Sessions for SqliteStore {
    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        self.update(
            INSERT_SESSION,
            vec![
                Arg::Text(s.token_sha256.clone()),
                Arg::Text(s.user_name.clone()),
                Arg::Text(s.csrf_token.clone()),
                Arg::Int(s.created_at),
                Arg::Int(s.expires_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        token_sha256: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        Ok(sqlx::query_as(GET_SESSION)
            .bind(token_sha256)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn delete_session(&self, token_sha256: &str) -> Result<bool, StoreError> {
        let changed = self
            .update(DELETE_SESSION, vec![Arg::Text(token_sha256.to_owned())])
            .await?;
        Ok(changed.rows > 0)
    }

    async fn purge_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        Ok(self.update(PURGE_SESSIONS, vec![Arg::Int(now)]).await?.rows)
    }
}
