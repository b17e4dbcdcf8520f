//! Limits on sending codes, so that nobody can make Latchkey text a phone (and pay for it) at will,
//! and nobody can spend the codes an account's owner needs:
//! - per account and per destination number, for each client: a cooldown and an hourly cap, so one
//!   client's requests never use up what another client (the owner) may ask for;
//! - per account and per number, for all clients together: an hourly cap; beside it, a reserve that
//!   only the account's trusted browsers (and browsers on their networks) use, and the one code
//!   each lock sends;
//! - per client (an IPv4 address or an IPv6 network): an hourly cap; and a global hourly budget.
//!
//! Pure: the caller counts recent messages; time is passed in.

use time::{Duration, OffsetDateTime};

/// The window of the hourly caps.
pub const WINDOW: Duration = Duration::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// Minimum time between two messages to the same account or number caused by one client.
    pub cooldown: Duration,
    /// Messages per hour to one account or one number caused by one client.
    pub per_target_per_hour: u32,
    /// Messages per hour to one account or one number, whoever caused them.
    pub per_target_all_clients_per_hour: u32,
    /// Messages per hour to one account or number out of the reserve, which only reserved sends
    /// use (see `SendPriority`): what strangers' requests cannot spend.
    pub reserve_per_hour: u32,
    /// Messages per hour caused by one client.
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

/// The recent messages a decision weighs. A client is an IPv4 address or an IPv6 network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecentCounts {
    /// To this account or number, caused by this client.
    pub target_by_client: RecentSends,
    /// To this account or number, caused by anyone, out of the allowance the decision is for
    /// (see `SendPriority::allowance`); decoys are not counted.
    pub target: RecentSends,
    /// Caused by this client, to anyone.
    pub client: RecentSends,
    /// All messages.
    pub global: RecentSends,
}

/// Whose need a message serves, and so which of the target's hourly allowances it comes out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendPriority {
    /// Anyone's request: every limit applies, and the target's shared hourly cap.
    Normal,
    /// A code for a browser the account trusts, or for a browser on a network where one of them
    /// signed in (the owner on a new browser at home): under its own client's limits as any, but
    /// out of the reserve instead of the shared cap, so strangers' requests never use it up.
    Reserved,
    /// The unlock code the lock itself sends: one per lock (a locked account sends nothing more
    /// until it is opened), so held back only by the global budget.
    Lock,
}

impl SendPriority {
    /// The allowance a message of this priority is counted in (`sms_messages.allowance`).
    pub fn allowance(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Reserved => "reserved",
            Self::Lock => "lock",
        }
    }
}

/// Which limit holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Cooldown,
    TargetHourly,
    TargetAllClients,
    IpHourly,
    GlobalBudget,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cooldown => "cooldown",
            Self::TargetHourly => "per-target hourly cap",
            Self::TargetAllClients => "per-target hourly cap, all clients",
            Self::IpHourly => "per-IP hourly cap",
            Self::GlobalBudget => "global hourly budget",
        }
    }

    /// Whether this limit holds because of what others asked for (rather than this client's
    /// own requests, or the whole service's budget): telling an anonymous requester so would
    /// tell them about the account's recent codes.
    pub fn reflects_others(self) -> bool {
        self == Self::TargetAllClients
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
    /// When several limits hold, the refusal names the one that holds longest, and its wait is
    /// the time until a message can really be sent.
    pub fn decide(
        &self,
        recent: RecentCounts,
        priority: SendPriority,
        now: OffsetDateTime,
    ) -> SendDecision {
        longest(self.holding(recent, priority, now))
    }

    /// The decision for a requester who has not shown the password (the unlock and reset pages):
    /// the limits that hold because of what others asked for are not theirs to know. `None` when
    /// only such limits hold: the caller answers as if the message went, and sends nothing.
    pub fn decide_for_stranger(
        &self,
        recent: RecentCounts,
        priority: SendPriority,
        now: OffsetDateTime,
    ) -> Option<SendDecision> {
        let holding = self.holding(recent, priority, now);
        let quiet = !holding.is_empty() && holding.iter().all(|(limit, _)| limit.reflects_others());
        (!quiet).then(|| {
            longest(
                holding
                    .into_iter()
                    .filter(|(limit, _)| !limit.reflects_others())
                    .collect(),
            )
        })
    }

    /// Every limit that holds, and how long it still holds.
    fn holding(
        &self,
        recent: RecentCounts,
        priority: SendPriority,
        now: OffsetDateTime,
    ) -> Vec<(LimitKind, Duration)> {
        let mut holding: Vec<(LimitKind, Duration)> = Vec::new();
        let mut caps = Vec::new();
        let shared_cap = match priority {
            SendPriority::Normal => Some(self.per_target_all_clients_per_hour),
            SendPriority::Reserved => Some(self.reserve_per_hour),
            SendPriority::Lock => None,
        };
        if let Some(shared_cap) = shared_cap {
            // A zero cooldown never refuses, even when a concurrent request's message carries a
            // time later than this request's `now` (taken before it waited for the write lock).
            if let Some(newest) = recent
                .target_by_client
                .newest
                .filter(|_| self.cooldown.is_positive())
            {
                if now - newest < self.cooldown {
                    holding.push((LimitKind::Cooldown, newest + self.cooldown - now));
                }
            }
            caps.extend([
                (
                    LimitKind::TargetHourly,
                    recent.target_by_client,
                    self.per_target_per_hour,
                ),
                (LimitKind::TargetAllClients, recent.target, shared_cap),
                (LimitKind::IpHourly, recent.client, self.per_ip_per_hour),
            ]);
        }
        caps.push((LimitKind::GlobalBudget, recent.global, self.global_per_hour));
        for (limit, sends, max) in caps {
            if sends.count >= max {
                let frees_at = sends
                    .oldest
                    .map(|oldest| oldest + WINDOW)
                    .unwrap_or(now + WINDOW);
                holding.push((limit, frees_at - now));
            }
        }
        holding
    }
}

/// The refusal by the limit that holds longest, or `Allow` when none holds.
fn longest(holding: Vec<(LimitKind, Duration)>) -> SendDecision {
    match holding.into_iter().max_by_key(|(_, wait)| *wait) {
        Some((limit, wait)) => refuse(limit, wait),
        None => SendDecision::Allow,
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
            per_target_all_clients_per_hour: 10,
            reserve_per_hour: 3,
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

    /// The same messages in every count: one client, one target.
    fn only(recent: RecentSends) -> RecentCounts {
        RecentCounts {
            target_by_client: recent,
            target: recent,
            client: recent,
            global: recent,
        }
    }

    fn normal(recent: RecentCounts, now: OffsetDateTime) -> SendDecision {
        limits().decide(recent, SendPriority::Normal, now)
    }

    #[test]
    fn a_first_message_is_allowed() {
        assert_eq!(normal(RecentCounts::default(), T0), SendDecision::Allow);
    }

    #[test]
    fn a_second_message_within_the_cooldown_waits_for_the_rest_of_it() {
        let last = only(sends(1, T0, T0));
        assert_eq!(
            normal(last, T0 + Duration::seconds(20)),
            SendDecision::Refuse {
                limit: LimitKind::Cooldown,
                retry_after: Duration::seconds(40)
            }
        );
        assert_eq!(
            normal(last, T0 + Duration::seconds(60)),
            SendDecision::Allow
        );
    }

    #[test]
    fn the_sixth_message_in_an_hour_waits_until_the_oldest_leaves_the_window() {
        let five = only(sends(5, T0, T0 + Duration::minutes(20)));
        assert_eq!(
            normal(five, T0 + Duration::minutes(30)),
            SendDecision::Refuse {
                limit: LimitKind::TargetHourly,
                retry_after: Duration::minutes(30)
            }
        );
    }

    #[test]
    fn another_clients_messages_leave_this_client_its_own_cooldown_and_cap() {
        // Someone else caused five messages to this account in the last minutes: this client
        // (the owner, say) has caused none, and may still have one.
        let others = sends(5, T0, T0 + Duration::minutes(4));
        let recent = RecentCounts {
            target: others,
            global: others,
            ..RecentCounts::default()
        };
        assert_eq!(
            normal(recent, T0 + Duration::minutes(4)),
            SendDecision::Allow
        );
    }

    #[test]
    fn all_clients_together_are_capped_and_the_reserve_is_counted_apart() {
        let spent = sends(10, T0, T0 + Duration::minutes(9));
        let recent = RecentCounts {
            target: spent,
            global: spent,
            ..RecentCounts::default()
        };
        let now = T0 + Duration::minutes(10);
        assert_eq!(
            normal(recent, now),
            SendDecision::Refuse {
                limit: LimitKind::TargetAllClients,
                retry_after: Duration::minutes(50)
            }
        );
        assert!(LimitKind::TargetAllClients.reflects_others());
        // A stranger is not told: nothing is sent, and the answer says nothing of others.
        assert_eq!(
            limits().decide_for_stranger(recent, SendPriority::Normal, now),
            None
        );
        // Unless a limit of their own holds too: then that one, with its own wait.
        let also_own = RecentCounts {
            target_by_client: sends(1, now - Duration::seconds(20), now - Duration::seconds(20)),
            ..recent
        };
        assert_eq!(
            limits().decide_for_stranger(also_own, SendPriority::Normal, now),
            Some(SendDecision::Refuse {
                limit: LimitKind::Cooldown,
                retry_after: Duration::seconds(40)
            })
        );
        // The reserve's own count (what the caller counted in it) is what holds a reserved send.
        let reserve_unused = RecentCounts {
            global: spent,
            ..RecentCounts::default()
        };
        assert_eq!(
            limits().decide(reserve_unused, SendPriority::Reserved, now),
            SendDecision::Allow
        );
        let reserve_spent = RecentCounts {
            target: sends(3, T0, T0 + Duration::minutes(9)),
            global: spent,
            ..RecentCounts::default()
        };
        assert!(matches!(
            limits().decide(reserve_spent, SendPriority::Reserved, now),
            SendDecision::Refuse {
                limit: LimitKind::TargetAllClients,
                ..
            }
        ));
        // The lock's own code goes whatever the target's counts say.
        assert_eq!(
            limits().decide(only(spent), SendPriority::Lock, now),
            SendDecision::Allow
        );
    }

    #[test]
    fn a_reserved_send_keeps_its_own_clients_cooldown_and_the_global_budget() {
        let last = only(sends(1, T0, T0));
        assert!(matches!(
            limits().decide(last, SendPriority::Reserved, T0 + Duration::seconds(5)),
            SendDecision::Refuse {
                limit: LimitKind::Cooldown,
                ..
            }
        ));
        let spent = RecentCounts {
            global: sends(1000, T0, T0),
            ..RecentCounts::default()
        };
        assert!(matches!(
            limits().decide(spent, SendPriority::Reserved, T0 + Duration::seconds(5)),
            SendDecision::Refuse {
                limit: LimitKind::GlobalBudget,
                ..
            }
        ));
        assert!(matches!(
            limits().decide(spent, SendPriority::Lock, T0 + Duration::seconds(5)),
            SendDecision::Refuse {
                limit: LimitKind::GlobalBudget,
                ..
            }
        ));
    }

    #[test]
    fn the_ip_cap_and_the_global_budget_hold_for_new_targets_too() {
        let now = T0 + Duration::minutes(10);
        let busy_ip = RecentCounts {
            client: sends(20, T0, T0 + Duration::minutes(5)),
            ..RecentCounts::default()
        };
        assert!(matches!(
            normal(busy_ip, now),
            SendDecision::Refuse {
                limit: LimitKind::IpHourly,
                ..
            }
        ));
        let spent = RecentCounts {
            global: sends(1000, T0, T0 + Duration::minutes(5)),
            ..RecentCounts::default()
        };
        assert!(matches!(
            normal(spent, now),
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
        let five = only(sends(5, T0, now - Duration::seconds(10)));
        assert_eq!(
            normal(five, now),
            SendDecision::Refuse {
                limit: LimitKind::TargetHourly,
                retry_after: Duration::minutes(40)
            }
        );
    }

    #[test]
    fn waits_are_rounded_up_to_whole_seconds() {
        let last = only(sends(1, T0, T0));
        assert_eq!(
            normal(last, T0 + Duration::milliseconds(59_500)),
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
        let later = only(RecentSends {
            count: 1,
            oldest: Some(T0 + Duration::milliseconds(5)),
            newest: Some(T0 + Duration::milliseconds(5)),
        });
        assert_eq!(
            limits.decide(later, SendPriority::Normal, T0),
            SendDecision::Allow
        );
    }
}
