//! The SMS-pumping guard: codes only go to lines that can receive them (mobile, or mobile-or-fixed
//! where the numbering plan cannot tell) and, when a list is configured, only to allowed countries.
//! Premium-rate, shared-cost, toll-free, VoIP and other numbers are refused at signup and again at
//! send time (the policy may have changed since). Refusals are counted and logged.

use crate::domain::{PhoneNumber, PhoneRegion};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationRefused {
    #[error("Codes can't be sent to this number: it is {0}. Use a mobile number.")]
    LineType(&'static str),
    #[error("Codes can't be sent to phone numbers in {0} from this service.")]
    Country(String),
}

#[derive(Debug)]
pub struct DestinationPolicy {
    /// `None`: every country.
    allowed_countries: Option<Vec<PhoneRegion>>,
    refusals: AtomicU64,
}

impl DestinationPolicy {
    pub fn new(allowed_countries: Option<Vec<PhoneRegion>>) -> Self {
        Self {
            allowed_countries,
            refusals: AtomicU64::new(0),
        }
    }

    pub fn check(&self, phone: &PhoneNumber) -> Result<(), DestinationRefused> {
        let verdict = self.judge(phone);
        if let Err(refusal) = &verdict {
            let total = self.refusals.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(to = %phone, reason = %refusal, refusals_total = total, "SMS destination refused");
        }
        verdict
    }

    /// How many destinations this process has refused.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    fn judge(&self, phone: &PhoneNumber) -> Result<(), DestinationRefused> {
        let line = phone.line_type();
        if !line.receives_sms() {
            return Err(DestinationRefused::LineType(line.describe()));
        }
        if let Some(allowed) = &self.allowed_countries {
            let region = phone.region();
            if !region.is_some_and(|region| allowed.contains(&region)) {
                let name = region
                    .map(PhoneRegion::code)
                    .unwrap_or_else(|| "that country".to_owned());
                return Err(DestinationRefused::Country(name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> PhoneNumber {
        let us = PhoneRegion::parse("US").expect("US");
        PhoneNumber::parse(text, us).expect("a valid number")
    }

    #[test]
    fn mobile_numbers_pass_everywhere_by_default() {
        let policy = DestinationPolicy::new(None);
        assert_eq!(policy.check(&number("+44 7400 123456")), Ok(()));
        assert_eq!(policy.check(&number("(415) 555-2671")), Ok(()));
        assert_eq!(policy.refusals(), 0);
    }

    #[test]
    fn premium_rate_and_toll_free_numbers_are_refused_and_counted() {
        let policy = DestinationPolicy::new(None);
        assert_eq!(
            policy.check(&number("+44 909 876 5432")),
            Err(DestinationRefused::LineType("a premium-rate number"))
        );
        assert_eq!(
            policy.check(&number("+1 800 555 0199")),
            Err(DestinationRefused::LineType("a toll-free number"))
        );
        assert_eq!(policy.refusals(), 2);
    }

    #[test]
    fn with_a_country_list_other_countries_are_refused() {
        let policy = DestinationPolicy::new(Some(vec![PhoneRegion::parse("US").expect("US")]));
        assert_eq!(policy.check(&number("(415) 555-2671")), Ok(()));
        assert_eq!(
            policy.check(&number("+44 7400 123456")),
            Err(DestinationRefused::Country("GB".to_owned()))
        );
    }
}
