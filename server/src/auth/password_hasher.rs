//! Argon2id password hashing (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane; the OWASP
//! minimum). Each hash runs on the blocking pool behind a semaphore sized to the cores, so a burst
//! of sign-ins queues here instead of starving the async workers that serve everything else. The
//! 19 MiB of working memory is kept and reused, one buffer per permit: no hash allocates it, or
//! has the kernel fault it in, again, and the server's memory stays flat under load.

use crate::domain::Password;
use anyhow::Context;
use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tracing::Instrument;

/// Argon2 working memory, reused across hashes; at most one buffer per permit is ever made.
#[derive(Default)]
struct Workspaces(Mutex<Vec<Vec<Block>>>);

impl Workspaces {
    fn take(&self) -> Vec<Block> {
        self.0
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default()
    }

    fn give_back(&self, memory: Vec<Block>) {
        if let Ok(mut free) = self.0.lock() {
            free.push(memory);
        }
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    workspaces: Arc<Workspaces>,
    /// A real hash of a random password, verified against when the email is unknown so that
    /// unknown and known emails take the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// `parallelism` hashes may run at once (normally the number of cores).
    pub fn new(parallelism: usize) -> anyhow::Result<Self> {
        let dummy = SaltString::generate(&mut OsRng);
        let workspaces = Arc::new(Workspaces::default());
        let dummy_hash = hash_blocking(dummy.as_str(), &workspaces)?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(parallelism.max(1))),
            workspaces,
            dummy_hash: dummy_hash.into(),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        let workspaces = Arc::clone(&self.workspaces);
        self.run(move || hash_blocking(&password, &workspaces))
            .await
    }

    /// Whether `password` matches the stored PHC string `hash`.
    pub async fn verify(&self, password: &Password, hash: &str) -> anyhow::Result<bool> {
        let password = password.expose().to_owned();
        let hash = hash.to_owned();
        let workspaces = Arc::clone(&self.workspaces);
        self.run(move || verify_blocking(&password, &hash, &workspaces))
            .await
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

/// Runs argon2 with `params` into `out`, in a reused working-memory buffer.
fn compute(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
    workspaces: &Workspaces,
) -> anyhow::Result<()> {
    let mut memory = workspaces.take();
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let result = argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory);
    workspaces.give_back(memory);
    result.map_err(|error| anyhow::anyhow!("argon2 failed: {error}"))
}

fn hash_blocking(password: &str, workspaces: &Workspaces) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|error| anyhow::anyhow!("argon2 salt: {error}"))?;
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon2, &params, password, salt_bytes, &mut out, workspaces)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)
            .map_err(|error| anyhow::anyhow!("argon2 parameters: {error}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|error| anyhow::anyhow!("argon2 output: {error}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash`, computed with the parameters, salt and
/// algorithm the string names, and compared in constant time.
fn verify_blocking(password: &str, hash: &str, workspaces: &Workspaces) -> anyhow::Result<bool> {
    let malformed = |error: &dyn std::fmt::Display| {
        anyhow::anyhow!("stored password hash is malformed: {error}")
    };
    let parsed = PasswordHash::new(hash).map_err(|error| malformed(&error))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|error| malformed(&error))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|error| malformed(&error))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|error| malformed(&error))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(malformed(&"no salt or no hash"));
    };
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|error| malformed(&error))?;
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    compute(&argon2, &params, password, salt_bytes, &mut out, workspaces)?;
    // `Output` compares in constant time.
    let computed = Output::new(&out).map_err(|error| malformed(&error))?;
    Ok(computed == expected)
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

    #[tokio::test]
    async fn hashes_made_elsewhere_with_other_parameters_still_verify() -> anyhow::Result<()> {
        use argon2::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        let params =
            Params::new(8 * 1024, 3, 1, Some(32)).map_err(|error| anyhow::anyhow!("{error}"))?;
        let foreign = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse battery", &salt)
            .map_err(|error| anyhow::anyhow!("{error}"))?
            .to_string();
        let hasher = PasswordHasher::new(1)?;
        assert!(
            hasher
                .verify(&Password::parse_new("correct horse battery")?, &foreign)
                .await?
        );
        assert!(
            !hasher
                .verify(&Password::parse_new("correct horse battery!")?, &foreign)
                .await?
        );
        // The shared working memory, now sized for 19 MiB, still gives the right answer.
        let ours = hasher
            .hash(&Password::parse_new("correct horse battery")?)
            .await?;
        assert!(
            hasher
                .verify(&Password::parse_new("correct horse battery")?, &ours)
                .await?
        );
        assert!(
            hasher
                .verify(&Password::parse_new("correct horse battery")?, &foreign)
                .await?
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_match() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(1)?;
        let password = Password::parse_new("correct horse battery")?;
        assert!(hasher.verify(&password, "not a hash").await.is_err());
        assert!(hasher
            .verify(&password, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ")
            .await
            .is_err());
        Ok(())
    }
}
