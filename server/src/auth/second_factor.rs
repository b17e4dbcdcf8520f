//! When a code is asked for on top of a password or a session: the sign-in code policy (the
//! deployment's `SIGN_IN_CODE` combined with each account's own choice), the admin step-up
//! elevation and how long it lasts, and the pending step between a right password and the code
//! that completes a sign-in. Pure: time is passed in.

use crate::domain::CodeScope;
use time::{Duration, OffsetDateTime};

/// The deployment-wide default for a code at every sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInCodePolicy {
    /// Not asked unless the account holder turns it on.
    Off,
    /// Asked unless the account holder turns it off.
    On,
    /// Asked at every sign-in of every account; nobody can turn it off.
    Required,
}

impl SignInCodePolicy {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Self::Off),
            "on" => Some(Self::On),
            "required" => Some(Self::Required),
            _ => None,
        }
    }

    /// Whether an account whose own choice is `choice` (`None`: never chosen) is asked for a code
    /// when it signs in.
    pub fn applies(self, choice: Option<bool>) -> bool {
        match self {
            Self::Required => true,
            Self::On => choice.unwrap_or(true),
            Self::Off => choice.unwrap_or(false),
        }
    }

    /// Whether account holders may turn the code on or off themselves.
    pub fn account_may_choose(self) -> bool {
        self != Self::Required
    }
}

/// A right password whose sign-in is not finished: the code of `scope` must follow. Held by the
/// browser as a pending cookie; it expires with the code's lifetime and opens no session by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingSignIn {
    pub account_id: i64,
    pub scope: CodeScope,
    pub expires_at: OffsetDateTime,
}

impl PendingSignIn {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }
}

/// How long an admin step-up lasts, and whether a session's still does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElevationPolicy {
    pub lifetime: Duration,
}

impl ElevationPolicy {
    /// The end of an elevation granted at `now`.
    pub fn grant(self, now: OffsetDateTime) -> OffsetDateTime {
        now + self.lifetime
    }

    /// Whether a session elevated until `until` may use the admin area at `now`.
    pub fn is_elevated(until: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
        until.is_some_and(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    #[test]
    fn the_deployment_default_applies_until_the_account_chooses() {
        assert!(!SignInCodePolicy::Off.applies(None));
        assert!(SignInCodePolicy::Off.applies(Some(true)));
        assert!(SignInCodePolicy::On.applies(None));
        assert!(!SignInCodePolicy::On.applies(Some(false)));
        assert!(SignInCodePolicy::On.applies(Some(true)));
    }

    #[test]
    fn required_cannot_be_turned_off() {
        for choice in [None, Some(false), Some(true)] {
            assert!(SignInCodePolicy::Required.applies(choice));
        }
        assert!(!SignInCodePolicy::Required.account_may_choose());
        assert!(SignInCodePolicy::On.account_may_choose());
    }

    #[test]
    fn policies_parse_from_their_names_only() {
        assert_eq!(
            SignInCodePolicy::parse(" Required "),
            Some(SignInCodePolicy::Required)
        );
        assert_eq!(SignInCodePolicy::parse("sometimes"), None);
    }

    #[test]
    fn an_elevation_ends_exactly_at_its_lifetime() {
        let policy = ElevationPolicy {
            lifetime: Duration::minutes(10),
        };
        let until = policy.grant(T0);
        assert!(ElevationPolicy::is_elevated(Some(until), T0));
        assert!(ElevationPolicy::is_elevated(
            Some(until),
            T0 + Duration::minutes(10) - Duration::milliseconds(1)
        ));
        assert!(!ElevationPolicy::is_elevated(
            Some(until),
            T0 + Duration::minutes(10)
        ));
        assert!(!ElevationPolicy::is_elevated(None, T0));
    }

    #[test]
    fn a_pending_sign_in_expires() {
        let pending = PendingSignIn {
            account_id: 1,
            scope: CodeScope::SignIn,
            expires_at: T0,
        };
        assert!(pending.is_live(T0 - Duration::seconds(1)));
        assert!(!pending.is_live(T0));
    }
}
