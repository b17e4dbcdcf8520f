//! Session rules: a random 256-bit token lives only in the browser's cookie, its SHA-256 only in the
//! database; a session ends after an idle period or an absolute lifetime, whichever comes first.

use app::ssr::{CookieNames, PENDING_COOKIE, SESSION_COOKIE};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// How often `last_seen_at` is written; reads within this of the last write skip the write.
const TOUCH_INTERVAL: Duration = Duration::minutes(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    /// Mark the cookie `Secure` (the public URL is HTTPS).
    pub secure_cookie: bool,
}

/// A session token as the browser holds it.
pub struct SessionToken(String);

/// What the database holds: SHA-256 of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// Valid; write the new `last_seen_at` if `touch`.
    Valid { touch: bool },
    /// Past its idle or absolute limit: delete it.
    Expired,
}

impl SessionToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn hash(&self) -> TokenHash {
        hash_token(&self.0)
    }

    /// The token as the cookie carries it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hashes a token as received in a cookie (whatever its shape).
pub fn hash_token(raw: &str) -> TokenHash {
    TokenHash(Sha256::digest(raw.as_bytes()).into())
}

impl SessionPolicy {
    pub fn check(
        &self,
        created_at: OffsetDateTime,
        last_seen_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> SessionCheck {
        if now - created_at >= self.absolute_timeout || now - last_seen_at >= self.idle_timeout {
            SessionCheck::Expired
        } else {
            SessionCheck::Valid {
                touch: now - last_seen_at >= TOUCH_INTERVAL,
            }
        }
    }

    /// What the cookies are called: with the `__Host-` prefix when they are `Secure`.
    pub fn cookie_names(&self) -> CookieNames {
        CookieNames {
            https: self.secure_cookie,
        }
    }

    /// The `Set-Cookie` value that gives the browser `token`.
    pub fn set_cookie(&self, token: &SessionToken) -> String {
        self.cookie_names().set_cookie(
            SESSION_COOKIE,
            &token.0,
            self.absolute_timeout.whole_seconds(),
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> String {
        self.cookie_names().set_cookie(SESSION_COOKIE, "", 0)
    }

    /// The `Set-Cookie` value that gives the browser a pending sign-in's `token` for `lifetime`.
    pub fn set_pending_cookie(&self, token: &SessionToken, lifetime: Duration) -> String {
        self.cookie_names()
            .set_cookie(PENDING_COOKIE, &token.0, lifetime.whole_seconds())
    }

    /// The `Set-Cookie` value that removes the pending sign-in cookie.
    pub fn clear_pending_cookie(&self) -> String {
        self.cookie_names().set_cookie(PENDING_COOKIE, "", 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn policy() -> SessionPolicy {
        SessionPolicy {
            idle_timeout: Duration::hours(1),
            absolute_timeout: Duration::hours(12),
            secure_cookie: false,
        }
    }

    #[test]
    fn a_session_ends_after_the_idle_timeout() {
        let seen = T0 + Duration::hours(2);
        assert_eq!(
            policy().check(T0, seen, seen + Duration::minutes(59)),
            SessionCheck::Valid { touch: true }
        );
        assert_eq!(
            policy().check(T0, seen, seen + Duration::hours(1)),
            SessionCheck::Expired
        );
    }

    #[test]
    fn a_session_ends_at_the_absolute_lifetime_however_active() {
        let now = T0 + Duration::hours(12);
        assert_eq!(
            policy().check(T0, now - Duration::seconds(1), now),
            SessionCheck::Expired
        );
    }

    #[test]
    fn recent_activity_is_not_written_again() {
        assert_eq!(
            policy().check(T0, T0, T0 + Duration::seconds(30)),
            SessionCheck::Valid { touch: false }
        );
    }

    #[test]
    fn tokens_are_256_bit_random_and_only_their_hash_is_kept() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&a.0).map(|bytes| bytes.len()).ok(),
            Some(32)
        );
        assert_ne!(a.0, b.0);
        assert_eq!(a.hash(), hash_token(&a.0));
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_only_under_https() {
        let token = SessionToken::generate();
        let cookie = policy().set_cookie(&token);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        assert!(!cookie.contains("Secure"));
        let https = SessionPolicy {
            secure_cookie: true,
            ..policy()
        };
        assert!(https.set_cookie(&token).ends_with("; Secure"));
        assert!(https.clear_cookie().contains("Max-Age=0"));
    }
}
