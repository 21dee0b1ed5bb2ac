//! Console login sessions, kept in the database so replicas sharing PostgreSQL share them and a
//! logout ends a session everywhere. Only the SHA-256 of a session's token is stored: a copy of
//! the database does not let anyone in.

use async_trait::async_trait;

use super::StoreError;

/// One login, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRecord {
    /// Hex SHA-256 of the cookie's token.
    pub token_sha256: String,
    pub user_name: String,
    /// Every POST form of the session carries it.
    pub csrf_token: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub expires_at: i64,
}

#[async_trait]
pub trait Sessions: Send + Sync {
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// The session of this token hash, unless it has expired by `now` (epoch ms).
    async fn session(
        &self,
        token_sha256: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// Ends a session (logout); answers whether there was one.
    async fn delete_session(&self, token_sha256: &str) -> Result<bool, StoreError>;

    /// Deletes every session expired by `now`; answers how many.
    async fn purge_expired_sessions(&self, now: i64) -> Result<u64, StoreError>;
}

pub(crate) const INSERT_SESSION: &str = "INSERT INTO console_sessions \
     (token_sha256, user_name, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";

pub(crate) const GET_SESSION: &str = "SELECT token_sha256, user_name, csrf_token, created_at, \
     expires_at FROM console_sessions WHERE token_sha256 = $1 AND expires_at > $2";

pub(crate) const DELETE_SESSION: &str = "DELETE FROM console_sessions WHERE token_sha256 = $1";

pub(crate) const PURGE_SESSIONS: &str = "DELETE FROM console_sessions WHERE expires_at <= $1";
