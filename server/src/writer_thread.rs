//! The SQLite writer's thread: where requests that change state are served, next to the
//! connection that makes every write (see `store`).
//!
//! A write transaction is a conversation: the request's task sends a statement to sqlx's SQLite
//! connection thread, waits for the answer, decides, and sends the next one. Each exchange wakes
//! one thread from the other. When the two threads sit on different CPUs, every exchange wakes an
//! idle CPU, and on a virtual machine whose idle CPUs halt at once that costs more than the
//! statement itself; verifying a code (six exchanges, through the one writer) then ran at a third
//! of its speed. So, with SQLite and more than one CPU, one thread pinned to one CPU runs an async
//! runtime of its own; the writer connection is opened from it (sqlx's connection thread inherits
//! the pin), and every request whose method may change state is served on it, as are the
//! background tasks that write (delivery, clean-up, checkpoints). The exchanges of a write
//! transaction then stay on one CPU. Everything else (pages, reads, password hashing) keeps every
//! CPU. The price: all the work of a request that writes, not only its transaction, shares that
//! one CPU (docs/PERFORMANCE.md).
//!
//! `SQLITE_WRITER_CPU` chooses the CPU: `auto` (the default: the last CPU this process may run
//! on, when it may run on more than one), a CPU number, or `off` (requests are served where they
//! arrive).

use anyhow::Context;
use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::oneshot;

/// `SQLITE_WRITER_CPU`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterCpu {
    /// The last CPU this process may run on, when it may run on more than one.
    Auto,
    /// This CPU.
    Cpu(usize),
    /// No writer thread.
    Off,
}

impl WriterCpu {
    /// `auto`, `off`, or a CPU number.
    pub fn parse(input: &str) -> Option<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "off" => Some(Self::Off),
            number => number.parse().ok().map(Self::Cpu),
        }
    }

    /// The CPU to pin to, given the CPUs this process may run on: `None` for no writer thread.
    fn choose(self, allowed: &[usize]) -> anyhow::Result<Option<usize>> {
        match self {
            Self::Off => Ok(None),
            Self::Auto if allowed.len() < 2 => Ok(None),
            Self::Auto => Ok(allowed.last().copied()),
            Self::Cpu(cpu) if allowed.contains(&cpu) => Ok(Some(cpu)),
            Self::Cpu(cpu) => anyhow::bail!(
                "SQLITE_WRITER_CPU={cpu}: this process may not run on CPU {cpu} (it may run on {})",
                cpu_list(allowed)
            ),
        }
    }
}

/// Where write work runs: on the pinned writer thread, or (when there is none) on the caller's
/// own task. Cheap to clone; the thread stops when the last clone is dropped, and the requests
/// still running on it are cancelled then.
#[derive(Clone, Default)]
pub struct WriterThread {
    pinned: Option<Arc<Pinned>>,
}

struct Pinned {
    runtime: tokio::runtime::Handle,
    cpu: usize,
    /// Dropped with the last clone, which ends the thread.
    _stop: oneshot::Sender<()>,
}

/// The writer thread has stopped (the server is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the SQLite writer thread has stopped")]
pub struct WriterThreadStopped;

impl WriterThread {
    /// No writer thread: `run` awaits the work where it is called.
    pub fn none() -> Self {
        Self::default()
    }

    /// Starts the writer thread on the CPU `choice` names (none for `Off`, or for `Auto` when
    /// this process may run on a single CPU).
    pub fn start(choice: WriterCpu) -> anyhow::Result<Self> {
        let allowed = allowed_cpus().context("could not read which CPUs this process may use")?;
        let Some(cpu) = choice.choose(&allowed)? else {
            return Ok(Self::none());
        };
        let (started, start_result) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || {
                let runtime = confine_current_thread(&[cpu])
                    .and_then(|()| runtime_running_anywhere(&allowed));
                match runtime {
                    Ok(runtime) => {
                        let _ = started.send(Ok(runtime.handle().clone()));
                        runtime.block_on(async {
                            let _ = stopped.await;
                        });
                    }
                    Err(error) => {
                        let _ = started.send(Err(error));
                    }
                }
            })
            .context("could not start the SQLite writer thread")?;
        let runtime = start_result
            .recv()
            .context("the SQLite writer thread ended as it started")??;
        Ok(Self {
            pinned: Some(Arc::new(Pinned {
                runtime,
                cpu,
                _stop: stop,
            })),
        })
    }

    /// The CPU the thread is pinned to; `None` when there is no writer thread.
    pub fn cpu(&self) -> Option<usize> {
        self.pinned.as_ref().map(|pinned| pinned.cpu)
    }

    /// Starts `work` on the writer thread, or (without one) as a task of the caller's runtime.
    pub fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.pinned {
            Some(pinned) => pinned.runtime.spawn(work),
            None => tokio::spawn(work),
        }
    }

    /// Runs `work` on the writer thread and waits for it; without one, just awaits it. A panic in
    /// `work` resumes here.
    pub async fn run<F>(&self, work: F) -> Result<F::Output, WriterThreadStopped>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.pinned.is_none() {
            return Ok(work.await);
        }
        match self.spawn(work).await {
            Ok(output) => Ok(output),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Err(WriterThreadStopped),
        }
    }
}

/// The CPUs this thread may run on, in increasing order.
pub fn allowed_cpus() -> anyhow::Result<Vec<usize>> {
    let set = sched_getaffinity(Pid::from_raw(0))?;
    Ok((0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect())
}

/// Confines the calling thread to `cpus`; threads it starts afterwards inherit that.
fn confine_current_thread(cpus: &[usize]) -> anyhow::Result<()> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu)?;
    }
    sched_setaffinity(Pid::from_raw(0), &set)
        .with_context(|| format!("could not confine a thread to CPU {}", cpu_list(cpus)))
}

/// A single-threaded runtime for the calling (pinned) thread. Its blocking threads, which that
/// thread starts, first widen their CPUs back to `allowed`: only the runtime's own thread, and the
/// SQLite connection threads it opens, stay pinned.
fn runtime_running_anywhere(allowed: &[usize]) -> anyhow::Result<tokio::runtime::Runtime> {
    let allowed = allowed.to_vec();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(move || {
            if let Err(error) = confine_current_thread(&allowed) {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "a blocking thread stays pinned"
                );
            }
        })
        .build()
        .context("could not build the SQLite writer thread's runtime")
}

/// CPU numbers for messages: `0, 2, 3`.
fn cpu_list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn the_choice_parses_auto_off_and_numbers() {
        assert_eq!(WriterCpu::parse("auto"), Some(WriterCpu::Auto));
        assert_eq!(WriterCpu::parse(" OFF "), Some(WriterCpu::Off));
        assert_eq!(WriterCpu::parse("3"), Some(WriterCpu::Cpu(3)));
        assert_eq!(WriterCpu::parse("-1"), None);
        assert_eq!(WriterCpu::parse("last"), None);
        assert_eq!(WriterCpu::parse(""), None);
    }

    #[test]
    fn auto_takes_the_last_allowed_cpu_and_needs_two() -> anyhow::Result<()> {
        assert_eq!(WriterCpu::Auto.choose(&[0, 1, 2, 3])?, Some(3));
        assert_eq!(WriterCpu::Auto.choose(&[2, 5])?, Some(5));
        assert_eq!(WriterCpu::Auto.choose(&[1])?, None);
        assert_eq!(WriterCpu::Off.choose(&[0, 1])?, None);
        Ok(())
    }

    #[test]
    fn a_named_cpu_must_be_allowed() -> anyhow::Result<()> {
        assert_eq!(WriterCpu::Cpu(0).choose(&[0, 1])?, Some(0));
        // One allowed CPU is still a choice the operator made.
        assert_eq!(WriterCpu::Cpu(1).choose(&[1])?, Some(1));
        let refused = WriterCpu::Cpu(4).choose(&[0, 1]).map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err(
                "SQLITE_WRITER_CPU=4: this process may not run on CPU 4 (it may run on 0, 1)"
                    .into()
            )
        );
        Ok(())
    }

    /// The CPUs of this process's thread `tid`, as the kernel lists them (`Cpus_allowed_list`).
    pub(crate) fn cpus_of_thread(tid: &str) -> anyhow::Result<String> {
        let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
            .map(|list| list.trim().to_owned())
            .context("no Cpus_allowed_list")
    }

    /// This thread's id, as `/proc/self/task` names it.
    fn current_tid() -> anyhow::Result<String> {
        let link = std::fs::read_link("/proc/thread-self")?;
        link.file_name()
            .and_then(|name| name.to_str())
            .map(str::to_owned)
            .context("no thread id in /proc/thread-self")
    }

    #[tokio::test]
    async fn work_runs_pinned_and_its_blocking_threads_do_not() -> anyhow::Result<()> {
        let allowed = allowed_cpus()?;
        let Some(&first) = allowed.first() else {
            anyhow::bail!("no allowed CPU");
        };
        let thread = WriterThread::start(WriterCpu::Cpu(first))?;
        assert_eq!(thread.cpu(), Some(first));
        let pinned = thread
            .run(async { cpus_of_thread(&current_tid()?) })
            .await??;
        assert_eq!(pinned, first.to_string());
        let blocking = thread
            .run(async { tokio::task::spawn_blocking(|| cpus_of_thread(&current_tid()?)).await })
            .await???;
        assert_eq!(
            blocking,
            cpus_of_thread(&current_tid()?)?,
            "the test's own CPUs"
        );
        Ok(())
    }

    #[tokio::test]
    async fn without_a_thread_work_runs_in_place_and_panics_still_surface() -> anyhow::Result<()> {
        let none = WriterThread::start(WriterCpu::Off)?;
        assert_eq!(none.cpu(), None);
        let here = current_tid()?;
        assert_eq!(none.run(async { current_tid() }).await??, here);

        let allowed = allowed_cpus()?;
        let thread = WriterThread::start(WriterCpu::Cpu(allowed[0]))?;
        let panicked =
            tokio::spawn(async move { thread.run(async { panic!("a bug in a handler") }).await })
                .await;
        assert!(panicked.is_err_and(|error| error.is_panic()));
        Ok(())
    }

    #[tokio::test]
    async fn the_thread_ends_with_its_last_clone() -> anyhow::Result<()> {
        let allowed = allowed_cpus()?;
        let thread = WriterThread::start(WriterCpu::Cpu(allowed[0]))?;
        let clone = thread.clone();
        let tid = thread.run(async { current_tid() }).await??;
        drop(thread);
        assert_eq!(clone.run(async { 7 }).await?, 7, "a clone keeps it running");
        drop(clone);
        let gone = std::path::Path::new("/proc/self/task").join(&tid);
        for _ in 0..200 {
            if !gone.exists() {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        anyhow::bail!("the writer thread {tid} still runs after its last clone was dropped")
    }
}
