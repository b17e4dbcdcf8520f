//! Who issues and checks each scope's codes: `CODE_ISSUER` for every scope, `CODE_ISSUER_<SCOPE>`
//! (`CODE_ISSUER_UNLOCK`, …) for one; `latchkey` (the default) or a managed verification service.
//! Each service reads its own settings beside its adapter (`sms::providers::<service>`); a scope
//! it serves gets at most the service's lifetime, and must have a length the service can send.

use crate::auth::codes::ScopePolicies;
use crate::domain::CodeScope;
use crate::setting::{invalid, ConfigError};
use crate::sms::code_service::{CodeIssuers, CodeService, DEFAULT_SERVICE_TIMEOUT};
use crate::sms::providers::bandwidth_mfa::{BandwidthMfaConfig, BANDWIDTH_MFA_LIFETIME};
use crate::sms::providers::messagebird_verify::MessageBirdVerifyConfig;
use crate::sms::providers::twilio_verify::{TwilioVerifyConfig, TWILIO_VERIFY_LIFETIME};
use crate::sms::providers::vonage_verify::{VonageVerifyConfig, VONAGE_VERIFY_LIFETIME};
use crate::sms::providers::LONGEST_SEND_TIMEOUT;
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::Arc;

/// A managed verification service, with its settings.
#[derive(Debug, Clone)]
pub enum CodeServiceKind {
    /// Bandwidth's MFA API (`BANDWIDTH_*`, `BANDWIDTH_MFA_*`).
    BandwidthMfa(BandwidthMfaConfig),
    /// MessageBird's (Bird's) Verify API (`MESSAGEBIRD_*`).
    MessageBirdVerify(MessageBirdVerifyConfig),
    /// Twilio Verify v2 (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_VERIFY_*`).
    TwilioVerify(TwilioVerifyConfig),
    /// Vonage Verify v2 (`VONAGE_API_KEY`, `VONAGE_API_SECRET`, `VONAGE_VERIFY_*`).
    VonageVerify(VonageVerifyConfig),
}

impl CodeServiceKind {
    /// The name used in `CODE_ISSUER`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::BandwidthMfa(_) => "bandwidth_mfa",
            Self::MessageBirdVerify(_) => "messagebird_verify",
            Self::TwilioVerify(_) => "twilio_verify",
            Self::VonageVerify(_) => "vonage_verify",
        }
    }

    /// The service named `name`, its settings read now; `None` for `latchkey`.
    fn from_name(
        variable: &'static str,
        name: &str,
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        Ok(Some(match name.trim().to_ascii_lowercase().as_str() {
            "latchkey" => return Ok(None),
            "bandwidth_mfa" => Self::BandwidthMfa(BandwidthMfaConfig::from_lookup(get)?),
            "messagebird_verify" | "bird_verify" => {
                Self::MessageBirdVerify(MessageBirdVerifyConfig::from_lookup(get)?)
            }
            "twilio_verify" => Self::TwilioVerify(TwilioVerifyConfig::from_lookup(get)?),
            "vonage_verify" => Self::VonageVerify(VonageVerifyConfig::from_lookup(get)?),
            other => {
                return Err(invalid(
                    variable,
                    format!(
                        "`{other}` is not a code issuer; supported: latchkey, bandwidth_mfa, \
                         bird_verify (messagebird_verify), twilio_verify, vonage_verify"
                    ),
                ))
            }
        }))
    }

    /// The variable that sets how long the service may take to answer.
    fn timeout_variable(&self) -> &'static str {
        match self {
            Self::BandwidthMfa(_) => "BANDWIDTH_MFA_TIMEOUT",
            Self::MessageBirdVerify(_) => "MESSAGEBIRD_VERIFY_TIMEOUT",
            Self::TwilioVerify(_) => "TWILIO_VERIFY_TIMEOUT",
            Self::VonageVerify(_) => "VONAGE_VERIFY_TIMEOUT",
        }
    }

    /// The code lengths the service can send.
    fn code_lengths(&self) -> RangeInclusive<u8> {
        match self {
            Self::BandwidthMfa(_) => 4..=8,
            Self::MessageBirdVerify(_) => 6..=10,
            Self::TwilioVerify(_) | Self::VonageVerify(_) => 4..=10,
        }
    }

    /// The longest a code of the service lives, where that is shorter than Latchkey allows.
    fn longest_lifetime(&self) -> Option<std::time::Duration> {
        match self {
            Self::BandwidthMfa(_) => Some(BANDWIDTH_MFA_LIFETIME),
            Self::TwilioVerify(_) => Some(TWILIO_VERIFY_LIFETIME),
            Self::VonageVerify(_) => Some(VONAGE_VERIFY_LIFETIME),
            Self::MessageBirdVerify(_) => None,
        }
    }

    fn into_service(self) -> anyhow::Result<Arc<dyn CodeService>> {
        match self {
            Self::BandwidthMfa(settings) => settings.into_service(),
            Self::MessageBirdVerify(settings) => settings.into_service(),
            Self::TwilioVerify(settings) => settings.into_service(),
            Self::VonageVerify(settings) => settings.into_service(),
        }
    }
}

/// Which service issues which scope's codes (scopes not listed: Latchkey).
#[derive(Debug, Clone, Default)]
pub struct CodeIssuerSettings {
    pub by_scope: Vec<(CodeScope, CodeServiceKind)>,
    /// `<SERVICE>_TIMEOUT`, per service name.
    pub timeouts: HashMap<&'static str, std::time::Duration>,
    /// A code a service could not send goes out as Latchkey's own through the SMS providers:
    /// when `SMS_PROVIDERS` (or `SMS_PROVIDER`) is set.
    pub fallback: bool,
}

impl CodeIssuerSettings {
    /// The services, ready to call; one client per service, shared by its scopes.
    pub fn into_issuers(self, policies: ScopePolicies) -> anyhow::Result<CodeIssuers> {
        let mut built: Vec<Arc<dyn CodeService>> = Vec::new();
        let mut by_scope = Vec::new();
        for (scope, kind) in self.by_scope {
            let service = match built.iter().find(|service| service.name() == kind.name()) {
                Some(service) => Arc::clone(service),
                None => {
                    let service = kind.into_service()?;
                    built.push(Arc::clone(&service));
                    service
                }
            };
            tracing::info!(
                scope = scope.as_str(),
                service = service.name(),
                "codes of this scope are issued by a verification service"
            );
            by_scope.push((scope, service));
        }
        Ok(CodeIssuers::new(
            by_scope,
            policies,
            self.timeouts,
            self.fallback,
        ))
    }
}

/// Reads `CODE_ISSUER` and `CODE_ISSUER_<SCOPE>`, each service's settings and timeout; shortens
/// the lifetime of each scope a service serves to the service's, and refuses a code length it
/// cannot send.
pub(super) fn issuers(
    get: &impl Fn(&str) -> Option<String>,
    policies: &mut ScopePolicies,
) -> Result<CodeIssuerSettings, ConfigError> {
    let shared = get("CODE_ISSUER");
    let mut settings = CodeIssuerSettings {
        fallback: get("SMS_PROVIDERS").is_some() || get("SMS_PROVIDER").is_some(),
        ..CodeIssuerSettings::default()
    };
    for scope in CodeScope::ALL.iter().copied() {
        let variables = super::codes::scope_variables(scope);
        let (variable, name) = match (get(variables.issuer), &shared) {
            (Some(name), _) => (variables.issuer, name),
            (None, Some(name)) => ("CODE_ISSUER", name.clone()),
            (None, None) => continue,
        };
        let Some(kind) = CodeServiceKind::from_name(variable, &name, get)? else {
            continue;
        };
        let mut policy = policies.get(scope);
        let lengths = kind.code_lengths();
        if !lengths.contains(&policy.length) {
            return Err(invalid(
                variables.length,
                format!(
                    "{} sends codes of {} to {} digits; this scope's codes have {} (CODE_LENGTH)",
                    kind.name(),
                    lengths.start(),
                    lengths.end(),
                    policy.length
                ),
            ));
        }
        if let Some(longest) = kind
            .longest_lifetime()
            .and_then(|longest| time::Duration::try_from(longest).ok())
        {
            if policy.lifetime > longest {
                tracing::warn!(
                    scope = scope.as_str(),
                    service = kind.name(),
                    minutes = longest.whole_minutes(),
                    "the service keeps codes for a shorter time than this scope's CODE_TTL: its codes last as long as the service keeps them"
                );
                policy.lifetime = longest;
                *policies = policies.with(scope, policy);
            }
        }
        if !settings.timeouts.contains_key(kind.name()) {
            let timeout = crate::setting::timeout(
                get,
                kind.timeout_variable(),
                DEFAULT_SERVICE_TIMEOUT,
                LONGEST_SEND_TIMEOUT,
            )?;
            settings.timeouts.insert(kind.name(), timeout);
        }
        settings.by_scope.push((scope, kind));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;

    const TWILIO: [(&str, &str); 4] = [
        ("CODE_ISSUER", "twilio_verify"),
        ("TWILIO_ACCOUNT_SID", "AC1"),
        ("TWILIO_AUTH_TOKEN", "token"),
        ("TWILIO_VERIFY_SERVICE_SID", "VA1"),
    ];

    #[test]
    fn latchkey_issues_codes_unless_told_otherwise() {
        let defaults = config(&[]).expect("defaults");
        assert!(defaults.code_issuers.by_scope.is_empty());
        let explicit = config(&[("CODE_ISSUER", "latchkey")]).expect("valid");
        assert!(explicit.code_issuers.by_scope.is_empty());
        let error = config(&[("CODE_ISSUER", "authy")]).expect_err("unknown");
        assert_eq!(error.variable, "CODE_ISSUER");
        assert!(error.to_string().contains("twilio_verify"), "{error}");
    }

    #[test]
    fn each_service_names_each_missing_variable() {
        for (settings, missing) in [
            (vec![("CODE_ISSUER", "twilio_verify")], "TWILIO_ACCOUNT_SID"),
            (TWILIO[..3].to_vec(), "TWILIO_VERIFY_SERVICE_SID"),
            (
                vec![("CODE_ISSUER", "vonage_verify"), ("VONAGE_API_KEY", "k")],
                "VONAGE_API_SECRET",
            ),
            (
                vec![("CODE_ISSUER", "bird_verify")],
                "MESSAGEBIRD_ACCESS_KEY",
            ),
            (
                vec![
                    ("CODE_ISSUER", "bandwidth_mfa"),
                    ("BANDWIDTH_ACCOUNT_ID", "99"),
                    ("BANDWIDTH_USERNAME", "u"),
                    ("BANDWIDTH_PASSWORD", "p"),
                    ("BANDWIDTH_MFA_FROM", "+19195551212"),
                ],
                "BANDWIDTH_MFA_APPLICATION_ID",
            ),
        ] {
            let error = config(&settings).expect_err(missing);
            assert_eq!(error.variable, missing);
            assert!(error.to_string().contains("needs"), "{error}");
        }
        let complete = config(&TWILIO).expect("complete");
        assert!(
            !format!("{complete:?}").contains("token\""),
            "credentials never shown"
        );
    }

    #[test]
    fn one_scope_may_have_its_own_issuer_and_its_lifetime_becomes_the_services() {
        let mut settings = TWILIO[1..].to_vec();
        settings.push(("CODE_ISSUER_PASSWORD_RESET", "twilio_verify"));
        let parsed = config(&settings).expect("valid");
        let scopes: Vec<_> = parsed
            .code_issuers
            .by_scope
            .iter()
            .map(|(scope, kind)| (*scope, kind.name()))
            .collect();
        assert_eq!(scopes, [(CodeScope::PasswordReset, "twilio_verify")]);
        assert_eq!(
            parsed.code_policies.get(CodeScope::PasswordReset).lifetime,
            time::Duration::minutes(10)
        );
        assert_eq!(
            parsed.code_policies.get(CodeScope::Unlock).lifetime,
            time::Duration::hours(1)
        );
        assert!(
            !parsed.code_issuers.fallback,
            "no SMS_PROVIDERS: no fallback"
        );
        settings.push(("SMS_PROVIDERS", "outbox"));
        settings.push(("CODE_ISSUER", "latchkey"));
        let with_fallback = config(&settings).expect("valid");
        assert!(with_fallback.code_issuers.fallback);
        assert_eq!(with_fallback.code_issuers.by_scope.len(), 1);
    }

    #[test]
    fn a_length_the_service_cannot_send_and_a_long_timeout_are_refused() {
        let mut settings = TWILIO.to_vec();
        settings.push(("CODE_ISSUER", "bird_verify"));
        settings.remove(0);
        settings.push(("MESSAGEBIRD_ACCESS_KEY", "key"));
        settings.push(("CODE_LENGTH_SIGN_IN", "4"));
        let error = config(&settings).expect_err("too short for MessageBird");
        assert_eq!(error.variable, "CODE_LENGTH_SIGN_IN");
        let mut slow = TWILIO.to_vec();
        slow.push(("TWILIO_VERIFY_TIMEOUT", "2m"));
        assert_eq!(
            config(&slow).expect_err("too slow").variable,
            "TWILIO_VERIFY_TIMEOUT"
        );
        slow.pop();
        slow.push(("TWILIO_VERIFY_TIMEOUT", "3s"));
        let parsed = config(&slow).expect("valid");
        assert_eq!(
            parsed.code_issuers.timeouts.get("twilio_verify"),
            Some(&std::time::Duration::from_secs(3))
        );
    }
}
