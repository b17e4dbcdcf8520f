//! Per-client request rate limits on the requests that guess a secret: sign-in, code entry, and
//! signup. A token bucket per client IP and kind of request, refilled continuously; an empty
//! bucket is answered 429 with `Retry-After` (or, for a plain form post, a redirect back with the
//! error). With SQLite (one instance) the buckets live in this process; with PostgreSQL they are
//! rows of the database (`store::rate_limits`), shared by every instance, so that N instances
//! allow the documented rate in all, not N times it. Should the database fail to answer within
//! `SHARED_ANSWER_WITHIN`, the instance applies its own buckets instead, and keeps to them for
//! `SHARED_REST` before it asks the database again: an outage costs a limited request no wait of
//! its own, and never lets everything through or refuses it.

use crate::clock::Clock;
use crate::config::RateLimits;
use crate::store::Store;
use app::api::{
    AdminStepUp, CheckField, ConfirmPhoneChange, Login, ResetPassword, SignInCode, Signup,
    StartPhoneChange, Unlock, VerifyPhone,
};
use app::error::AppError;
use app::ssr::ClientIp;
use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::Response,
};
use leptos::server_fn::ServerFn;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// Above this many buckets, full ones (clients that have been quiet) are dropped.
const MAX_BUCKETS: usize = 100_000;

/// How long a shared bucket may take to answer before this process's own bucket decides.
const SHARED_ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_millis(300);

/// After the shared buckets failed to answer, how long this process's own decide alone.
const SHARED_REST: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Login,
    Code,
    Signup,
    FieldCheck,
}

/// The limited server functions, by path, each with the kind of guess it allows.
const LIMITED: [(&str, Kind); 10] = [
    // Each of these checks a password.
    (Login::PATH, Kind::Login),
    (StartPhoneChange::PATH, Kind::Login),
    // Each of these checks a code.
    (Unlock::PATH, Kind::Code),
    (ResetPassword::PATH, Kind::Code),
    (VerifyPhone::PATH, Kind::Code),
    (SignInCode::PATH, Kind::Code),
    (ConfirmPhoneChange::PATH, Kind::Code),
    (AdminStepUp::PATH, Kind::Code),
    (Signup::PATH, Kind::Signup),
    // Each of these checks a signup field as it is typed (a phone number's destination).
    (CheckField::PATH, Kind::FieldCheck),
];

impl Kind {
    /// The name of the kind in a shared bucket's key.
    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Code => "code",
            Self::Signup => "signup",
            Self::FieldCheck => "field-check",
        }
    }

    fn of(path: &str) -> Option<Self> {
        LIMITED
            .iter()
            .find(|(limited, _)| *limited == path)
            .map(|(_, kind)| *kind)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: OffsetDateTime,
}

impl Bucket {
    /// Takes one token, or says how long until one is there.
    fn take(&mut self, per_minute: u32, now: OffsetDateTime) -> Result<(), Duration> {
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let elapsed = (now - self.updated).as_seconds_f64().max(0.0);
        self.tokens = (self.tokens + elapsed * per_second).min(capacity);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::seconds_f64((1.0 - self.tokens) / per_second))
        }
    }

    fn is_full(&self, per_minute: u32, now: OffsetDateTime) -> bool {
        let refilled =
            self.tokens + (now - self.updated).as_seconds_f64() * f64::from(per_minute) / 60.0;
        refilled >= f64::from(per_minute)
    }
}

pub struct RateLimiter {
    limits: RateLimits,
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<(Kind, IpAddr), Bucket>>,
    /// The database the buckets are shared in (PostgreSQL); `None`: in this process.
    shared: Option<Store>,
    /// Until when the shared buckets are left alone after they failed to answer (real time: it
    /// is about the database, not the clock the limits count in).
    shared_resting_until: Mutex<Option<std::time::Instant>>,
}

impl RateLimiter {
    /// Buckets in this process.
    pub fn new(limits: RateLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            limits,
            clock,
            buckets: Mutex::new(HashMap::new()),
            shared: None,
            shared_resting_until: Mutex::new(None),
        }
    }

    /// Buckets shared by every instance, in `store` (PostgreSQL).
    pub fn shared(limits: RateLimits, clock: Arc<dyn Clock>, store: Store) -> Self {
        Self {
            shared: Some(store),
            ..Self::new(limits, clock)
        }
    }

    /// `Err(seconds to wait)` when the client's bucket for this kind is empty: the shared bucket
    /// when there is one, else (or when the database does not answer) this process's.
    async fn take(&self, kind: Kind, ip: IpAddr) -> Result<(), u64> {
        if let Some(store) = self.shared.as_ref().filter(|_| !self.shared_resting()) {
            let bucket = format!("{}:{ip}", kind.as_str());
            let taken = tokio::time::timeout(
                SHARED_ANSWER_WITHIN,
                store.take_shared_token(&bucket, self.per_minute(kind), self.clock.now()),
            )
            .await;
            match taken {
                Ok(Ok(taken)) => return taken.map_err(whole_seconds),
                Ok(Err(error)) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "the shared rate limit is unavailable; this instance's own applies for now"
                    );
                    self.rest_shared();
                }
                Err(_) => {
                    tracing::warn!(
                        "the shared rate limit did not answer in time; this instance's own applies for now"
                    );
                    self.rest_shared();
                }
            }
        }
        self.check(kind, ip)
    }

    fn shared_resting(&self) -> bool {
        self.shared_resting_until
            .lock()
            .ok()
            .and_then(|until| *until)
            .is_some_and(|until| std::time::Instant::now() < until)
    }

    fn rest_shared(&self) {
        if let Ok(mut until) = self.shared_resting_until.lock() {
            *until = Some(std::time::Instant::now() + SHARED_REST);
        }
    }

    fn per_minute(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Login => self.limits.login_per_minute,
            Kind::Code => self.limits.code_per_minute,
            Kind::Signup => self.limits.signup_per_minute,
            Kind::FieldCheck => self.limits.field_check_per_minute,
        }
    }

    /// `Err(seconds to wait)` when the client's bucket for this kind is empty.
    fn check(&self, kind: Kind, ip: IpAddr) -> Result<(), u64> {
        let now = self.clock.now();
        let per_minute = self.per_minute(kind);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|(kind, _), bucket| !bucket.is_full(self.per_minute(*kind), now));
        }
        let bucket = buckets.entry((kind, ip)).or_insert(Bucket {
            tokens: f64::from(per_minute),
            updated: now,
        });
        bucket.take(per_minute, now).map_err(whole_seconds)
    }
}

/// A wait in whole seconds, at least one (as `Retry-After` says it).
fn whole_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_seconds_f64().ceil();
    if seconds < 1.0 {
        1
    } else {
        seconds as u64
    }
}

pub async fn enforce(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(kind) = Kind::of(request.uri().path()) else {
        return next.run(request).await;
    };
    let Some(ClientIp { network: ip, .. }) = request.extensions().get::<ClientIp>().copied() else {
        return next.run(request).await;
    };
    match limiter.take(kind, ip).await {
        Ok(()) => next.run(request).await,
        Err(retry_after_secs) => {
            tracing::warn!(%ip, kind = ?kind, retry_after_secs, "request rate limit hit");
            super::refusal::refuse(&request, AppError::RateLimited { retry_after_secs })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limiter(per_minute: u32) -> (RateLimiter, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::starting_now());
        let limits = RateLimits {
            login_per_minute: per_minute,
            code_per_minute: per_minute,
            signup_per_minute: per_minute,
            field_check_per_minute: per_minute,
        };
        (RateLimiter::new(limits, clock.clone()), clock)
    }

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 9));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

    #[test]
    fn a_full_bucket_allows_a_burst_then_refuses_with_the_wait() {
        let (limiter, _) = limiter(6);
        for _ in 0..6 {
            assert_eq!(limiter.check(Kind::Login, CLIENT), Ok(()));
        }
        assert_eq!(limiter.check(Kind::Login, CLIENT), Err(10));
    }

    #[test]
    fn tokens_come_back_over_time() {
        let (limiter, clock) = limiter(6);
        for _ in 0..6 {
            assert_eq!(limiter.check(Kind::Login, CLIENT), Ok(()));
        }
        clock.advance(Duration::seconds(10));
        assert_eq!(limiter.check(Kind::Login, CLIENT), Ok(()));
        assert!(limiter.check(Kind::Login, CLIENT).is_err());
    }

    #[test]
    fn clients_and_kinds_have_separate_buckets() {
        let (limiter, _) = limiter(1);
        assert_eq!(limiter.check(Kind::Login, CLIENT), Ok(()));
        assert!(limiter.check(Kind::Login, CLIENT).is_err());
        assert_eq!(limiter.check(Kind::Login, OTHER), Ok(()));
        assert_eq!(limiter.check(Kind::Code, CLIENT), Ok(()));
    }

    #[test]
    fn only_the_secret_guessing_requests_are_limited() {
        assert_eq!(Kind::of("/api/login"), Some(Kind::Login));
        assert_eq!(Kind::of("/api/unlock"), Some(Kind::Code));
        assert_eq!(Kind::of("/api/reset-password"), Some(Kind::Code));
        for path in [
            "/api/verify-phone",
            "/api/sign-in-code",
            "/api/confirm-phone-change",
            "/api/admin/step-up",
        ] {
            assert_eq!(Kind::of(path), Some(Kind::Code), "{path}");
        }
        assert_eq!(Kind::of("/api/change-phone"), Some(Kind::Login));
        assert_eq!(Kind::of("/api/signup"), Some(Kind::Signup));
        assert_eq!(Kind::of("/api/check-field"), Some(Kind::FieldCheck));
        assert_eq!(Kind::of("/api/me"), None);
        assert_eq!(Kind::of("/api/request-reset"), None);
    }
}
