//! Trusted devices, the defence against lockout by others (OWASP's device cookies). A browser that
//! completes a sign-in gets a device cookie: a random 256-bit token, of which only the SHA-256 is
//! stored, bound to the account, and replaced by a new one at every sign-in. What trust allows:
//!
//! - a lock caused by failures from other clients does not stop a trusted browser: with the right
//!   password it signs in (through the code step where that applies);
//! - a wrong password from a trusted browser counts against that browser alone, never toward the
//!   account's lock; at the lockout threshold the browser's trust ends, and it is then a stranger;
//! - a trusted browser unused for the device lifetime is a stranger again.
//!
//! Pure: the rule takes the device's state and the time.

use super::lockout::{LockState, LockoutPolicy};
use super::sessions::SessionToken;
use app::ssr::{CookieNames, DEVICE_COOKIE};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevicePolicy {
    /// How long a trusted browser stays trusted without a sign-in.
    pub lifetime: Duration,
    /// The lockout rule, applied to the browser's own failures.
    pub lockout: LockoutPolicy,
    pub cookies: CookieNames,
}

/// What a wrong password from a trusted browser did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceFailure {
    /// Counted against the browser: `failures` so far.
    Counted { failures: u32 },
    /// The browser reached the threshold: its trust ends.
    TrustEnded,
}

impl DevicePolicy {
    /// Whether a browser last used at `last_used_at` is still trusted at `now`.
    pub fn is_trusted(&self, last_used_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        now - last_used_at < self.lifetime
    }

    /// A wrong password from a browser with `failures` before it.
    pub fn after_failure(&self, failures: u32, now: OffsetDateTime) -> DeviceFailure {
        match self
            .lockout
            .after_failure(LockState::Open { failures }, now)
        {
            (LockState::Open { failures }, _) => DeviceFailure::Counted { failures },
            (LockState::Locked { .. }, _) => DeviceFailure::TrustEnded,
        }
    }

    /// The `Set-Cookie` value that gives the browser its device token.
    pub fn set_cookie(&self, token: &SessionToken) -> String {
        self.cookies
            .set_cookie(DEVICE_COOKIE, token.as_str(), self.lifetime.whole_seconds())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-30 10:00 UTC);

    fn policy() -> DevicePolicy {
        DevicePolicy {
            lifetime: Duration::days(90),
            lockout: LockoutPolicy::new(3),
            cookies: CookieNames::default(),
        }
    }

    #[test]
    fn a_browser_loses_its_trust_at_its_own_third_wrong_password() {
        let policy = policy();
        assert_eq!(
            policy.after_failure(0, T0),
            DeviceFailure::Counted { failures: 1 }
        );
        assert_eq!(
            policy.after_failure(1, T0),
            DeviceFailure::Counted { failures: 2 }
        );
        assert_eq!(policy.after_failure(2, T0), DeviceFailure::TrustEnded);
    }

    #[test]
    fn trust_lapses_after_the_lifetime_without_a_sign_in() {
        let policy = policy();
        assert!(policy.is_trusted(T0, T0 + Duration::days(89)));
        assert!(!policy.is_trusted(T0, T0 + Duration::days(90)));
    }

    #[test]
    fn the_cookie_is_http_only_and_named_for_https() {
        let token = SessionToken::generate();
        let cookie = policy().set_cookie(&token);
        assert!(cookie.starts_with("latchkey_device="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("Max-Age=7776000"));
        let https = DevicePolicy {
            cookies: CookieNames { https: true },
            ..policy()
        };
        let cookie = https.set_cookie(&token);
        assert!(cookie.starts_with("__Host-latchkey_device="), "{cookie}");
        assert!(cookie.ends_with("; Secure"));
    }
}
