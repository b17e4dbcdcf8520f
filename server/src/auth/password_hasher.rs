//! Argon2id password hashing (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane; the OWASP
//! minimum). Each hash runs on the blocking pool behind a semaphore sized to the cores, so a burst
//! of sign-ins queues here instead of starving the async workers that serve everything else.

use crate::domain::Password;
use anyhow::Context;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tracing::Instrument;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against when the email is unknown so that
    /// unknown and known emails take the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// `parallelism` hashes may run at once (normally the number of cores).
    pub fn new(parallelism: usize) -> anyhow::Result<Self> {
        let dummy = SaltString::generate(&mut OsRng);
        let dummy_hash = hash_blocking(dummy.as_str())?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(parallelism.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(&password)).await
    }

    /// Whether `password` matches the stored PHC string `hash`.
    pub async fn verify(&self, password: &Password, hash: &str) -> anyhow::Result<bool> {
        let password = password.expose().to_owned();
        let hash = hash.to_owned();
        self.run(move || verify_blocking(&password, &hash)).await
    }

    /// Does the work of a verification and returns nothing, for unknown emails.
    pub async fn verify_dummy(&self, password: &Password) -> anyhow::Result<()> {
        let dummy = Arc::clone(&self.dummy_hash);
        self.verify(password, &dummy).await.map(|_| ())
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("the password hashing semaphore was closed")?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .instrument(tracing::Span::current())
            .await
            .context("the password hashing task failed")?
    }
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("argon2 hashing failed: {error}"))
}

fn verify_blocking(password: &str, hash: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(hash)
        .map_err(|error| anyhow::anyhow!("stored password hash is malformed: {error}"))?;
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(error) => Err(anyhow::anyhow!("argon2 verification failed: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(2)?;
        let password = Password::parse_new("correct horse battery")?;
        let hash = hasher.hash(&password).await?;
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify(&password, &hash).await?);
        let other = Password::parse_new("correct horse battery!")?;
        assert!(!hasher.verify(&other, &hash).await?);
        hasher.verify_dummy(&other).await?;
        Ok(())
    }
}
