//! The configured providers in failover order (`SMS_PROVIDERS=twilio,vonage`), per channel, and the
//! test numbers whose messages never leave the server.

use super::{DeliveryChannel, SmsSender};
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Clone)]
pub struct ProviderChain {
    providers: Vec<Arc<dyn SmsSender>>,
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
            test_numbers: HashSet::new(),
            capture: None,
        })
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
        assert!(!chain.is_test_number("+14155552671"));
    }

    #[test]
    fn an_empty_chain_is_refused() {
        assert!(ProviderChain::new(Vec::new()).is_err());
    }
}
