//! The configured providers in failover order (`SMS_PROVIDERS=twilio,vonage`), per channel, how
//! long each may take to answer (`<PROVIDER>_TIMEOUT`), and the test numbers whose messages never
//! leave the server.

use super::{DeliveryChannel, SmsSender};
use crate::store::StageFilter;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// How long a provider may take over one send when its `<PROVIDER>_TIMEOUT` is not set.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct ProviderChain {
    providers: Vec<Arc<dyn SmsSender>>,
    /// Per provider name; `DEFAULT_SEND_TIMEOUT` for the others.
    timeouts: HashMap<&'static str, Duration>,
    /// E.164 numbers whose messages go to `capture` instead of a provider.
    test_numbers: HashSet<String>,
    capture: Option<Arc<dyn SmsSender>>,
}

impl ProviderChain {
    /// `providers` in the order they are tried; at least one.
    pub fn new(providers: Vec<Arc<dyn SmsSender>>) -> anyhow::Result<Self> {
        anyhow::ensure!(!providers.is_empty(), "at least one SMS provider is needed");
        Ok(Self {
            providers,
            timeouts: HashMap::new(),
            test_numbers: HashSet::new(),
            capture: None,
        })
    }

    /// How long each named provider may take over one send (token, lookup and request together).
    pub fn with_timeouts(mut self, timeouts: HashMap<&'static str, Duration>) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// How long `sender` may take over one send.
    pub fn timeout_of(&self, sender: &dyn SmsSender) -> Duration {
        self.timeouts
            .get(sender.name())
            .copied()
            .unwrap_or(DEFAULT_SEND_TIMEOUT)
    }

    /// The stages at which a message is sent by the provider named `name`, on each channel: what
    /// the queue skips while that provider has all the sends it may have in flight.
    pub fn stages_of(&self, name: &str) -> Vec<StageFilter> {
        let mut filters = Vec::new();
        for &channel in DeliveryChannel::ALL {
            let count = self.stage_count(channel);
            for (stage, sender) in self.stages(channel).enumerate() {
                if sender.name() == name {
                    filters.push(StageFilter {
                        channel,
                        stage,
                        // A stage past the end is sent by the last provider.
                        and_later: stage + 1 == count,
                    });
                }
            }
        }
        filters
    }

    /// Messages to `numbers` (E.164) go to `capture` (the outbox), never to a provider.
    pub fn with_test_numbers(
        mut self,
        numbers: impl IntoIterator<Item = String>,
        capture: Arc<dyn SmsSender>,
    ) -> Self {
        self.test_numbers = numbers.into_iter().collect();
        self.capture = Some(capture);
        self
    }

    /// The senders that can carry `channel`, in failover order.
    fn stages(&self, channel: DeliveryChannel) -> impl Iterator<Item = &Arc<dyn SmsSender>> {
        self.providers
            .iter()
            .filter(move |sender| channel == DeliveryChannel::Sms || sender.supports_voice())
    }

    /// How many providers a message on `channel` can fail over through.
    pub fn stage_count(&self, channel: DeliveryChannel) -> usize {
        self.stages(channel).count()
    }

    /// The sender for stage `stage` of a message to `to` on `channel`; a test number's capture
    /// sender whatever the stage. `None` when no provider carries the channel.
    pub fn sender(
        &self,
        to: &str,
        channel: DeliveryChannel,
        stage: usize,
    ) -> Option<Arc<dyn SmsSender>> {
        if self.test_numbers.contains(to) {
            return self.capture.clone();
        }
        let count = self.stage_count(channel);
        // A stage past the end (the list got shorter across a restart) uses the last provider.
        let stage = stage.min(count.checked_sub(1)?);
        self.stages(channel).nth(stage).cloned()
    }

    /// Whether codes can be read aloud by phone call.
    pub fn voice_available(&self) -> bool {
        self.stage_count(DeliveryChannel::Voice) > 0
    }

    /// The test numbers, in order: their messages are captured whatever their stage.
    pub fn test_numbers(&self) -> Vec<String> {
        let mut numbers: Vec<String> = self.test_numbers.iter().cloned().collect();
        numbers.sort();
        numbers
    }

    pub fn is_test_number(&self, to: &str) -> bool {
        self.test_numbers.contains(to)
    }

    /// The providers that report delivery only when asked.
    pub fn asked_for_delivery(&self) -> Vec<Arc<dyn SmsSender>> {
        self.providers
            .iter()
            .filter(|sender| sender.reports_when_asked())
            .cloned()
            .collect()
    }

    /// The providers' names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.providers.iter().map(|sender| sender.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::{OutgoingSms, SendError, SentReceipt};
    use async_trait::async_trait;

    struct Named(&'static str, bool);

    #[async_trait]
    impl SmsSender for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        fn supports_voice(&self) -> bool {
            self.1
        }
        async fn send(&self, _: &OutgoingSms) -> Result<SentReceipt, SendError> {
            Ok(SentReceipt::default())
        }
    }

    fn chain() -> ProviderChain {
        ProviderChain::new(vec![
            Arc::new(Named("vonage", false)),
            Arc::new(Named("twilio", true)),
            Arc::new(Named("messagebird", true)),
        ])
        .expect("a chain")
    }

    #[test]
    fn voice_messages_skip_providers_without_calls() {
        let chain = chain();
        let name = |channel, stage| {
            chain
                .sender("+14155552671", channel, stage)
                .map(|sender| sender.name())
        };
        assert_eq!(name(DeliveryChannel::Sms, 0), Some("vonage"));
        assert_eq!(name(DeliveryChannel::Sms, 2), Some("messagebird"));
        assert_eq!(name(DeliveryChannel::Voice, 0), Some("twilio"));
        assert_eq!(name(DeliveryChannel::Voice, 1), Some("messagebird"));
        assert_eq!(chain.stage_count(DeliveryChannel::Voice), 2);
        assert!(chain.voice_available());
    }

    #[test]
    fn a_stage_past_the_end_stays_on_the_last_provider() {
        let chain = chain();
        let sender = chain.sender("+14155552671", DeliveryChannel::Sms, 9);
        assert_eq!(sender.map(|sender| sender.name()), Some("messagebird"));
    }

    #[test]
    fn without_a_calling_provider_there_is_no_voice() {
        let chain = ProviderChain::new(vec![Arc::new(Named("vonage", false))]).expect("a chain");
        assert!(!chain.voice_available());
        assert!(chain
            .sender("+14155552671", DeliveryChannel::Voice, 0)
            .is_none());
    }

    #[test]
    fn test_numbers_are_captured_whatever_the_channel() {
        let chain =
            chain().with_test_numbers(["+15555550100".to_owned()], Arc::new(Named("outbox", true)));
        for &channel in DeliveryChannel::ALL {
            let sender = chain.sender("+15555550100", channel, 0);
            assert_eq!(sender.map(|sender| sender.name()), Some("outbox"));
        }
        assert!(chain.is_test_number("+15555550100"));
        assert_eq!(chain.test_numbers(), vec!["+15555550100".to_owned()]);
        assert!(!chain.is_test_number("+14155552671"));
    }

    #[test]
    fn a_provider_owns_its_stages_on_each_channel_and_the_last_owns_what_lies_past_the_end() {
        let providers = chain();
        let stages = |name| {
            providers
                .stages_of(name)
                .into_iter()
                .map(|filter| (filter.channel, filter.stage, filter.and_later))
                .collect::<Vec<_>>()
        };
        assert_eq!(stages("vonage"), vec![(DeliveryChannel::Sms, 0, false)]);
        assert_eq!(
            stages("messagebird"),
            vec![
                (DeliveryChannel::Sms, 2, true),
                (DeliveryChannel::Voice, 1, true)
            ]
        );
        assert_eq!(
            stages("twilio"),
            vec![
                (DeliveryChannel::Sms, 1, false),
                (DeliveryChannel::Voice, 0, false)
            ]
        );
        assert!(stages("xoxzo").is_empty());
    }

    #[test]
    fn each_provider_has_its_own_timeout_or_the_default() {
        let chain = chain().with_timeouts(HashMap::from([("twilio", Duration::from_secs(3))]));
        assert_eq!(
            chain.timeout_of(&Named("twilio", true)),
            Duration::from_secs(3)
        );
        assert_eq!(
            chain.timeout_of(&Named("vonage", false)),
            DEFAULT_SEND_TIMEOUT
        );
    }

    #[test]
    fn an_empty_chain_is_refused() {
        assert!(ProviderChain::new(Vec::new()).is_err());
    }
}
