//! Managed verification services (`CODE_ISSUER`): a service that makes, sends and checks a code of
//! its own (Twilio Verify, Vonage Verify, Bandwidth MFA, MessageBird Verify), instead of Latchkey.
//! `CodeService` is the boundary each one implements; `CodeIssuers` says which scope's codes go
//! through which service, how long each may take to answer, and whether a code a service could
//! not send goes out as Latchkey's own through the SMS providers.
//!
//! Latchkey's rules hold whoever issues the code: the code row (scope, binding, lifetime, tries)
//! is Latchkey's, the service only answers "right", "wrong", "expired" or "no more tries" for it.

use super::{DeliveryChannel, SendError};
use crate::auth::codes::{ScopePolicies, ServiceAnswer};
use crate::domain::CodeScope;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A code for a service to make and send.
#[derive(Debug, Clone)]
pub struct VerificationStart<'a> {
    /// E.164.
    pub to: &'a str,
    pub scope: CodeScope,
    pub channel: DeliveryChannel,
    pub code_length: u8,
    /// The code's lifetime (a scope a service serves has at most the service's lifetime).
    pub lifetime: Duration,
    /// Unique to this code (its message's id): services that take a reference get it, and
    /// Bandwidth's scope is made of it, so that no other code passes this one's check.
    pub reference: i64,
}

/// A code entered for a verification a service started.
#[derive(Debug, Clone)]
pub struct VerificationCheck<'a> {
    /// E.164.
    pub to: &'a str,
    pub verification_id: &'a str,
    /// The digits entered (already checked to be the scope's length).
    pub code: &'a str,
    /// How long ago the code was issued: services that check by number accept only codes made
    /// since then.
    pub age: Duration,
}

#[async_trait]
pub trait CodeService: Send + Sync + 'static {
    /// The name used in `CODE_ISSUER` (`twilio_verify`, …); recorded on each message it sends.
    fn name(&self) -> &'static str;
    /// Whether it can read a code out by phone call.
    fn supports_voice(&self) -> bool;
    /// Has the service make and send a code; its verification id.
    async fn start(&self, request: &VerificationStart<'_>) -> Result<String, SendError>;
    /// Asks the service whether `request.code` is the code it sent. An error means it could not
    /// say (unreachable, refusing our credentials, rate limited): nothing is decided.
    async fn check(&self, request: &VerificationCheck<'_>) -> Result<ServiceAnswer, SendError>;
}

/// Which scope's codes which service issues; scopes without one get Latchkey's own codes.
#[derive(Clone, Default)]
pub struct CodeIssuers {
    by_scope: Vec<(CodeScope, Arc<dyn CodeService>)>,
    timeouts: HashMap<&'static str, Duration>,
    policies: Option<ScopePolicies>,
    /// A code a service could not send goes out as Latchkey's own through the SMS providers
    /// (when `SMS_PROVIDERS` is set); otherwise its message fails and the person is told.
    fallback: bool,
    /// How long each service's checks have lately taken: a check that asks no service waits as
    /// long, so that its answer's timing does not tell whether an account has a code.
    recent_check: Arc<Mutex<HashMap<&'static str, Duration>>>,
}

impl std::fmt::Debug for CodeIssuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scopes: Vec<(&str, &str)> = self
            .by_scope
            .iter()
            .map(|(scope, service)| (scope.as_str(), service.name()))
            .collect();
        f.debug_struct("CodeIssuers")
            .field("by_scope", &scopes)
            .field("fallback", &self.fallback)
            .finish()
    }
}

/// How long a service may take to answer when its `<SERVICE>_TIMEOUT` is not set.
pub const DEFAULT_SERVICE_TIMEOUT: Duration = Duration::from_secs(10);

impl CodeIssuers {
    /// `by_scope`: the service of each scope that has one; `policies`: every scope's code policy
    /// (the length and lifetime a service is asked for).
    pub fn new(
        by_scope: Vec<(CodeScope, Arc<dyn CodeService>)>,
        policies: ScopePolicies,
        timeouts: HashMap<&'static str, Duration>,
        fallback: bool,
    ) -> Self {
        Self {
            by_scope,
            timeouts,
            policies: Some(policies),
            fallback,
            recent_check: Arc::default(),
        }
    }

    /// The service that issues `scope`'s codes, if one does.
    pub fn for_scope(&self, scope: CodeScope) -> Option<&Arc<dyn CodeService>> {
        self.by_scope
            .iter()
            .find(|(candidate, _)| *candidate == scope)
            .map(|(_, service)| service)
    }

    /// The configured service called `name`.
    pub fn by_name(&self, name: &str) -> Option<&Arc<dyn CodeService>> {
        self.by_scope
            .iter()
            .map(|(_, service)| service)
            .find(|service| service.name() == name)
    }

    /// Whether every scope's codes come from a service that places calls: then codes can go by
    /// voice even without a calling SMS provider.
    pub fn every_scope_calls(&self) -> bool {
        CodeScope::ALL.iter().all(|scope| {
            self.for_scope(*scope)
                .is_some_and(|service| service.supports_voice())
        })
    }

    /// Whether a code a service could not send goes out through the SMS providers instead.
    pub fn falls_back(&self) -> bool {
        self.fallback
    }

    pub fn timeout_of(&self, name: &str) -> Duration {
        self.timeouts
            .get(name)
            .copied()
            .unwrap_or(DEFAULT_SERVICE_TIMEOUT)
    }

    /// What a service is asked to send for a code of `scope` (its message `reference`), on
    /// `channel`, to `to`; `None` when no service is configured.
    pub fn start_request<'a>(
        &self,
        to: &'a str,
        scope: CodeScope,
        channel: DeliveryChannel,
        reference: i64,
    ) -> Option<VerificationStart<'a>> {
        let policy = self.policies?.get(scope);
        Some(VerificationStart {
            to,
            scope,
            channel,
            code_length: policy.length,
            lifetime: Duration::try_from(policy.lifetime).unwrap_or(Duration::ZERO),
            reference,
        })
    }

    /// Notes how long a check by `service` took.
    pub fn record_check(&self, service: &'static str, took: Duration) {
        if let Ok(mut recent) = self.recent_check.lock() {
            let smoothed = match recent.get(service) {
                // A moving average: one slow answer moves it by a quarter.
                Some(previous) => (*previous * 3 + took) / 4,
                None => took,
            };
            recent.insert(service, smoothed);
        }
    }

    /// How long a check by the service of `scope` has lately taken (zero before the first, or
    /// without a service).
    pub fn usual_check_time(&self, scope: CodeScope) -> Duration {
        let Some(service) = self.for_scope(scope) else {
            return Duration::ZERO;
        };
        self.recent_check
            .lock()
            .ok()
            .and_then(|recent| recent.get(service.name()).copied())
            .unwrap_or(Duration::ZERO)
    }
}

/// The id a service gave a verification, checked before it goes into a URL or a query: not
/// empty, at most 128 bytes, letters, digits, `-` and `_` only.
pub fn checked_verification_id<'a>(service: &str, id: &'a str) -> Result<&'a str, SendError> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(SendError::Rejected(format!(
            "{service}: {id:?} is not a verification id"
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str);

    #[async_trait]
    impl CodeService for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        fn supports_voice(&self) -> bool {
            false
        }
        async fn start(&self, _: &VerificationStart<'_>) -> Result<String, SendError> {
            Ok("id".to_owned())
        }
        async fn check(&self, _: &VerificationCheck<'_>) -> Result<ServiceAnswer, SendError> {
            Ok(ServiceAnswer::Wrong)
        }
    }

    fn issuers() -> CodeIssuers {
        let twilio: Arc<dyn CodeService> = Arc::new(Named("twilio_verify"));
        let policies = ScopePolicies::uniform(crate::auth::codes::CodePolicy {
            length: 8,
            lifetime: time::Duration::minutes(10),
            max_tries: 3,
        });
        CodeIssuers::new(
            vec![
                (CodeScope::Unlock, Arc::clone(&twilio)),
                (CodeScope::PasswordReset, twilio),
                (CodeScope::SignIn, Arc::new(Named("vonage_verify"))),
            ],
            policies,
            HashMap::from([("vonage_verify", Duration::from_secs(3))]),
            true,
        )
    }

    #[test]
    fn each_scope_has_its_own_issuer_or_latchkey() {
        let issuers = issuers();
        let name = |scope| issuers.for_scope(scope).map(|service| service.name());
        assert_eq!(name(CodeScope::Unlock), Some("twilio_verify"));
        assert_eq!(name(CodeScope::SignIn), Some("vonage_verify"));
        assert_eq!(name(CodeScope::AdminStepUp), None);
        let named = |name| issuers.by_name(name).map(|service| service.name());
        assert_eq!(named("vonage_verify"), Some("vonage_verify"));
        assert_eq!(named("bandwidth_mfa"), None);
        assert_eq!(issuers.timeout_of("vonage_verify"), Duration::from_secs(3));
        assert_eq!(issuers.timeout_of("twilio_verify"), DEFAULT_SERVICE_TIMEOUT);
        let start = issuers
            .start_request("+14155552671", CodeScope::Unlock, DeliveryChannel::Sms, 7)
            .expect("configured");
        assert_eq!(start.code_length, 8);
        assert_eq!(start.lifetime, Duration::from_secs(600));
    }

    #[test]
    fn the_usual_check_time_follows_recent_checks() {
        let issuers = issuers();
        assert_eq!(issuers.usual_check_time(CodeScope::Unlock), Duration::ZERO);
        issuers.record_check("twilio_verify", Duration::from_millis(400));
        assert_eq!(
            issuers.usual_check_time(CodeScope::Unlock),
            Duration::from_millis(400)
        );
        issuers.record_check("twilio_verify", Duration::from_millis(0));
        assert_eq!(
            issuers.usual_check_time(CodeScope::PasswordReset),
            Duration::from_millis(300)
        );
        assert_eq!(
            issuers.usual_check_time(CodeScope::AdminStepUp),
            Duration::ZERO
        );
    }

    #[test]
    fn only_plain_verification_ids_are_used() {
        assert!(checked_verification_id("x", "VEaaaa-1_2").is_ok());
        for bad in ["", "../admin", "a b", "a?b=c", &"a".repeat(129)] {
            assert!(checked_verification_id("x", bad).is_err(), "{bad}");
        }
    }
}
