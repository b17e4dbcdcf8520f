//! CPU affinity, through `taskset` (util-linux): confines a running process, every thread
//! included, to some CPUs while a measurement runs, and gives it every CPU back when dropped.
//!
//! Used to measure code checks with the server on one CPU and the load generator on the others
//! (see `OneCpuSplit`).

use crate::process::status_field;
use anyhow::Context;
use std::process::{Command, Stdio};

/// The server on the last CPU this process may use, the load generator on the rest.
pub struct OneCpuSplit {
    pub server: String,
    pub load: String,
    all: String,
}

impl OneCpuSplit {
    /// The split for this process, or why there is none (one CPU, or no `taskset`), said once
    /// at the start rather than when the measurement is due.
    pub fn usable() -> anyhow::Result<Result<Self, &'static str>> {
        let Some(split) = Self::of_this_process()? else {
            return Ok(Err("this process may use one CPU only"));
        };
        let taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        Ok(match taskset {
            Ok(status) if status.success() => Ok(split),
            _ => Err("taskset (from util-linux) is not installed"),
        })
    }

    /// Splits the CPUs this process may use; `None` when there is only one.
    pub fn of_this_process() -> anyhow::Result<Option<Self>> {
        let all = status_field("self", "Cpus_allowed_list")
            .context("/proc/self/status has no Cpus_allowed_list")?;
        Self::of(&all)
    }

    /// Splits a CPU list in `taskset`'s format ("0-3,6").
    fn of(all: &str) -> anyhow::Result<Option<Self>> {
        let mut cpus = Vec::new();
        for part in all.split(',') {
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            let number = |text: &str| {
                text.trim()
                    .parse::<usize>()
                    .with_context(|| format!("{all:?} is not a CPU list"))
            };
            cpus.extend(number(first)?..=number(last)?);
        }
        let Some((server, load)) = cpus.split_last().filter(|(_, load)| !load.is_empty()) else {
            return Ok(None);
        };
        let load: Vec<String> = load.iter().map(usize::to_string).collect();
        Ok(Some(Self {
            server: server.to_string(),
            load: load.join(","),
            all: all.to_owned(),
        }))
    }

    /// Confines `pid` to `cpus` (one of this split's lists) until the result is dropped.
    pub fn confine(&self, pid: u32, cpus: &str) -> anyhow::Result<Confined> {
        set_affinity(pid, cpus)?;
        Ok(Confined {
            pid,
            all: self.all.clone(),
        })
    }
}

/// A process confined to some CPUs; dropping it gives the process every CPU back.
pub struct Confined {
    pid: u32,
    all: String,
}

impl Drop for Confined {
    fn drop(&mut self) {
        if let Err(error) = set_affinity(self.pid, &self.all) {
            eprintln!("warning: {error:#}");
        }
    }
}

fn set_affinity(pid: u32, cpus: &str) -> anyhow::Result<()> {
    let status = Command::new("taskset")
        .args(["--all-tasks", "--cpu-list", "--pid", cpus, &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .context("could not run taskset (from util-linux), which sets CPU affinity")?;
    anyhow::ensure!(
        status.success(),
        "taskset could not confine process {pid} to CPUs {cpus}: {status}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_gets_the_last_cpu_and_the_load_the_others() {
        let split = OneCpuSplit::of("0-2,5")
            .expect("a CPU list")
            .expect("a split");
        assert_eq!(
            (
                split.server.as_str(),
                split.load.as_str(),
                split.all.as_str()
            ),
            ("5", "0,1,2", "0-2,5")
        );
        assert!(OneCpuSplit::of("3").expect("a CPU list").is_none());
        assert!(OneCpuSplit::of("0-x").is_err());
    }

    #[test]
    fn a_confined_process_runs_only_on_its_cpus_until_released() {
        let Some(split) = OneCpuSplit::of_this_process().expect("this process's CPUs") else {
            eprintln!("one CPU: nothing to confine");
            return;
        };
        let mut child = Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep starts");
        let pid = child.id();
        let allowed =
            || status_field(&pid.to_string(), "Cpus_allowed_list").expect("Cpus_allowed_list");
        let confined = split.confine(pid, &split.server).expect("taskset works");
        assert_eq!(allowed(), split.server);
        drop(confined);
        assert_eq!(allowed(), split.all);
        let _ = child.kill();
        let _ = child.wait();
    }
}
