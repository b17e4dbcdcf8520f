//! Limits on sending codes, so that nobody can make Latchkey text a phone (and pay for it) at will:
//! a cooldown and an hourly cap per account and per destination number, an hourly cap per client
//! IP, and a global hourly budget. Pure: the caller counts recent messages; time is passed in.

use time::{Duration, OffsetDateTime};

/// The window of the hourly caps.
pub const WINDOW: Duration = Duration::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// Minimum time between two messages to the same account or number.
    pub cooldown: Duration,
    /// Messages per hour to one account or one number.
    pub per_target_per_hour: u32,
    /// Messages per hour caused by one client IP.
    pub per_ip_per_hour: u32,
    /// Messages per hour in all.
    pub global_per_hour: u32,
}

/// Messages sent within the last `WINDOW` that count against one limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecentSends {
    pub count: u32,
    pub oldest: Option<OffsetDateTime>,
    pub newest: Option<OffsetDateTime>,
}

/// Which limit holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Cooldown,
    TargetHourly,
    IpHourly,
    GlobalBudget,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cooldown => "cooldown",
            Self::TargetHourly => "per-target hourly cap",
            Self::IpHourly => "per-IP hourly cap",
            Self::GlobalBudget => "global hourly budget",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendDecision {
    Allow,
    Refuse {
        limit: LimitKind,
        retry_after: Duration,
    },
}

impl SendLimits {
    /// `target`: messages to this account or this number; `ip`: messages caused by this client;
    /// `global`: all messages. When several limits hold, the refusal names the one that holds
    /// longest, and its wait is the time until a message can really be sent.
    pub fn decide(
        &self,
        target: RecentSends,
        ip: RecentSends,
        global: RecentSends,
        now: OffsetDateTime,
    ) -> SendDecision {
        let mut holding: Vec<(LimitKind, Duration)> = Vec::new();
        // A zero cooldown never refuses, even when a concurrent request's message carries a
        // time later than this request's `now` (taken before it waited for the write lock).
        if let Some(newest) = target.newest.filter(|_| self.cooldown.is_positive()) {
            if now - newest < self.cooldown {
                holding.push((LimitKind::Cooldown, newest + self.cooldown - now));
            }
        }
        for (limit, recent, max) in [
            (LimitKind::TargetHourly, target, self.per_target_per_hour),
            (LimitKind::IpHourly, ip, self.per_ip_per_hour),
            (LimitKind::GlobalBudget, global, self.global_per_hour),
        ] {
            if recent.count >= max {
                let frees_at = recent
                    .oldest
                    .map(|oldest| oldest + WINDOW)
                    .unwrap_or(now + WINDOW);
                holding.push((limit, frees_at - now));
            }
        }
        match holding.into_iter().max_by_key(|(_, wait)| *wait) {
            Some((limit, wait)) => refuse(limit, wait),
            None => SendDecision::Allow,
        }
    }
}

/// Rounds up to whole seconds, at least one.
fn refuse(limit: LimitKind, wait: Duration) -> SendDecision {
    let seconds = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
    SendDecision::Refuse {
        limit,
        retry_after: Duration::seconds(seconds.max(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn limits() -> SendLimits {
        SendLimits {
            cooldown: Duration::seconds(60),
            per_target_per_hour: 5,
            per_ip_per_hour: 20,
            global_per_hour: 1000,
        }
    }

    fn sends(count: u32, oldest: OffsetDateTime, newest: OffsetDateTime) -> RecentSends {
        RecentSends {
            count,
            oldest: Some(oldest),
            newest: Some(newest),
        }
    }

    #[test]
    fn a_first_message_is_allowed() {
        let none = RecentSends::default();
        assert_eq!(limits().decide(none, none, none, T0), SendDecision::Allow);
    }

    #[test]
    fn a_second_message_within_the_cooldown_waits_for_the_rest_of_it() {
        let last = sends(1, T0, T0);
        let decision = limits().decide(last, last, last, T0 + Duration::seconds(20));
        assert_eq!(
            decision,
            SendDecision::Refuse {
                limit: LimitKind::Cooldown,
                retry_after: Duration::seconds(40)
            }
        );
        assert_eq!(
            limits().decide(last, last, last, T0 + Duration::seconds(60)),
            SendDecision::Allow
        );
    }

    #[test]
    fn the_sixth_message_in_an_hour_waits_until_the_oldest_leaves_the_window() {
        let five = sends(5, T0, T0 + Duration::minutes(20));
        let now = T0 + Duration::minutes(30);
        assert_eq!(
            limits().decide(five, RecentSends::default(), five, now),
            SendDecision::Refuse {
                limit: LimitKind::TargetHourly,
                retry_after: Duration::minutes(30)
            }
        );
    }

    #[test]
    fn the_ip_cap_and_the_global_budget_hold_for_new_targets_too() {
        let none = RecentSends::default();
        let busy_ip = sends(20, T0, T0 + Duration::minutes(5));
        let now = T0 + Duration::minutes(10);
        assert!(matches!(
            limits().decide(none, busy_ip, busy_ip, now),
            SendDecision::Refuse {
                limit: LimitKind::IpHourly,
                ..
            }
        ));
        let spent = sends(1000, T0, T0 + Duration::minutes(5));
        assert!(matches!(
            limits().decide(none, none, spent, now),
            SendDecision::Refuse {
                limit: LimitKind::GlobalBudget,
                ..
            }
        ));
    }

    #[test]
    fn when_the_cooldown_and_the_hourly_cap_both_hold_the_wait_is_the_longer_one() {
        // The fifth message went 10 s ago, the first 20 minutes ago: the cooldown ends in 50 s,
        // but the cap only frees a message in 40 minutes.
        let now = T0 + Duration::minutes(20);
        let five = sends(5, T0, now - Duration::seconds(10));
        assert_eq!(
            limits().decide(five, RecentSends::default(), five, now),
            SendDecision::Refuse {
                limit: LimitKind::TargetHourly,
                retry_after: Duration::minutes(40)
            }
        );
    }

    #[test]
    fn waits_are_rounded_up_to_whole_seconds() {
        let last = sends(1, T0, T0);
        let decision = limits().decide(last, last, last, T0 + Duration::milliseconds(59_500));
        assert_eq!(
            decision,
            SendDecision::Refuse {
                limit: LimitKind::Cooldown,
                retry_after: Duration::seconds(1)
            }
        );
    }

    #[test]
    fn no_cooldown_never_refuses_even_a_message_stamped_after_now() {
        let limits = SendLimits {
            cooldown: Duration::ZERO,
            ..limits()
        };
        let later = RecentSends {
            count: 1,
            oldest: Some(T0 + Duration::milliseconds(5)),
            newest: Some(T0 + Duration::milliseconds(5)),
        };
        assert_eq!(limits.decide(later, later, later, T0), SendDecision::Allow);
    }
}
