-- Console logins (src/jobs/sessions.rs): only the SHA-256 of the cookie's token is kept.
CREATE TABLE console_sessions (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    user_name TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
