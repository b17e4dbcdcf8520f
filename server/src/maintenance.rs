//! Periodic clean-up: audit events older than `AUDIT_RETENTION`, sessions past their absolute
//! lifetime, expired pending sign-ins, signups never finished within `UNVERIFIED_SIGNUP_RETENTION`
//! (so that an email cannot be held by a signup on someone else's phone), the failure counts of
//! unknown emails once they are as old as the audit log keeps, and the per-minute send counts once
//! they leave the send limits' window, codes a day after they expired, and trusted browsers past
//! their lifetime; and the background checkpoint of SQLite's write-ahead log.

use crate::auth::send_limits;
use crate::clock::Clock;
use crate::store::Store;
use std::sync::Arc;
use time::Duration;
use tokio::sync::watch;

#[derive(Clone)]
pub struct Maintenance {
    store: Store,
    clock: Arc<dyn Clock>,
    audit_retention: Duration,
    session_lifetime: Duration,
    unverified_signup_retention: Duration,
    trusted_device_lifetime: Duration,
}

/// How long an expired code is kept: its holder is told it expired, not that it is wrong.
const EXPIRED_CODE_KEPT: Duration = Duration::days(1);

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub audit_events: u64,
    pub sessions: u64,
    pub unknown_logins: u64,
    pub pending_sign_ins: u64,
    pub unverified_signups: u64,
    pub send_counters: u64,
    pub expired_codes: u64,
    pub trusted_devices: u64,
    pub rate_limit_buckets: u64,
}

impl Maintenance {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        audit_retention: Duration,
        session_lifetime: Duration,
        unverified_signup_retention: Duration,
        trusted_device_lifetime: Duration,
    ) -> Self {
        Self {
            store,
            clock,
            audit_retention,
            session_lifetime,
            unverified_signup_retention,
            trusted_device_lifetime,
        }
    }

    pub async fn run_once(&self) -> anyhow::Result<Pruned> {
        let now = self.clock.now();
        let pruned = Pruned {
            audit_events: self.store.prune_events(now - self.audit_retention).await?,
            sessions: self
                .store
                .prune_sessions(now - self.session_lifetime)
                .await?,
            unknown_logins: self
                .store
                .prune_unknown_logins(now - self.audit_retention)
                .await?,
            pending_sign_ins: self.store.prune_pending_sign_ins(now).await?,
            unverified_signups: self
                .store
                .prune_unverified_signups(now - self.unverified_signup_retention)
                .await?,
            send_counters: self
                .store
                .prune_send_counters(now - send_limits::WINDOW)
                .await?,
            expired_codes: self
                .store
                .prune_expired_codes(now - EXPIRED_CODE_KEPT)
                .await?,
            trusted_devices: self
                .store
                .prune_trusted_devices(now - self.trusted_device_lifetime)
                .await?,
            // A bucket refills in a minute at most: one untouched for ten is full, as good as new.
            rate_limit_buckets: self
                .store
                .prune_rate_limit_buckets(now - time::Duration::minutes(10))
                .await?,
        };
        if pruned != Pruned::default() {
            tracing::info!(?pruned, "pruned old records");
        }
        Ok(pruned)
    }

    /// Runs a pass now and then every `every`, until `shutdown` turns true.
    pub async fn run_until_stopped(
        self,
        mut shutdown: watch::Receiver<bool>,
        every: std::time::Duration,
    ) {
        loop {
            if let Err(error) = self.run_once().await {
                tracing::error!(error = format!("{error:#}"), "maintenance pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }
}

/// Checkpoints the write-ahead log every `every` until `shutdown` turns true (see `store`).
pub async fn checkpoint_until_stopped(
    store: Store,
    mut shutdown: watch::Receiver<bool>,
    every: std::time::Duration,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        if let Err(error) = store.checkpoint().await {
            tracing::warn!(error = format!("{error:#}"), "WAL checkpoint failed");
        }
    }
}
