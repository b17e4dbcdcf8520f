//! The code policies: the shared `CODE_*` settings, and each scope's own (`CODE_TTL_UNLOCK`, …).

use crate::auth::codes::{CodePolicy, ScopePolicies};
use crate::domain::CodeScope;
use crate::setting::{duration, number, ConfigError};
use time::Duration;

/// The variables of one scope's own settings (`CODE_TTL_UNLOCK`, …).
pub(super) struct ScopeVariables {
    pub(super) ttl: &'static str,
    pub(super) max_tries: &'static str,
    pub(super) length: &'static str,
    /// Who issues the scope's codes (`config::code_issuers`).
    pub(super) issuer: &'static str,
}

pub(super) fn scope_variables(scope: CodeScope) -> ScopeVariables {
    macro_rules! variables {
        ($suffix:literal) => {
            ScopeVariables {
                ttl: concat!("CODE_TTL_", $suffix),
                max_tries: concat!("CODE_MAX_TRIES_", $suffix),
                length: concat!("CODE_LENGTH_", $suffix),
                issuer: concat!("CODE_ISSUER_", $suffix),
            }
        };
    }
    match scope {
        CodeScope::PhoneVerification => variables!("PHONE_VERIFICATION"),
        CodeScope::SignIn => variables!("SIGN_IN"),
        CodeScope::Unlock => variables!("UNLOCK"),
        CodeScope::PasswordReset => variables!("PASSWORD_RESET"),
        CodeScope::PhoneChange => variables!("PHONE_CHANGE"),
        CodeScope::AdminStepUp => variables!("ADMIN_STEP_UP"),
    }
}

/// Every scope's code policy: the shared `CODE_*` settings, then each scope's own.
pub(super) fn policies(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<ScopePolicies, ConfigError> {
    let shared = CodePolicy {
        length: number(get, "CODE_LENGTH", 6, 4..=10)?,
        lifetime: duration(get, "CODE_TTL", Duration::hours(1))?,
        max_tries: number(get, "CODE_MAX_TRIES", 1, 1..=10)?,
    };
    let mut policies = ScopePolicies::uniform(shared);
    for scope in CodeScope::ALL.iter().copied() {
        let variables = scope_variables(scope);
        let default_lifetime = match scope {
            CodeScope::AdminStepUp => Duration::minutes(10),
            _ => shared.lifetime,
        };
        let policy = CodePolicy {
            length: number(get, variables.length, shared.length, 4..=10)?,
            lifetime: duration(get, variables.ttl, default_lifetime)?,
            max_tries: number(get, variables.max_tries, shared.max_tries, 1..=10)?,
        };
        policies = policies.with(scope, policy);
    }
    Ok(policies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{config, config_error};

    fn unlock_lifetime(pairs: &[(&str, &str)]) -> Result<Duration, ConfigError> {
        config(pairs).map(|c| c.code_policies.get(CodeScope::Unlock).lifetime)
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(
            unlock_lifetime(&[("CODE_TTL", "600")]),
            Ok(Duration::minutes(10))
        );
        assert_eq!(
            unlock_lifetime(&[("CODE_TTL", "10m")]),
            Ok(Duration::minutes(10))
        );
        assert_eq!(
            unlock_lifetime(&[("CODE_TTL", "2h")]),
            Ok(Duration::hours(2))
        );
    }

    #[test]
    fn each_scope_can_override_the_shared_code_settings() {
        let config = config(&[
            ("CODE_TTL", "30m"),
            ("CODE_LENGTH", "8"),
            ("CODE_TTL_SIGN_IN", "5m"),
            ("CODE_MAX_TRIES_SIGN_IN", "3"),
            ("CODE_LENGTH_ADMIN_STEP_UP", "10"),
        ])
        .expect("valid");
        let sign_in = config.code_policies.get(CodeScope::SignIn);
        assert_eq!(
            (sign_in.lifetime, sign_in.max_tries, sign_in.length),
            (Duration::minutes(5), 3, 8)
        );
        let step_up = config.code_policies.get(CodeScope::AdminStepUp);
        assert_eq!(
            (step_up.lifetime, step_up.max_tries, step_up.length),
            (Duration::minutes(10), 1, 10)
        );
        let unlock = config.code_policies.get(CodeScope::Unlock);
        assert_eq!(
            (unlock.lifetime, unlock.max_tries, unlock.length),
            (Duration::minutes(30), 1, 8)
        );
        for scope in CodeScope::ALL.iter().copied() {
            let variables = scope_variables(scope);
            for variable in [
                variables.ttl,
                variables.max_tries,
                variables.length,
                variables.issuer,
            ] {
                let error = config_error(variable);
                assert_eq!(error, variable);
            }
        }
    }
}
