//! Argon2id password hashing (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane; the OWASP
//! minimum) on a small pool of dedicated threads, one per core. A burst of sign-ins queues here,
//! never on the async workers that serve everything else.
//!
//! - **Two queues.** Hashes for the account's trusted browsers wait in the first, served before any
//!   in the second, so a flood of strangers' sign-ins does not delay the owner's.
//! - **A bounded wait.** Before a hash is queued, `admit` estimates its wait from the queue ahead
//!   and the recent time of one hash; past the limit it is refused at once (`Overloaded`, answered
//!   503 with `Retry-After`), before any work is spent on it.
//! - **Scheduling.** By default the threads run at nice 5 (`low`): the server's other threads (the
//!   rest of a sign-in, cheap requests, the database) get a core first, and other busy processes
//!   on the host cannot starve the hashes (under `SCHED_IDLE`, `idle`, they do: docs/PERFORMANCE.md).
//! - Each thread keeps its 19 MiB of working memory: no hash allocates it, or has the kernel fault
//!   it in, again, and the server's memory stays flat under load.

use crate::domain::Password;
use anyhow::Context;
use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How the hashing threads are scheduled against the server's other threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashingPriority {
    /// `SCHED_IDLE`: every other runnable thread, of any process, goes first, and hashing gets
    /// what is left. On a host whose other processes keep the cores busy, sign-ins starve.
    Idle,
    /// Nice 5: a thread at the ordinary priority that wakes up takes a core from a hash first,
    /// but hashing keeps a share (about a quarter against each such busy thread) however busy
    /// the host is. The default.
    Low,
    /// Ordinary scheduling: hashing shares the CPU evenly with every other thread.
    Normal,
}

impl HashingPriority {
    /// `idle`, `low` or `normal`.
    pub fn parse(input: &str) -> Option<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "idle" => Some(Self::Idle),
            "low" => Some(Self::Low),
            "normal" => Some(Self::Normal),
            _ => None,
        }
    }
}

/// Which queue a hash waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashLane {
    /// A sign-in from a browser the account trusts: served before every hash of `Anyone`.
    Trusted,
    Anyone,
}

/// Too many hashes are queued: this one would wait longer than the limit. Nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the password hashing queue is full: about {expected_wait:?} to wait")]
pub struct Overloaded {
    /// What the wait was expected to be; a fair time to come back after.
    pub expected_wait: Duration,
}

/// The longest a hash may expect to wait by default before it is refused.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(1);

/// The queues and the threads' state, shared by every clone of the hasher and the threads.
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    threads: usize,
    max_wait: Duration,
    /// A running average of one hash's time, in nanoseconds.
    mean_nanos: AtomicU64,
}

#[derive(Default)]
struct Queue {
    trusted: VecDeque<Job>,
    anyone: VecDeque<Job>,
    /// Hashes being computed now.
    running: usize,
    /// Every hasher is gone: the threads stop once the queues are empty.
    closed: bool,
}

/// Closes the queues when the last clone of the hasher is dropped.
struct Closer(Arc<Shared>);

impl Drop for Closer {
    fn drop(&mut self) {
        if let Ok(mut queue) = self.0.queue.lock() {
            queue.closed = true;
        }
        self.0.ready.notify_all();
    }
}

/// One hash to compute, given the thread's reusable working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

#[derive(Clone)]
pub struct PasswordHasher {
    shared: Arc<Shared>,
    _closer: Arc<Closer>,
    /// A real hash of a random password, verified against when the email is unknown so that
    /// unknown and known emails take the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// Starts `threads` hashing threads (normally one per core), which stop when the last clone
    /// of this hasher is dropped; a hash expected to wait over `DEFAULT_MAX_WAIT` is refused.
    pub fn new(threads: usize, priority: HashingPriority) -> anyhow::Result<Self> {
        Self::with_max_wait(threads, priority, DEFAULT_MAX_WAIT)
    }

    /// As `new`, refusing a hash expected to wait over `max_wait`.
    pub fn with_max_wait(
        threads: usize,
        priority: HashingPriority,
        max_wait: Duration,
    ) -> anyhow::Result<Self> {
        let dummy = SaltString::generate(&mut OsRng);
        let started = Instant::now();
        let dummy_hash = hash_blocking(dummy.as_str(), &mut Vec::new())?;
        let first_hash = started.elapsed();
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            threads,
            max_wait,
            mean_nanos: AtomicU64::new(nanos(first_hash)),
        });
        for index in 0..threads {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("password-hashing-{index}"))
                .spawn(move || hashing_thread(&shared, priority, index == 0))
                .context("could not start a password hashing thread")?;
        }
        Ok(Self {
            _closer: Arc::new(Closer(Arc::clone(&shared))),
            shared,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Whether a hash in `lane` may be queued now: `Err` when it would wait longer than the
    /// limit (the hashes ahead of it, shared among the threads, times the recent time of one).
    pub fn admit(&self, lane: HashLane) -> Result<(), Overloaded> {
        let ahead = match self.shared.queue.lock() {
            Ok(queue) => {
                let queued = match lane {
                    HashLane::Trusted => queue.trusted.len(),
                    HashLane::Anyone => queue.trusted.len() + queue.anyone.len(),
                };
                queued + queue.running
            }
            Err(_) => return Ok(()),
        };
        // With fewer hashes ahead than threads, one is free at once (or nearly).
        let rounds = u32::try_from(ahead / self.shared.threads).unwrap_or(u32::MAX);
        let mean = Duration::from_nanos(self.shared.mean_nanos.load(Ordering::Relaxed));
        let expected_wait = mean.saturating_mul(rounds);
        if expected_wait > self.shared.max_wait {
            Err(Overloaded { expected_wait })
        } else {
            Ok(())
        }
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.expose().to_owned();
        self.run(move |memory| hash_blocking(&password, memory))
            .await
    }

    /// Whether `password` matches the stored PHC string `hash`.
    pub async fn verify(&self, password: &Password, hash: &str) -> anyhow::Result<bool> {
        self.verify_in(HashLane::Anyone, password, hash).await
    }

    /// `verify`, waiting in `lane`.
    pub async fn verify_in(
        &self,
        lane: HashLane,
        password: &Password,
        hash: &str,
    ) -> anyhow::Result<bool> {
        let password = password.expose().to_owned();
        let hash = hash.to_owned();
        self.run_in(lane, move |memory| {
            verify_blocking(&password, &hash, memory)
        })
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
        self.run_in(HashLane::Anyone, work).await
    }

    async fn run_in<T: Send + 'static>(
        &self,
        lane: HashLane,
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
        {
            let mut queue = self
                .shared
                .queue
                .lock()
                .map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))?;
            match lane {
                HashLane::Trusted => queue.trusted.push_back(job),
                HashLane::Anyone => queue.anyone.push_back(job),
            }
        }
        self.shared.ready.notify_one();
        answer
            .await
            .context("the password hashing thread gave no answer")?
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A hashing thread: takes jobs off the queues, the trusted first, until the hasher is gone.
fn hashing_thread(shared: &Shared, priority: HashingPriority, report: bool) {
    let lowered = match priority {
        HashingPriority::Idle => lower_to_idle_priority(),
        HashingPriority::Low => lower_to_low_priority(),
        HashingPriority::Normal => Ok(()),
    };
    if let (Err(error), true) = (lowered, report) {
        tracing::warn!(
            %error,
            ?priority,
            "could not lower the password hashing threads' scheduling priority; they run at \
             normal priority"
        );
    }
    let mut memory = Vec::new();
    loop {
        let job = {
            let Ok(mut queue) = shared.queue.lock() else {
                return;
            };
            loop {
                if let Some(job) = queue
                    .trusted
                    .pop_front()
                    .or_else(|| queue.anyone.pop_front())
                {
                    queue.running += 1;
                    break job;
                }
                if queue.closed {
                    return;
                }
                queue = match shared.ready.wait(queue) {
                    Ok(queue) => queue,
                    Err(_) => return,
                };
            }
        };
        let started = Instant::now();
        // A panicking hash answers its caller with an error (its reply is dropped) and leaves
        // this thread serving the next one, with fresh memory.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
            memory = Vec::new();
        }
        let took = nanos(started.elapsed());
        // Jobs whose caller had gone return at once: they say nothing of a hash's time.
        if took > 1_000_000 {
            let mean = shared.mean_nanos.load(Ordering::Relaxed);
            let updated = mean - mean / 8 + took / 8;
            shared.mean_nanos.store(updated, Ordering::Relaxed);
        }
        if let Ok(mut queue) = shared.queue.lock() {
            queue.running = queue.running.saturating_sub(1);
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

/// Nice 5 for this thread (Linux keeps a nice value per thread). The crate maps its 0 to 99
/// scale onto nice 19 to -20: 34 is nice 5.
fn lower_to_low_priority() -> Result<(), thread_priority::Error> {
    let value = thread_priority::ThreadPriorityValue::try_from(34u8)
        .map_err(|_| thread_priority::Error::Priority("34 is out of the crate's range"))?;
    thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Crossplatform(
        value,
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
mod tests;
