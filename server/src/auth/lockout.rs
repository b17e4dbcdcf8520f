//! The lockout rule: consecutive failed sign-ins are counted, and the one that reaches the limit
//! locks the account until a code (or a password reset) opens it. Pure: no I/O, time passed in.

use time::OffsetDateTime;

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Signing in is possible; `failures` wrong passwords were typed since the last success.
    Open { failures: u32 },
    /// Locked since the given time; the password is not even checked.
    Locked { since: OffsetDateTime },
}

impl LockState {
    pub fn is_locked(self) -> bool {
        matches!(self, Self::Locked { .. })
    }
}

/// What a failed sign-in did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Counted; `remaining` more failures lock the account.
    Counted { remaining: u32 },
    /// This failure locked the account: issue an unlock code and send it.
    JustLocked,
    /// The account was already locked; nothing changes and nothing is sent.
    AlreadyLocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    max_failures: u32,
}

impl LockoutPolicy {
    /// `max_failures` consecutive failures lock the account; at least 1.
    pub fn new(max_failures: u32) -> Self {
        Self {
            max_failures: max_failures.max(1),
        }
    }

    pub fn max_failures(self) -> u32 {
        self.max_failures
    }

    /// The state after a wrong password, and what that failure did.
    pub fn after_failure(
        self,
        state: LockState,
        now: OffsetDateTime,
    ) -> (LockState, FailureOutcome) {
        match state {
            LockState::Locked { .. } => (state, FailureOutcome::AlreadyLocked),
            LockState::Open { failures } => {
                let failures = failures.saturating_add(1);
                if failures >= self.max_failures {
                    (LockState::Locked { since: now }, FailureOutcome::JustLocked)
                } else {
                    (
                        LockState::Open { failures },
                        FailureOutcome::Counted {
                            remaining: self.max_failures - failures,
                        },
                    )
                }
            }
        }
    }

    /// The state after a correct password, or after an unlock or a password reset.
    pub fn cleared() -> LockState {
        LockState::Open { failures: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    #[test]
    fn the_third_consecutive_failure_locks_the_account() {
        let policy = LockoutPolicy::new(3);
        let state = LockoutPolicy::cleared();

        let (state, outcome) = policy.after_failure(state, T0);
        assert_eq!(outcome, FailureOutcome::Counted { remaining: 2 });
        let (state, outcome) = policy.after_failure(state, T0);
        assert_eq!(outcome, FailureOutcome::Counted { remaining: 1 });
        let (state, outcome) = policy.after_failure(state, T0);
        assert_eq!(outcome, FailureOutcome::JustLocked);
        assert_eq!(state, LockState::Locked { since: T0 });
    }

    #[test]
    fn failures_while_locked_change_nothing_and_send_nothing() {
        let policy = LockoutPolicy::new(3);
        let locked = LockState::Locked { since: T0 };
        let (state, outcome) = policy.after_failure(locked, T0 + time::Duration::minutes(5));
        assert_eq!(outcome, FailureOutcome::AlreadyLocked);
        assert_eq!(state, locked);
    }

    #[test]
    fn a_success_resets_the_count_so_failures_must_be_consecutive() {
        let policy = LockoutPolicy::new(3);
        let (state, _) = policy.after_failure(LockoutPolicy::cleared(), T0);
        let (_, _) = policy.after_failure(state, T0);
        let state = LockoutPolicy::cleared();
        let (state, outcome) = policy.after_failure(state, T0);
        assert_eq!(outcome, FailureOutcome::Counted { remaining: 2 });
        assert!(!state.is_locked());
    }

    #[test]
    fn the_limit_is_configurable_and_at_least_one() {
        let (state, outcome) = LockoutPolicy::new(1).after_failure(LockoutPolicy::cleared(), T0);
        assert_eq!(outcome, FailureOutcome::JustLocked);
        assert!(state.is_locked());
        assert_eq!(LockoutPolicy::new(0).max_failures(), 1);
    }
}
