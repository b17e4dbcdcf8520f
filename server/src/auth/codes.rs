//! One-time code rules: how codes are made, stored (only as a keyed hash bound to the account and
//! the purpose), and judged (expiry at exactly the lifetime, limited tries, single use), whether
//! Latchkey compares the code itself or a managed verification service answers for it.
//! Pure apart from drawing random digits; time is passed in.

use super::secret::ServerSecret;
use crate::domain::{CodeScope, VerificationCode};
use rand::Rng;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePolicy {
    /// Digits per code (4 to 10).
    pub length: u8,
    /// How long a code works after it is issued.
    pub lifetime: Duration,
    /// Wrong entries a code survives before it is invalidated; 1 means the first wrong entry ends it.
    pub max_tries: u32,
}

/// The policy of every scope: each scope has its own length, lifetime and tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopePolicies {
    by_scope: [CodePolicy; CodeScope::ALL.len()],
}

impl ScopePolicies {
    /// The same policy for every scope.
    pub fn uniform(policy: CodePolicy) -> Self {
        Self {
            by_scope: [policy; CodeScope::ALL.len()],
        }
    }

    /// These policies with `scope`'s replaced.
    pub fn with(mut self, scope: CodeScope, policy: CodePolicy) -> Self {
        self.by_scope[Self::index(scope)] = policy;
        self
    }

    pub fn get(&self, scope: CodeScope) -> CodePolicy {
        self.by_scope[Self::index(scope)]
    }

    fn index(scope: CodeScope) -> usize {
        CodeScope::ALL
            .iter()
            .position(|candidate| *candidate == scope)
            .unwrap_or(0)
    }
}

/// The HMAC-SHA256 of a code; the only form in which codes are stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CodeHash(pub [u8; 32]);

impl std::fmt::Debug for CodeHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeHash(..)")
    }
}

/// A code just made: the digits go into the message, the hash into the database.
#[derive(Debug)]
pub struct IssuedCode {
    pub code: VerificationCode,
    pub hash: CodeHash,
    pub expires_at: OffsetDateTime,
    pub tries_left: u32,
}

/// The code currently stored for an account and purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveCode {
    pub hash: CodeHash,
    pub expires_at: OffsetDateTime,
    pub tries_left: u32,
}

/// The judgement on a submitted code, and what becomes of the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeVerdict {
    /// Right and in time: consume it (delete), and carry out the purpose.
    Accepted,
    /// The right code, too late: delete it, and say that it expired.
    Expired,
    /// Too late, and not the right code either: delete it. Said to be wrong, not expired, so that
    /// only the holder of the code learns that there was one.
    WrongAfterExpiry,
    /// Wrong, and no tries are left: delete it.
    WrongAndSpent,
    /// Wrong; keep it with `tries_left` tries.
    Wrong { tries_left: u32 },
}

/// What a managed verification service answered when asked whether a code is right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAnswer {
    /// The right code, within the service's lifetime.
    Approved,
    /// Not the code the service sent.
    Wrong,
    /// The service's lifetime for the code is over, or it no longer knows the verification.
    Expired,
    /// The service refuses further tries for this verification.
    NoTriesLeft,
}

/// Hashes codes with the server secret.
#[derive(Debug, Clone)]
pub struct CodeHasher {
    secret: ServerSecret,
}

impl CodeHasher {
    pub fn new(secret: ServerSecret) -> Self {
        Self { secret }
    }

    pub fn hash(&self, account_id: i64, purpose: CodeScope, code: &VerificationCode) -> CodeHash {
        CodeHash(self.secret.keyed_hash(
            "latchkey/code/v1",
            &[
                &account_id.to_be_bytes(),
                purpose.as_str().as_bytes(),
                code.expose().as_bytes(),
            ],
        ))
    }
}

impl CodePolicy {
    /// Makes a new code for `account_id` and `purpose` from the operating system's CSPRNG.
    pub fn issue(
        &self,
        hasher: &CodeHasher,
        account_id: i64,
        purpose: CodeScope,
        now: OffsetDateTime,
    ) -> IssuedCode {
        let length = usize::from(self.length);
        let upper = 10u64.pow(u32::from(self.length));
        let value = rand::rngs::OsRng.gen_range(0..upper);
        let code = VerificationCode::from_generated(format!("{value:0length$}"));
        IssuedCode {
            hash: hasher.hash(account_id, purpose, &code),
            code,
            expires_at: now + self.lifetime,
            tries_left: self.max_tries.max(1),
        }
    }

    /// Judges a code issued by a managed verification service, from the service's `answer`,
    /// by the same rules as `judge`: Latchkey's lifetime and tries hold whatever the service
    /// says, so that a code the service would still take is refused once Latchkey's time or
    /// tries are up.
    pub fn judge_answer(
        active: &ActiveCode,
        answer: ServiceAnswer,
        now: OffsetDateTime,
    ) -> CodeVerdict {
        if now >= active.expires_at {
            return if answer == ServiceAnswer::Approved {
                CodeVerdict::Expired
            } else {
                CodeVerdict::WrongAfterExpiry
            };
        }
        match answer {
            ServiceAnswer::Approved => CodeVerdict::Accepted,
            ServiceAnswer::Expired => CodeVerdict::Expired,
            // The service will take no more tries for this code: it is spent here too.
            ServiceAnswer::NoTriesLeft => CodeVerdict::WrongAndSpent,
            ServiceAnswer::Wrong => match active.tries_left.saturating_sub(1) {
                0 => CodeVerdict::WrongAndSpent,
                tries_left => CodeVerdict::Wrong { tries_left },
            },
        }
    }

    /// Judges `submitted` against the stored code at time `now`.
    pub fn judge(active: &ActiveCode, submitted: &CodeHash, now: OffsetDateTime) -> CodeVerdict {
        let right = bool::from(active.hash.0.ct_eq(&submitted.0));
        if now >= active.expires_at {
            return if right {
                CodeVerdict::Expired
            } else {
                CodeVerdict::WrongAfterExpiry
            };
        }
        if right {
            return CodeVerdict::Accepted;
        }
        match active.tries_left.saturating_sub(1) {
            0 => CodeVerdict::WrongAndSpent,
            tries_left => CodeVerdict::Wrong { tries_left },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn hasher() -> CodeHasher {
        CodeHasher::new(ServerSecret::from_bytes(vec![42; 32]).expect("long enough"))
    }

    fn policy(max_tries: u32) -> CodePolicy {
        CodePolicy {
            length: 6,
            lifetime: Duration::hours(1),
            max_tries,
        }
    }

    fn stored(issued: &IssuedCode) -> ActiveCode {
        ActiveCode {
            hash: issued.hash,
            expires_at: issued.expires_at,
            tries_left: issued.tries_left,
        }
    }

    #[test]
    fn a_service_answer_is_held_to_latchkeys_lifetime_and_tries() {
        let issued = policy(2).issue(&hasher(), 1, CodeScope::Unlock, T0);
        let active = stored(&issued);
        let during = T0 + Duration::minutes(5);
        let judge = |answer, now| CodePolicy::judge_answer(&active, answer, now);
        assert_eq!(
            judge(ServiceAnswer::Approved, during),
            CodeVerdict::Accepted
        );
        assert_eq!(
            judge(ServiceAnswer::Wrong, during),
            CodeVerdict::Wrong { tries_left: 1 }
        );
        assert_eq!(judge(ServiceAnswer::Expired, during), CodeVerdict::Expired);
        assert_eq!(
            judge(ServiceAnswer::NoTriesLeft, during),
            CodeVerdict::WrongAndSpent
        );
        // Past Latchkey's lifetime an approval is too late, whatever the service says.
        let late = issued.expires_at;
        assert_eq!(judge(ServiceAnswer::Approved, late), CodeVerdict::Expired);
        assert_eq!(
            judge(ServiceAnswer::Wrong, late),
            CodeVerdict::WrongAfterExpiry
        );
        let last_try = ActiveCode {
            tries_left: 1,
            ..active
        };
        assert_eq!(
            CodePolicy::judge_answer(&last_try, ServiceAnswer::Wrong, during),
            CodeVerdict::WrongAndSpent
        );
    }

    #[test]
    fn codes_have_the_configured_number_of_digits() {
        for length in [4u8, 6, 8, 10] {
            let policy = CodePolicy {
                length,
                ..policy(1)
            };
            let issued = policy.issue(&hasher(), 1, CodeScope::Unlock, T0);
            assert_eq!(issued.code.expose().len(), usize::from(length));
            assert!(issued.code.expose().chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn codes_are_not_all_the_same() {
        let codes: std::collections::HashSet<String> = (0..50)
            .map(|_| {
                policy(1)
                    .issue(&hasher(), 1, CodeScope::Unlock, T0)
                    .code
                    .expose()
                    .to_owned()
            })
            .collect();
        assert!(
            codes.len() > 40,
            "50 codes gave only {} distinct values",
            codes.len()
        );
    }

    #[test]
    fn a_code_works_until_just_before_its_lifetime_and_not_at_it() {
        let issued = policy(1).issue(&hasher(), 1, CodeScope::Unlock, T0);
        let right = hasher().hash(1, CodeScope::Unlock, &issued.code);
        let just_before = T0 + Duration::hours(1) - Duration::milliseconds(1);
        assert_eq!(
            CodePolicy::judge(&stored(&issued), &right, just_before),
            CodeVerdict::Accepted
        );
        assert_eq!(
            CodePolicy::judge(&stored(&issued), &right, T0 + Duration::hours(1)),
            CodeVerdict::Expired
        );
    }

    #[test]
    fn only_the_right_code_is_told_that_it_expired() {
        let issued = policy(3).issue(&hasher(), 1, CodeScope::Unlock, T0);
        let wrong = hasher().hash(
            1,
            CodeScope::Unlock,
            &VerificationCode::parse("000000", 6).expect("six digits"),
        );
        assert_ne!(
            CodePolicy::judge(&stored(&issued), &wrong, T0),
            CodeVerdict::Accepted,
            "000000 was drawn; the test needs another code"
        );
        assert_eq!(
            CodePolicy::judge(&stored(&issued), &wrong, T0 + Duration::hours(2)),
            CodeVerdict::WrongAfterExpiry
        );
    }

    #[test]
    fn a_code_is_bound_to_its_purpose_and_its_account() {
        let issued = policy(1).issue(&hasher(), 1, CodeScope::Unlock, T0);
        let as_reset = hasher().hash(1, CodeScope::PasswordReset, &issued.code);
        let other_account = hasher().hash(2, CodeScope::Unlock, &issued.code);
        assert_eq!(
            CodePolicy::judge(&stored(&issued), &as_reset, T0),
            CodeVerdict::WrongAndSpent
        );
        assert_eq!(
            CodePolicy::judge(&stored(&issued), &other_account, T0),
            CodeVerdict::WrongAndSpent
        );
    }

    #[test]
    fn a_code_from_one_scope_is_wrong_in_every_other() {
        for issued_in in CodeScope::ALL.iter().copied() {
            let issued = policy(3).issue(&hasher(), 1, issued_in, T0);
            for tried_in in CodeScope::ALL.iter().copied() {
                let submitted = hasher().hash(1, tried_in, &issued.code);
                let verdict = CodePolicy::judge(&stored(&issued), &submitted, T0);
                if tried_in == issued_in {
                    assert_eq!(verdict, CodeVerdict::Accepted);
                } else {
                    assert_eq!(
                        verdict,
                        CodeVerdict::Wrong { tries_left: 2 },
                        "a {} code was accepted as {}",
                        issued_in.as_str(),
                        tried_in.as_str()
                    );
                }
            }
        }
    }

    #[test]
    fn each_scope_keeps_its_own_policy() {
        let short = CodePolicy {
            length: 8,
            lifetime: Duration::minutes(10),
            max_tries: 2,
        };
        let policies = ScopePolicies::uniform(policy(1)).with(CodeScope::AdminStepUp, short);
        assert_eq!(policies.get(CodeScope::AdminStepUp), short);
        for scope in CodeScope::ALL
            .iter()
            .copied()
            .filter(|s| *s != CodeScope::AdminStepUp)
        {
            assert_eq!(policies.get(scope), policy(1));
        }
    }

    #[test]
    fn with_one_try_the_first_wrong_code_spends_it() {
        let issued = policy(1).issue(&hasher(), 1, CodeScope::Unlock, T0);
        let wrong = hasher().hash(
            1,
            CodeScope::Unlock,
            &VerificationCode::from_generated("x".into()),
        );
        assert_eq!(
            CodePolicy::judge(&stored(&issued), &wrong, T0),
            CodeVerdict::WrongAndSpent
        );
    }

    #[test]
    fn with_three_tries_wrong_codes_count_down() {
        let issued = policy(3).issue(&hasher(), 1, CodeScope::Unlock, T0);
        let wrong = hasher().hash(
            1,
            CodeScope::Unlock,
            &VerificationCode::from_generated("x".into()),
        );
        let mut active = stored(&issued);
        assert_eq!(
            CodePolicy::judge(&active, &wrong, T0),
            CodeVerdict::Wrong { tries_left: 2 }
        );
        active.tries_left = 2;
        assert_eq!(
            CodePolicy::judge(&active, &wrong, T0),
            CodeVerdict::Wrong { tries_left: 1 }
        );
        active.tries_left = 1;
        assert_eq!(
            CodePolicy::judge(&active, &wrong, T0),
            CodeVerdict::WrongAndSpent
        );
    }
}
