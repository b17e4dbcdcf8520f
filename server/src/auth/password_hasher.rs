//! Argon2id password hashing (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane; the OWASP
//! minimum) on a small pool of dedicated threads, one per core. A burst of sign-ins queues here,
//! never on the async workers that serve everything else. The threads run at the lowest
//! scheduling priority (`SCHED_IDLE`) unless configured otherwise, so any other work of the
//! server (the rest of a sign-in, a cheap request, the database) takes a core from a hash at
//! once instead of waiting for the hash's time slice to end; on an otherwise idle host the hashes
//! still get every spare cycle. Each thread keeps its 19 MiB of working memory: no hash allocates
//! it, or has the kernel fault it in, again, and the server's memory stays flat under load.

use crate::domain::Password;
use anyhow::Context;
use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// How the hashing threads are scheduled against the server's other threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashingPriority {
    /// `SCHED_IDLE`: every other runnable thread goes first, and hashing gets the rest of the
    /// CPU. For a host that runs Latchkey alone.
    Idle,
    /// Ordinary scheduling: hashing shares the CPU evenly with every other thread. For a host
    /// whose other busy processes would otherwise leave sign-ins little CPU.
    Normal,
}

impl HashingPriority {
    /// `idle` or `normal`.
    pub fn parse(input: &str) -> Option<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "idle" => Some(Self::Idle),
            "normal" => Some(Self::Normal),
            _ => None,
        }
    }
}

/// One hash to compute, given the thread's reusable working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    /// A real hash of a random password, verified against when the email is unknown so that
    /// unknown and known emails take the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// Starts `threads` hashing threads (normally one per core), which stop when the last clone
    /// of this hasher is dropped.
    pub fn new(threads: usize, priority: HashingPriority) -> anyhow::Result<Self> {
        let dummy = SaltString::generate(&mut OsRng);
        let dummy_hash = hash_blocking(dummy.as_str(), &mut Vec::new())?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hashing-{index}"))
                .spawn(move || hashing_thread(&queue, priority, index == 0))
                .context("could not start a password hashing thread")?;
        }
        Ok(Self {
            jobs,
            dummy_hash: dummy_hash.into(),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        self.run(move |memory| hash_blocking(&password, memory))
            .await
    }

    /// Whether `password` matches the stored PHC string `hash`.
    pub async fn verify(&self, password: &Password, hash: &str) -> anyhow::Result<bool> {
        let password = password.expose().to_owned();
        let hash = hash.to_owned();
        self.run(move |memory| verify_blocking(&password, &hash, memory))
            .await
    }

    /// Does the work of a verification and returns nothing, for unknown emails.
    pub async fn verify_dummy(&self, password: &Password) -> anyhow::Result<()> {
        let dummy = Arc::clone(&self.dummy_hash);
        self.verify(password, &dummy).await.map(|_| ())
    }

    /// Queues `work` for the next free hashing thread and waits for its answer.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move |memory| {
            // Nobody waits any more (the request was dropped while this was queued).
            if reply.is_closed() {
                return;
            }
            let _ = reply.send(span.in_scope(|| work(memory)));
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))?;
        answer
            .await
            .context("the password hashing thread gave no answer")?
    }
}

/// A hashing thread: takes jobs off the shared queue until every sender is gone.
fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>, priority: HashingPriority, report: bool) {
    if priority == HashingPriority::Idle {
        if let Err(error) = lower_to_idle_priority() {
            if report {
                tracing::warn!(
                    %error,
                    "could not give the password hashing threads the idle scheduling priority; \
                     they run at normal priority"
                );
            }
        }
    }
    let mut memory = Vec::new();
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panicking hash answers its caller with an error (its reply is dropped) and leaves
        // this thread serving the next one, with fresh memory.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
            memory = Vec::new();
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn lower_to_idle_priority() -> Result<(), thread_priority::Error> {
    use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
    thread_priority::set_thread_priority_and_policy(
        thread_priority::thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    )
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn lower_to_idle_priority() -> Result<(), thread_priority::Error> {
    Err(thread_priority::Error::Priority(
        "SCHED_IDLE exists only on Linux",
    ))
}

/// Runs argon2 with `params` into `out`, in a reused working-memory buffer.
fn compute(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &str,
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> anyhow::Result<()> {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    argon2
        .hash_password_into_with_memory(password.as_bytes(), salt, out, memory)
        .map_err(|error| anyhow::anyhow!("argon2 failed: {error}"))
}

fn hash_blocking(password: &str, memory: &mut Vec<Block>) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|error| anyhow::anyhow!("argon2 salt: {error}"))?;
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon2, &params, password, salt_bytes, &mut out, memory)?;
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
fn verify_blocking(password: &str, hash: &str, memory: &mut Vec<Block>) -> anyhow::Result<bool> {
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
    compute(&argon2, &params, password, salt_bytes, &mut out, memory)?;
    // `Output` compares in constant time.
    let computed = Output::new(&out).map_err(|error| malformed(&error))?;
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(2, HashingPriority::Idle)?;
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
        let hasher = PasswordHasher::new(1, HashingPriority::Idle)?;
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

    /// The scheduling policy of the thread that computes a hash.
    async fn hashing_thread_policy(
        priority: HashingPriority,
    ) -> anyhow::Result<thread_priority::ThreadSchedulePolicy> {
        let hasher = PasswordHasher::new(1, priority)?;
        hasher
            .run(|_| {
                thread_priority::thread_schedule_policy()
                    .map_err(|error| anyhow::anyhow!("{error:?}"))
            })
            .await
    }

    #[tokio::test]
    async fn hashes_run_at_the_configured_scheduling_priority() -> anyhow::Result<()> {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
        assert_eq!(
            hashing_thread_policy(HashingPriority::Idle).await?,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        assert_eq!(
            hashing_thread_policy(HashingPriority::Normal).await?,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
        );
        // The caller's own thread is left as it was.
        assert_eq!(
            thread_priority::thread_schedule_policy()
                .map_err(|error| anyhow::anyhow!("{error:?}"))?,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
        );
        Ok(())
    }

    #[tokio::test]
    async fn every_queued_hash_is_answered_when_more_wait_than_there_are_threads(
    ) -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(2, HashingPriority::Normal)?;
        let password = Password::parse_new("correct horse battery")?;
        let hash = hasher.hash(&password).await?;
        let wrong = Password::parse_new("correct horse battery!")?;
        let checks = (0..6).map(|i| {
            let (hasher, hash) = (hasher.clone(), hash.clone());
            let attempt = if i % 2 == 0 {
                password.clone()
            } else {
                wrong.clone()
            };
            async move { hasher.verify(&attempt, &hash).await }
        });
        let answers = futures_util::future::try_join_all(checks).await?;
        assert_eq!(answers, [true, false, true, false, true, false]);
        Ok(())
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_match() -> anyhow::Result<()> {
        let hasher = PasswordHasher::new(1, HashingPriority::Idle)?;
        let password = Password::parse_new("correct horse battery")?;
        assert!(hasher.verify(&password, "not a hash").await.is_err());
        assert!(hasher
            .verify(&password, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ")
            .await
            .is_err());
        Ok(())
    }
}
