//! A fresh database with N accounts, made through the server's own store and rules: the first
//! half open (for sign-ins), the second half locked (for code checks and new-code requests), each
//! with the unlock code a lockout leaves, so the code table is as large as in service; the
//! benchmark then has the server issue the codes it checks. Every account shares one argon2id
//! hash, made once.

use anyhow::Context;
use server::auth::codes::{CodeHasher, CodePolicy};
use server::auth::lockout::LockState;
use server::auth::password_hasher::{HashingPriority, PasswordHasher};
use server::auth::secret::ServerSecret;
use server::clock::{Clock, SystemClock};
use server::domain::{CodeScope, Email, Password, PersonName, PhoneNumber};
use server::sms::DeliveryChannel;
use server::store::{Backend, NewAccount, Store};
use std::path::Path;
use std::time::{Duration, Instant};

/// The server secret the benchmark's server runs with (codes are hashed with it).
pub const SERVER_SECRET_HEX: &str =
    "6c617463686b65792d62656e63686d61726b2d7365637265742d6b65792d3332";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Seeded {
    /// Accounts that can sign in.
    pub open: Vec<String>,
    /// Locked accounts.
    pub locked: Vec<LockedAccount>,
    pub store: Store,
}

/// A seeded account that starts locked.
#[derive(Debug, Clone)]
pub struct LockedAccount {
    pub id: i64,
    pub email: String,
    /// E.164, as the development outbox shows it.
    pub phone: String,
}

impl Seeded {
    /// Locks `accounts` again, outside any measured time. Written directly: through the API a
    /// lockout costs three argon2id verifications per account. The unlock codes are left to the
    /// server to issue.
    pub async fn lock(&self, accounts: &[LockedAccount]) -> anyhow::Result<()> {
        let now = SystemClock.now();
        let mut tx = self.store.begin_write().await?;
        for account in accounts {
            Store::save_lock_state(&mut tx, account.id, LockState::Locked { since: now }).await?;
        }
        tx.commit().await.context("could not commit the lockouts")
    }

    /// Messages the server has queued but not yet delivered (to the development outbox).
    pub async fn undelivered_messages(&self) -> anyhow::Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM sms_messages WHERE status IN ('queued', 'sending')",
        )
        .fetch_one(self.store.pool())
        .await
        .context("could not count the undelivered messages")
    }
}

/// The server's default code policy.
const POLICY: CodePolicy = CodePolicy {
    length: 6,
    lifetime: time::Duration::hours(1),
    max_tries: 1,
};

/// Times argon2id verifications with the server's parameters and hashing code, outside the
/// server.
pub struct Argon2Timer {
    hasher: PasswordHasher,
    password: Password,
    hash: String,
}

impl Argon2Timer {
    pub async fn new() -> anyhow::Result<Self> {
        let hasher = PasswordHasher::new(1, HashingPriority::Normal)?;
        let password = Password::parse_new(PASSWORD).context("the benchmark password")?;
        let hash = hasher.hash(&password).await?;
        Ok(Self {
            hasher,
            password,
            hash,
        })
    }

    /// The median time of `samples` verifications, after two to warm up.
    pub async fn verification_time(&self, samples: usize) -> anyhow::Result<Duration> {
        let mut times = Vec::with_capacity(samples);
        for round in 0..samples.max(1) + 2 {
            let started = Instant::now();
            let matched = self.hasher.verify(&self.password, &self.hash).await?;
            anyhow::ensure!(matched, "the benchmark hash does not verify");
            if round >= 2 {
                times.push(started.elapsed());
            }
        }
        times.sort();
        Ok(times[times.len() / 2])
    }

    /// Verifications per second with every core verifying at once (the server's own limit,
    /// memory bandwidth and shared caches included), over about `duration`.
    pub async fn parallel_rate(&self, cores: usize, duration: Duration) -> anyhow::Result<f64> {
        let hasher = PasswordHasher::new(cores, HashingPriority::Normal)?;
        let started = Instant::now();
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                let hasher = hasher.clone();
                let (password, hash) = (self.password.clone(), self.hash.clone());
                tokio::spawn(async move {
                    let mut done = 0u64;
                    while started.elapsed() < duration {
                        hasher.verify(&password, &hash).await?;
                        done += 1;
                    }
                    anyhow::Ok(done)
                })
            })
            .collect();
        let mut total = 0;
        for worker in workers {
            total += worker.await.context("an argon2 worker")??;
        }
        Ok(total as f64 / started.elapsed().as_secs_f64())
    }
}

/// A valid, distinct North American number for account `index` (+1 415 2xx xxxx).
fn phone(index: usize) -> PhoneNumber {
    PhoneNumber::from_e164(format!("+1415{:07}", 2_000_000 + index))
}

/// The SQLite database the benchmark's server for `dir` uses.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/latchkey.db", dir.display())
}

pub async fn seed(url: &str, accounts: usize) -> anyhow::Result<Seeded> {
    let store = Store::connect(url, 4).await?;
    let password = Password::parse_new(PASSWORD).context("the benchmark password")?;
    let hash = PasswordHasher::new(1, HashingPriority::Normal)?
        .hash(&password)
        .await?;
    let secret = ServerSecret::from_bytes(
        (0..SERVER_SECRET_HEX.len() / 2)
            .map(|i| u8::from_str_radix(&SERVER_SECRET_HEX[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .context("the benchmark secret")?,
    )
    .context("the benchmark secret is too short")?;
    let hasher = CodeHasher::new(secret);
    let first = PersonName::parse("Ada", "first name").context("a name")?;
    let last = PersonName::parse("Lovelace", "last name").context("a name")?;
    let now = SystemClock.now();
    let mut open = Vec::new();
    let mut locked = Vec::new();
    let mut tx = store.begin_write().await?;
    for index in 0..accounts {
        let address = format!("user{index}@bench.example");
        let email = Email::parse(&address).context("a seeded email")?;
        let phone = phone(index);
        let id = Store::insert_account(
            &mut tx,
            NewAccount {
                email: &email,
                password_hash: &hash,
                phone: &phone,
                first_name: &first,
                last_name: &last,
                delivery_channel: DeliveryChannel::Sms,
            },
            now,
        )
        .await?
        .context("a seeded email was taken")?;
        // Seeded accounts have finished signing up.
        Store::mark_phone_verified(&mut tx, id, now).await?;
        if index < accounts / 2 {
            open.push(address);
        } else {
            Store::save_lock_state(&mut tx, id, LockState::Locked { since: now }).await?;
            let issued = POLICY.issue(&hasher, id, CodeScope::Unlock, now);
            Store::replace_code(&mut tx, (id, CodeScope::Unlock, ""), &issued, None, now).await?;
            locked.push(LockedAccount {
                id,
                email: address,
                phone: phone.e164().to_owned(),
            });
        }
    }
    tx.commit().await.context("could not commit the seed")?;
    // A database in service has its pages in the main file, not all in the write-ahead log;
    // PostgreSQL's have their statistics.
    let settle = match store.backend() {
        Backend::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
        Backend::Postgres => "VACUUM ANALYZE",
    };
    sqlx::query(settle)
        .execute(store.pool())
        .await
        .context("could not settle the seeded database")?;
    Ok(Seeded {
        open,
        locked,
        store,
    })
}
