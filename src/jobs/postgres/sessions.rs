//! Console sessions on PostgreSQL: every replica reads and ends the same sessions.

use async_trait::async_trait;

use super::PgStore;
use crate::jobs::sessions::{DELETE_SESSION, GET_SESSION, INSERT_SESSION, PURGE_SESSIONS};
use crate::jobs::{SessionRecord, Sessions, StoreError};

#[async_trait]
impl Sessions for PgStore {
    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(INSERT_SESSION)
            .bind(&s.token_sha256)
            .bind(&s.user_name)
            .bind(&s.csrf_token)
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&self.pool)
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
        let done = sqlx::query(DELETE_SESSION)
            .bind(token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn purge_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(PURGE_SESSIONS)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
