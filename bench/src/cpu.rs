//! Where the machine's CPU went during a measured window: the PostgreSQL processes, the server
//! processes, the load generator (this process), everything else, and idle, read from Linux's
//! `/proc` (in clock ticks) before and after the window. It says which process a figure waits on
//! when every core is busy.

use std::collections::HashMap;
use std::time::Duration;

/// CPU time spent during one or more windows, by kind of process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSpent {
    pub postgres: Duration,
    pub servers: Duration,
    pub load_generator: Duration,
    /// Any other process, and the kernel's own work (interrupts, kernel threads).
    pub other: Duration,
    pub idle: Duration,
}

impl CpuSpent {
    pub fn add(&mut self, other: CpuSpent) {
        self.postgres += other.postgres;
        self.servers += other.servers;
        self.load_generator += other.load_generator;
        self.other += other.other;
        self.idle += other.idle;
    }

    pub fn total(&self) -> Duration {
        self.postgres + self.servers + self.load_generator + self.other + self.idle
    }

    pub fn is_empty(&self) -> bool {
        self.total().is_zero()
    }

    /// Each kind by its name in the JSON report, in the order of the printed table.
    pub fn by_kind(&self) -> [(&'static str, Duration); 5] {
        [
            ("postgres", self.postgres),
            ("servers", self.servers),
            ("load_generator", self.load_generator),
            ("other", self.other),
            ("idle", self.idle),
        ]
    }
}

/// The CPU counters at one moment.
#[derive(Debug, Clone)]
pub struct CpuSample {
    /// Busy and idle (idle and iowait) ticks of the whole machine.
    machine: (u64, u64),
    /// Ticks of the processes of each kind; the others' are the machine's busy ticks less these.
    by_kind: HashMap<Kind, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Postgres,
    Server,
    LoadGenerator,
}

/// Clock ticks per second of `/proc`'s counters (`USER_HZ`, 100 on every Linux architecture the
/// benchmark runs on).
const TICKS_PER_SECOND: u64 = 100;

fn ticks(count: u64) -> Duration {
    Duration::from_millis(count * 1000 / TICKS_PER_SECOND)
}

impl CpuSample {
    /// `None` where `/proc` cannot be read (not Linux).
    pub fn now() -> Option<Self> {
        let machine = machine_ticks()?;
        let own = std::process::id().to_string();
        let mut by_kind = HashMap::new();
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let pid = entry.file_name();
            let Some(pid) = pid
                .to_str()
                .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            // A process may end between the listing and the read: it is skipped.
            let Some((name, spent)) = process_ticks(pid) else {
                continue;
            };
            let kind = if pid == own {
                Kind::LoadGenerator
            } else {
                match name.as_str() {
                    "postgres" => Kind::Postgres,
                    "server" => Kind::Server,
                    _ => continue,
                }
            };
            *by_kind.entry(kind).or_insert(0) += spent;
        }
        Some(Self { machine, by_kind })
    }

    /// What was spent from `before` to this sample. Processes that ended meanwhile are not
    /// counted; the machine's total is, so their time shows as `other`.
    pub fn since(&self, before: &CpuSample) -> CpuSpent {
        let kind = |kind| {
            let after = self.by_kind.get(&kind).copied().unwrap_or(0);
            after.saturating_sub(before.by_kind.get(&kind).copied().unwrap_or(0))
        };
        let busy = self.machine.0.saturating_sub(before.machine.0);
        let (postgres, servers, load_generator) = (
            kind(Kind::Postgres),
            kind(Kind::Server),
            kind(Kind::LoadGenerator),
        );
        CpuSpent {
            postgres: ticks(postgres),
            servers: ticks(servers),
            load_generator: ticks(load_generator),
            other: ticks(busy.saturating_sub(postgres + servers + load_generator)),
            idle: ticks(self.machine.1.saturating_sub(before.machine.1)),
        }
    }
}

/// The first line of `/proc/stat`: (busy, idle) ticks of all CPUs together.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    let busy: u64 = fields.iter().take(8).sum::<u64>() - idle;
    Some((busy, idle))
}

/// A process's name and its user + system ticks, from `/proc/<pid>/stat`.
fn process_ticks(pid: &str) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may hold spaces; the fields after it are numbered from 3.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields: 11 and 12 after the state (the 3rd).
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((name, user + system))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_loop_in_this_process_counts_as_the_load_generators() {
        let before = CpuSample::now().expect("/proc is readable");
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let spent = CpuSample::now().expect("/proc is readable").since(&before);
        assert!(
            spent.load_generator >= Duration::from_millis(200),
            "{spent:?}"
        );
        assert!(spent.total() >= spent.load_generator, "{spent:?}");
    }
}
