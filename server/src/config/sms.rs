//! Which SMS providers deliver, in failover order (`SMS_PROVIDERS`). Each provider reads its own
//! settings beside its adapter (`sms::providers::<name>`); adding one touches its file and the
//! list here.

use crate::clock::Clock;
use crate::setting::{invalid, ConfigError};
use crate::sms::chain::DEFAULT_SEND_TIMEOUT;
use crate::sms::log::LogSender;
use crate::sms::providers::bandwidth::BandwidthConfig;
use crate::sms::providers::bird::BirdConfig;
use crate::sms::providers::messagebird::MessageBirdConfig;
use crate::sms::providers::ringcentral::RingCentralConfig;
use crate::sms::providers::twilio::TwilioConfig;
use crate::sms::providers::vonage::VonageConfig;
use crate::sms::providers::xoxzo::XoxzoConfig;
use crate::sms::providers::LONGEST_SEND_TIMEOUT;
use crate::sms::receipts::StatusCallbackReader;
use crate::sms::worker::InFlightLimits;
use crate::sms::SmsSender;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum SmsProviderKind {
    /// Stores messages in the database and shows them at /dev/outbox.
    Outbox,
    /// Writes each message, code included, to the log. Development only.
    Log,
    /// Twilio Programmable Messaging (`TWILIO_*`).
    Twilio(TwilioConfig),
    /// Vonage SMS API (`VONAGE_*`).
    Vonage(VonageConfig),
    /// Bandwidth Messaging API v2 (`BANDWIDTH_*`).
    Bandwidth(BandwidthConfig),
    /// MessageBird classic REST API (`MESSAGEBIRD_*`).
    MessageBird(MessageBirdConfig),
    /// Bird Channels API, MessageBird's successor (`BIRD_*`).
    Bird(BirdConfig),
    /// RingCentral SMS API with a JWT credential (`RINGCENTRAL_*`).
    RingCentral(RingCentralConfig),
    /// Xoxzo SMS and text-to-speech calls (`XOXZO_*`).
    Xoxzo(XoxzoConfig),
}

impl SmsProviderKind {
    /// The sender for this provider. `outbox` makes the development outbox, which needs the store
    /// and the public URL (`public_url`, named in the warning).
    pub fn into_sender(
        self,
        clock: &Arc<dyn Clock>,
        outbox: &dyn Fn() -> Arc<dyn SmsSender>,
        public_url: &str,
    ) -> anyhow::Result<Arc<dyn SmsSender>> {
        Ok(match self {
            Self::Outbox => {
                tracing::warn!(
                    "SMS provider outbox: messages are not sent to phones; read them at {public_url}/dev/outbox"
                );
                outbox()
            }
            Self::Log => {
                tracing::warn!("SMS provider log: messages, codes included, are written to the log and not sent to phones");
                Arc::new(LogSender)
            }
            Self::Twilio(settings) => settings.into_sender(clock, public_url)?,
            Self::Vonage(settings) => settings.into_sender(clock, public_url)?,
            Self::Bandwidth(settings) => settings.into_sender(clock)?,
            Self::MessageBird(settings) => settings.into_sender(clock)?,
            Self::Bird(settings) => settings.into_sender(clock)?,
            Self::RingCentral(settings) => settings.into_sender(clock)?,
            Self::Xoxzo(settings) => settings.into_sender(clock)?,
        })
    }

    /// The reader of this provider's delivery receipts, with the name its webhook is under: for
    /// the providers that report by webhook (Twilio always; Bandwidth once its callback
    /// credentials are set; Vonage once its signature secret is).
    pub fn status_callbacks(&self) -> Option<(&'static str, Arc<dyn StatusCallbackReader>)> {
        match self {
            Self::Twilio(settings) => Some((self.name(), settings.status_callbacks())),
            Self::Bandwidth(settings) => settings
                .status_callbacks()
                .map(|reader| (self.name(), reader)),
            Self::Vonage(settings) => settings
                .status_callbacks()
                .map(|reader| (self.name(), reader)),
            _ => None,
        }
    }

    /// The variable that sets how long this provider may take over a send; none for the outbox
    /// and the log, which answer at once.
    fn timeout_variable(&self) -> Option<&'static str> {
        Some(match self {
            Self::Outbox | Self::Log => return None,
            Self::Twilio(_) => "TWILIO_TIMEOUT",
            Self::Vonage(_) => "VONAGE_TIMEOUT",
            Self::Bandwidth(_) => "BANDWIDTH_TIMEOUT",
            Self::MessageBird(_) => "MESSAGEBIRD_TIMEOUT",
            Self::Bird(_) => "BIRD_TIMEOUT",
            Self::RingCentral(_) => "RINGCENTRAL_TIMEOUT",
            Self::Xoxzo(_) => "XOXZO_TIMEOUT",
        })
    }

    pub fn is_outbox(&self) -> bool {
        matches!(self, Self::Outbox)
    }

    /// The name used in `SMS_PROVIDERS`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Outbox => "outbox",
            Self::Log => "log",
            Self::Twilio(_) => "twilio",
            Self::Vonage(_) => "vonage",
            Self::Bandwidth(_) => "bandwidth",
            Self::MessageBird(_) => "messagebird",
            Self::Bird(_) => "bird",
            Self::RingCentral(_) => "ringcentral",
            Self::Xoxzo(_) => "xoxzo",
        }
    }

    fn from_name(name: &str, get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(match name {
            "outbox" => Self::Outbox,
            "log" => Self::Log,
            "twilio" => Self::Twilio(TwilioConfig::from_lookup(get)?),
            "vonage" => Self::Vonage(VonageConfig::from_lookup(get)?),
            "bandwidth" => Self::Bandwidth(BandwidthConfig::from_lookup(get)?),
            "messagebird" => Self::MessageBird(MessageBirdConfig::from_lookup(get)?),
            "bird" => Self::Bird(BirdConfig::from_lookup(get)?),
            "ringcentral" => Self::RingCentral(RingCentralConfig::from_lookup(get)?),
            "xoxzo" => Self::Xoxzo(XoxzoConfig::from_lookup(get)?),
            other => {
                return Err(invalid(
                    "SMS_PROVIDERS",
                    format!(
                        "`{other}` is not a provider this build can use; supported: outbox, log, \
                         ringcentral, bandwidth, bird, messagebird, xoxzo, twilio, vonage"
                    ),
                ))
            }
        })
    }
}

/// `SMS_PROVIDERS` (a comma-separated list) or its one-provider form `SMS_PROVIDER`; each listed
/// provider's settings are checked now, so that a missing one stops startup, not a delivery.
pub(super) fn providers(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<SmsProviderKind>, ConfigError> {
    let list = match (get("SMS_PROVIDERS"), get("SMS_PROVIDER")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "SMS_PROVIDERS",
                "set SMS_PROVIDERS or SMS_PROVIDER, not both",
            ))
        }
        (Some(list), None) | (None, Some(list)) => list,
        (None, None) => "outbox".to_owned(),
    };
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    if names.is_empty() {
        return Err(invalid("SMS_PROVIDERS", "names no provider"));
    }
    let mut providers = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(invalid(
                "SMS_PROVIDERS",
                format!("`{name}` is listed twice"),
            ));
        }
        providers.push(SmsProviderKind::from_name(&name.to_ascii_lowercase(), get)?);
    }
    Ok(providers)
}

/// Each listed provider's `<PROVIDER>_TIMEOUT`, from 1 s to a minute; `DEFAULT_SEND_TIMEOUT` when
/// unset.
pub(super) fn send_timeouts(
    get: &impl Fn(&str) -> Option<String>,
    providers: &[SmsProviderKind],
) -> Result<HashMap<&'static str, std::time::Duration>, ConfigError> {
    let mut timeouts = HashMap::new();
    for provider in providers {
        let Some(variable) = provider.timeout_variable() else {
            continue;
        };
        let timeout =
            crate::setting::timeout(get, variable, DEFAULT_SEND_TIMEOUT, LONGEST_SEND_TIMEOUT)?;
        timeouts.insert(provider.name(), timeout);
    }
    Ok(timeouts)
}

/// `SMS_MAX_IN_FLIGHT` (1 to 256) and `SMS_MAX_IN_FLIGHT_PER_PROVIDER` (1 to that).
pub(super) fn in_flight_limits(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<InFlightLimits, ConfigError> {
    let defaults = InFlightLimits::default();
    let in_flight = crate::setting::number(get, "SMS_MAX_IN_FLIGHT", defaults.in_flight, 1..=256)?;
    let per_provider = crate::setting::number(
        get,
        "SMS_MAX_IN_FLIGHT_PER_PROVIDER",
        defaults.per_provider.min(in_flight),
        1..=in_flight,
    )?;
    Ok(InFlightLimits {
        in_flight,
        per_provider,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;
    use crate::sms::providers::bandwidth::{self, BandwidthAuth};

    #[test]
    fn a_real_provider_names_each_missing_credential() {
        let error = config(&[("SMS_PROVIDER", "twilio"), ("TWILIO_FROM", "+14155550000")])
            .expect_err("no account");
        assert_eq!(error.variable, "TWILIO_ACCOUNT_SID");
        let error = config(&[
            ("SMS_PROVIDER", "twilio"),
            ("TWILIO_FROM", "+14155550000"),
            ("TWILIO_ACCOUNT_SID", "AC1"),
        ])
        .expect_err("no token");
        assert_eq!(error.variable, "TWILIO_AUTH_TOKEN");
        assert!(!error.to_string().contains("AC1"));
        let error =
            config(&[("SMS_PROVIDER", "vonage"), ("VONAGE_API_KEY", "k")]).expect_err("no secret");
        assert_eq!(error.variable, "VONAGE_API_SECRET");
        let twilio = config(&[
            ("SMS_PROVIDER", "twilio"),
            ("TWILIO_MESSAGING_SERVICE_SID", "MG1"),
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", "very-secret"),
        ])
        .expect("complete");
        assert!(
            !format!("{twilio:?}").contains("very-secret"),
            "credentials never shown"
        );
    }
    #[test]
    fn a_provider_list_is_checked_provider_by_provider() {
        let complete_twilio = [
            ("TWILIO_FROM", "+14155550000"),
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", "t"),
        ];
        let mut settings = vec![("SMS_PROVIDERS", "twilio, ringcentral")];
        settings.extend(complete_twilio);
        let error = config(&settings).expect_err("ringcentral is incomplete");
        assert_eq!(error.variable, "RINGCENTRAL_CLIENT_ID");
        assert!(error.to_string().contains("ringcentral provider needs"));

        settings.extend([
            ("RINGCENTRAL_CLIENT_ID", "id"),
            ("RINGCENTRAL_CLIENT_SECRET", "secret"),
            ("RINGCENTRAL_JWT", "jwt"),
            ("RINGCENTRAL_FROM", "+18559100010"),
        ]);
        let names: Vec<_> = config(&settings)
            .expect("complete")
            .sms
            .providers
            .iter()
            .map(SmsProviderKind::name)
            .collect();
        assert_eq!(names, ["twilio", "ringcentral"]);

        let both = config(&[("SMS_PROVIDERS", "outbox"), ("SMS_PROVIDER", "log")]);
        assert_eq!(
            both.map(|_| ()).expect_err("ambiguous").variable,
            "SMS_PROVIDERS"
        );
    }
    #[test]
    fn bandwidth_takes_oauth_or_an_api_user() {
        let base = [
            ("SMS_PROVIDER", "bandwidth"),
            ("BANDWIDTH_ACCOUNT_ID", "9900000"),
            ("BANDWIDTH_APPLICATION_ID", "app"),
            ("BANDWIDTH_FROM", "+19192676804"),
        ];
        let error = config(&base).expect_err("no credentials");
        assert_eq!(error.variable, "BANDWIDTH_CLIENT_ID");
        let mut oauth = base.to_vec();
        oauth.push(("BANDWIDTH_CLIENT_ID", "client"));
        assert_eq!(
            config(&oauth).expect_err("no secret").variable,
            "BANDWIDTH_CLIENT_SECRET"
        );
        oauth.push(("BANDWIDTH_CLIENT_SECRET", "secret"));
        let parsed = config(&oauth).expect("complete");
        assert!(matches!(
            &parsed.sms.providers[0],
            SmsProviderKind::Bandwidth(BandwidthConfig { auth: BandwidthAuth::OAuth { token_url, .. }, .. })
                if token_url == bandwidth::DEFAULT_TOKEN_URL
        ));
        let mut basic = base.to_vec();
        basic.extend([
            ("BANDWIDTH_USERNAME", "user"),
            ("BANDWIDTH_PASSWORD", "pass"),
        ]);
        assert!(config(&basic).is_ok());
    }

    #[test]
    fn each_provider_has_a_timeout_of_at_most_a_minute_and_the_sends_in_flight_are_bounded() {
        let vonage = [
            ("SMS_PROVIDERS", "vonage,outbox"),
            ("VONAGE_API_KEY", "k"),
            ("VONAGE_API_SECRET", "s"),
            ("VONAGE_FROM", "Latchkey"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut settings = vonage.to_vec();
            settings.extend_from_slice(extra);
            config(&settings)
        };
        let defaults = with(&[]).expect("defaults");
        assert_eq!(
            defaults.sms.send_timeouts.get("vonage"),
            Some(&DEFAULT_SEND_TIMEOUT)
        );
        assert!(!defaults.sms.send_timeouts.contains_key("outbox"));
        assert_eq!(defaults.sms.in_flight, InFlightLimits::default());
        let set = with(&[
            ("VONAGE_TIMEOUT", "4s"),
            ("SMS_MAX_IN_FLIGHT", "8"),
            ("SMS_MAX_IN_FLIGHT_PER_PROVIDER", "3"),
        ])
        .expect("valid");
        assert_eq!(
            set.sms.send_timeouts.get("vonage"),
            Some(&std::time::Duration::from_secs(4))
        );
        assert_eq!(
            set.sms.in_flight,
            InFlightLimits {
                in_flight: 8,
                per_provider: 3
            }
        );
        // Fewer in flight than the default share: the share follows.
        let small = with(&[("SMS_MAX_IN_FLIGHT", "4")]).expect("valid");
        assert_eq!(small.sms.in_flight.per_provider, 4);
        for (variable, value) in [
            ("VONAGE_TIMEOUT", "2m"),
            ("VONAGE_TIMEOUT", "0"),
            ("VONAGE_TIMEOUT", "soon"),
            ("SMS_MAX_IN_FLIGHT", "0"),
            ("SMS_MAX_IN_FLIGHT", "1000"),
            ("SMS_MAX_IN_FLIGHT_PER_PROVIDER", "33"),
        ] {
            let error = with(&[(variable, value)]).expect_err(value);
            assert_eq!(error.variable, variable, "{value}");
        }
    }
}
