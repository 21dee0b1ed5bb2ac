//! One shared Buzzbip token per account, refreshed before it expires, with logins serialised so
//! a burst of concurrent sends causes a single login.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};

use super::error::BuzzbipError;

/// Buzzbip documents 3600 s; used when the token carries no `exp`.
const DOCUMENTED_LIFETIME: Duration = Duration::from_secs(3600);
/// Refresh at 80 % of the lifetime so a call never leaves with a token about to die in flight.
const REFRESH_FRACTION: f64 = 0.8;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AccountKey {
    pub base_url: String,
    pub username: String,
}

/// Tokens of every Buzzbip account this process talks to. Clone it freely: clones share the
/// cache, so every client built from it shares one token per account.
#[derive(Clone, Default)]
pub struct TokenCache {
    slots: Arc<Mutex<HashMap<AccountKey, Arc<AccountSlot>>>>,
}

impl TokenCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn slot(&self, key: AccountKey) -> Arc<AccountSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key).or_default().clone()
    }
}

#[derive(Default)]
pub(crate) struct AccountSlot {
    // An async mutex held across the login call itself: that is what serialises logins.
    state: tokio::sync::Mutex<Option<CachedToken>>,
}

#[derive(Clone)]
pub(crate) struct CachedToken {
    pub token: SecretString,
    pub generation: u64,
    refresh_at: Instant,
}

impl AccountSlot {
    /// The current token, logging in first when there is none, it is due for refresh, or it is
    /// the very one (`rejected`) that Buzzbip just refused.
    pub async fn token<F, Fut>(
        &self,
        rejected: Option<u64>,
        login: F,
    ) -> Result<CachedToken, BuzzbipError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, BuzzbipError>>,
    {
        let mut state = self.state.lock().await;
        if let Some(current) = state.as_ref() {
            let due = Instant::now() >= current.refresh_at;
            if !due && rejected != Some(current.generation) {
                return Ok(current.clone());
            }
        }
        let token = login().await?;
        let lifetime = token_lifetime(token.expose_secret(), SystemTime::now());
        let fresh = CachedToken {
            generation: state.as_ref().map_or(1, |t| t.generation + 1),
            refresh_at: Instant::now() + lifetime.mul_f64(REFRESH_FRACTION),
            token,
        };
        *state = Some(fresh.clone());
        Ok(fresh)
    }
}

/// How long a token lives, read from its JWT claims: `exp - iat` when both are there (immune to
/// clock skew between us and Buzzbip), else `exp - now`, else the documented hour.
pub(crate) fn token_lifetime(token: &str, now: SystemTime) -> Duration {
    let Some(claims) = jwt_claims(token) else {
        return DOCUMENTED_LIFETIME;
    };
    let exp = claims.get("exp").and_then(serde_json::Value::as_f64);
    let iat = claims.get("iat").and_then(serde_json::Value::as_f64);
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let secs = match (exp, iat) {
        (Some(exp), Some(iat)) if exp > iat => exp - iat,
        (Some(exp), _) => exp - now_secs,
        _ => return DOCUMENTED_LIFETIME,
    };
    // A token already expired by our clock is still tried once; Buzzbip's 401 then renews it.
    Duration::from_secs_f64(secs.clamp(1.0, 7.0 * 24.0 * 3600.0))
}

fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn lifetime_comes_from_exp_and_iat() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(
            token_lifetime(&jwt(r#"{"iat":500,"exp":800}"#), now),
            Duration::from_secs(300)
        );
        assert_eq!(
            token_lifetime(&jwt(r#"{"exp":1600}"#), now),
            Duration::from_secs(600)
        );
        assert_eq!(token_lifetime("opaque-token", now), DOCUMENTED_LIFETIME);
        assert_eq!(
            token_lifetime(&jwt(r#"{"exp":10}"#), now),
            Duration::from_secs(1)
        );
    }

    #[tokio::test]
    async fn a_rejected_token_is_replaced_once_and_a_fresh_one_reused() {
        let slot = AccountSlot::default();
        let logins = AtomicU32::new(0);
        let login = || async {
            logins.fetch_add(1, Ordering::SeqCst);
            Ok(SecretString::from(jwt(r#"{"iat":0,"exp":3600}"#)))
        };
        let a = slot.token(None, login).await.unwrap();
        let b = slot.token(None, login).await.unwrap();
        assert_eq!(a.generation, b.generation);
        let c = slot.token(Some(a.generation), login).await.unwrap();
        assert_eq!(c.generation, a.generation + 1);
        // A second caller reporting the same old generation gets the new token, no new login.
        let d = slot.token(Some(a.generation), login).await.unwrap();
        assert_eq!(d.generation, c.generation);
        assert_eq!(logins.load(Ordering::SeqCst), 2);
    }
}
