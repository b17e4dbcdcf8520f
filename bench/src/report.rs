//! The results: a Markdown table for people and docs/PERFORMANCE.md, and JSON for machines.

use crate::assets::PageWeight;
use crate::load::{self, CheapRun, Run};
use crate::options::Options;
use crate::overload;
use anyhow::Context;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Sign-ins at one concurrency, with the argon2id verification time measured around them.
pub struct SignInRun {
    pub concurrency: usize,
    pub run: Run,
    /// One verification's time: the mean of its median just before and just after the run.
    pub argon2: Duration,
}

impl SignInRun {
    /// The share of the sign-in limit (cores ÷ `argon2`) this run reached.
    pub fn share_of_limit(&self, cores: usize) -> f64 {
        self.run.per_second() / sign_in_limit(cores, self.argon2)
    }
}

/// Sign-ins per second a machine with `cores` could do if it did nothing but verify passwords.
fn sign_in_limit(cores: usize, argon2: Duration) -> f64 {
    cores as f64 / argon2.as_secs_f64().max(f64::EPSILON)
}

pub struct ScaleReport {
    pub accounts: usize,
    /// On PostgreSQL, with this many server instances; `None`: one server on SQLite.
    pub postgres_instances: Option<usize>,
    pub cores: usize,
    /// Every timing of one argon2id verification made for this scale.
    pub argon2_times: Vec<Duration>,
    /// Verifications per second with every core verifying (no server involved).
    pub argon2_all_cores: f64,
    /// Every sign-in run, in the order made (several at each concurrency).
    pub sign_ins: Vec<SignInRun>,
    pub cheap: CheapRun,
    /// Code verifications as deployed (the server's threads on any CPU), by how many clients
    /// checked at once (`load::VERIFICATION_CLIENTS`).
    pub verifications: BTreeMap<usize, RunSeries>,
    /// Code verifications with the server confined to one CPU and the load generator to the
    /// others, with the first number of clients; empty when they cannot be (one CPU, or no
    /// `taskset`).
    pub verifications_on_one_cpu: RunSeries,
    pub code_requests: Run,
    pub peak_memory_kib: Option<u64>,
}

impl ScaleReport {
    pub fn new(accounts: usize, cores: usize, argon2: Duration, argon2_all_cores: f64) -> Self {
        Self {
            accounts,
            postgres_instances: None,
            cores,
            argon2_times: vec![argon2],
            argon2_all_cores,
            sign_ins: Vec::new(),
            cheap: CheapRun::default(),
            verifications: BTreeMap::new(),
            verifications_on_one_cpu: RunSeries::default(),
            code_requests: Run::default(),
            peak_memory_kib: None,
        }
    }

    /// The same measurements on PostgreSQL with `instances` servers (`None`: SQLite).
    pub fn on_postgres(self, instances: Option<usize>) -> Self {
        Self {
            postgres_instances: instances,
            ..self
        }
    }

    /// Its column's name: the size, and the deployment when it is not the one SQLite server.
    pub fn name(&self) -> String {
        let accounts = thousands(self.accounts);
        match self.postgres_instances {
            Some(instances) => format!("{accounts} accounts, PostgreSQL ×{instances}"),
            None => format!("{accounts} accounts"),
        }
    }

    /// One argon2id verification: the median of every timing made at this scale.
    pub fn argon2(&self) -> Duration {
        let mut times = self.argon2_times.clone();
        times.sort();
        times.get(times.len() / 2).copied().unwrap_or_default()
    }

    /// Sign-ins per second the machine could do if it did nothing but verify passwords.
    pub fn sign_in_limit(&self) -> f64 {
        sign_in_limit(self.cores, self.argon2())
    }

    /// The runs at `concurrency`, by share of their limit, lowest first.
    fn runs_at(&self, concurrency: usize) -> Vec<&SignInRun> {
        let mut runs: Vec<&SignInRun> = self
            .sign_ins
            .iter()
            .filter(|run| run.concurrency == concurrency)
            .collect();
        runs.sort_by(|a, b| {
            a.share_of_limit(self.cores)
                .total_cmp(&b.share_of_limit(self.cores))
        });
        runs
    }

    /// The run with the median share of its limit at `concurrency`.
    fn median_at(&self, concurrency: usize) -> Option<&SignInRun> {
        let runs = self.runs_at(concurrency);
        runs.get(runs.len() / 2).copied()
    }

    /// The concurrencies measured, in order.
    fn concurrencies(&self) -> Vec<usize> {
        let mut seen = Vec::new();
        for run in &self.sign_ins {
            if !seen.contains(&run.concurrency) {
                seen.push(run.concurrency);
            }
        }
        seen
    }

    /// The median run with the best share of its limit at a concurrency of at least the core
    /// count.
    fn saturated_sign_ins(&self) -> Option<&SignInRun> {
        self.concurrencies()
            .into_iter()
            .filter(|concurrency| *concurrency >= self.cores)
            .filter_map(|concurrency| self.median_at(concurrency))
            .max_by(|a, b| {
                a.share_of_limit(self.cores)
                    .total_cmp(&b.share_of_limit(self.cores))
            })
    }
}

/// Repeated runs of one measurement, slowest first: the median run is reported, with the range.
#[derive(Default)]
pub struct RunSeries(Vec<Run>);

impl RunSeries {
    pub fn add(&mut self, run: Run) {
        self.0.push(run);
        self.0
            .sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    }

    pub fn median(&self) -> Run {
        self.0.get(self.0.len() / 2).cloned().unwrap_or_default()
    }

    /// "rate (p50 / p99 ms; slowest–fastest)" of the median run, or "—" without runs.
    fn cell(&self) -> String {
        let (Some(slowest), Some(fastest)) = (self.0.first(), self.0.last()) else {
            return "—".to_owned();
        };
        let run = self.median();
        format!(
            "{:.0} ({} / {}; {:.0}–{:.0}){}",
            run.per_second(),
            ms(run.percentile(0.5)),
            ms(run.percentile(0.99)),
            slowest.per_second(),
            fastest.per_second(),
            errors(&run)
        )
    }

    /// The median run, and every run.
    fn json(&self) -> Value {
        json!({
            "median": run_json(&self.median()),
            "runs": self.0.iter().map(run_json).collect::<Vec<_>>(),
        })
    }
}

pub struct Report {
    pub cores: usize,
    pub cpu: String,
    /// How an idle CPU waits, when Linux says (see `cpu_idle`).
    pub cpu_idle: Option<String>,
    pub duration: Duration,
    pub scales: Vec<ScaleReport>,
    pub page_weight: Option<PageWeight>,
    /// Strangers' sign-ins at ten times the limit, beside a trusted browser's.
    pub flood: Option<overload::FloodReport>,
    /// Sign-ins with the host's cores kept busy, for each hashing priority.
    pub busy_host: Vec<overload::BusyHostRun>,
    /// Reset requests for real and unknown emails.
    pub recovery_timing: Option<overload::RecoveryTiming>,
}

pub(crate) fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// ", N errors" when a run had failed requests.
fn errors(run: &Run) -> String {
    if run.errors > 0 {
        format!(", {} errors", run.errors)
    } else {
        String::new()
    }
}

/// The CPU idle driver, and with `haltpoll` (a KVM guest's) how long an idle CPU polls before it
/// halts: on a virtual machine, waking a halted CPU costs far more than waking a polling one, and
/// the code verification figures depend on it (docs/PERFORMANCE.md).
fn cpu_idle() -> Option<String> {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|text| text.trim().to_owned())
    };
    let driver = read("/sys/devices/system/cpu/cpuidle/current_driver")?;
    Some(
        match read("/sys/module/haltpoll/parameters/guest_halt_poll_ns")
            .filter(|_| driver == "haltpoll")
        {
            Some(ns) => format!("CPU idle driver haltpoll, polling {ns} ns before halting"),
            None => format!("CPU idle driver {driver}"),
        },
    )
}

fn kb(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / 1000.0)
}

pub(crate) fn run_json(run: &Run) -> Value {
    json!({
        "ok": run.ok,
        "errors": run.errors,
        "seconds": run.elapsed.as_secs_f64(),
        "per_second": run.per_second(),
        "p50_ms": run.percentile(0.50).as_secs_f64() * 1000.0,
        "p99_ms": run.percentile(0.99).as_secs_f64() * 1000.0,
        "first_error": run.first_error,
        "cpu_ms": (!run.cpu.is_empty()).then(|| {
            run.cpu
                .by_kind()
                .iter()
                .map(|(kind, spent)| ((*kind).to_owned(), json!(spent.as_secs_f64() * 1000.0)))
                .collect::<serde_json::Map<_, _>>()
        }),
    })
}

/// The CPU a run spent per request, by kind of process: "0.80 / 0.60 / 0.25 / 0.05 / 0.10", or
/// "—" where it was not measured.
fn cpu_per_check_cell(run: &Run) -> String {
    if run.cpu.is_empty() || run.ok == 0 {
        return "—".to_owned();
    }
    run.cpu
        .by_kind()
        .iter()
        .map(|(_, spent)| format!("{:.2}", spent.as_secs_f64() * 1000.0 / run.ok as f64))
        .collect::<Vec<_>>()
        .join(" / ")
}

impl Report {
    pub fn new(cores: usize, options: &Options) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|line| line.strip_prefix("model name"))
                    .map(|name| name.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".to_owned());
        Self {
            cores,
            cpu,
            cpu_idle: cpu_idle(),
            duration: options.duration,
            scales: Vec::new(),
            page_weight: None,
            flood: None,
            busy_host: Vec::new(),
            recovery_timing: None,
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Machine: {} cores, {}{}. Each timed run: {:.1} s; each code verification run: {} \
             rounds of {} codes the server issued. The sign-in limit is cores ÷ one argon2id \
             verification's time; each sign-in run is compared with the time measured just \
             before and just after it. The sizes are measured in turn, run by run.\n",
            self.cores,
            self.cpu,
            self.cpu_idle
                .as_ref()
                .map(|idle| format!(", {idle}"))
                .unwrap_or_default(),
            self.duration.as_secs_f64(),
            load::VERIFICATION_ROUNDS,
            load::VERIFICATION_ROUND
        );
        let _ = writeln!(
            out,
            "| figure | {} |",
            self.scales
                .iter()
                .map(ScaleReport::name)
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(out, "|---|{}", "---|".repeat(self.scales.len()));
        let row = |out: &mut String, name: &str, cell: &dyn Fn(&ScaleReport) -> String| {
            let cells: Vec<String> = self.scales.iter().map(cell).collect();
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        };
        row(&mut out, "one argon2id verification (ms)", &|scale| {
            ms(scale.argon2())
        });
        row(
            &mut out,
            "**sign-in limit** (cores ÷ that, per second)",
            &|scale| format!("{:.1}", scale.sign_in_limit()),
        );
        row(
            &mut out,
            "argon2id alone on every core, no server (per second; share of limit)",
            &|scale| {
                format!(
                    "{:.1} ({:.0}%)",
                    scale.argon2_all_cores,
                    100.0 * scale.argon2_all_cores / scale.sign_in_limit()
                )
            },
        );
        let concurrencies: Vec<usize> = self
            .scales
            .first()
            .map(ScaleReport::concurrencies)
            .unwrap_or_default();
        for concurrency in concurrencies {
            row(
                &mut out,
                &format!(
                    "sign-ins/s at concurrency {concurrency} (p50 / p99 ms; share of the limit \
                     around the run: the median run, and the range)"
                ),
                &|scale| {
                    let runs = scale.runs_at(concurrency);
                    let share = |run: Option<&&SignInRun>| {
                        100.0 * run.map_or(0.0, |run| run.share_of_limit(scale.cores))
                    };
                    scale
                        .median_at(concurrency)
                        .map(|median| {
                            let run = &median.run;
                            format!(
                                "{:.1} ({} / {}; {:.0}% of {:.1}; {:.0}–{:.0}%){}",
                                run.per_second(),
                                ms(run.percentile(0.5)),
                                ms(run.percentile(0.99)),
                                100.0 * median.share_of_limit(scale.cores),
                                sign_in_limit(scale.cores, median.argon2),
                                share(runs.first()),
                                share(runs.last()),
                                errors(run)
                            )
                        })
                        .unwrap_or_default()
                },
            );
        }
        row(
            &mut out,
            &format!(
                "best median share of the limit at concurrency ≥ {} (sign-ins/s)",
                self.cores
            ),
            &|scale| match scale.saturated_sign_ins() {
                Some(best) => format!(
                    "**{:.0}%** ({:.1} at concurrency {})",
                    100.0 * best.share_of_limit(scale.cores),
                    best.run.per_second(),
                    best.concurrency
                ),
                None => "—".to_owned(),
            },
        );
        row(
            &mut out,
            "GET /login while sign-ins saturate: p50 / p99 ms",
            &|scale| {
                format!(
                    "{} / {}",
                    ms(scale.cheap.login_page.percentile(0.5)),
                    ms(scale.cheap.login_page.percentile(0.99))
                )
            },
        );
        row(
            &mut out,
            "GET /healthz while sign-ins saturate: p50 / p99 ms",
            &|scale| {
                format!(
                    "{} / {}",
                    ms(scale.cheap.health.percentile(0.5)),
                    ms(scale.cheap.health.percentile(0.99))
                )
            },
        );
        row(&mut out, "sign-ins/s meanwhile", &|scale| {
            format!("{:.1}", scale.cheap.sign_ins.per_second())
        });
        for clients in load::VERIFICATION_CLIENTS {
            row(
                &mut out,
                &format!(
                    "code verifications/s, {clients} clients (p50 / p99 ms; the median of the \
                     runs, and their range)"
                ),
                &|scale| {
                    scale
                        .verifications
                        .get(&clients)
                        .map_or_else(|| "—".to_owned(), RunSeries::cell)
                },
            );
            row(
                &mut out,
                &format!(
                    "CPU per code verification, {clients} clients, ms: PostgreSQL / servers / \
                     load generator / other / idle (the median run)"
                ),
                &|scale| {
                    let runs = scale.verifications.get(&clients);
                    cpu_per_check_cell(&runs.map(RunSeries::median).unwrap_or_default())
                },
            );
        }
        row(
            &mut out,
            &format!(
                "code verifications/s, {} clients, the server on one CPU and the load generator \
                 on the others",
                load::VERIFICATION_CLIENTS[0]
            ),
            &|scale| scale.verifications_on_one_cpu.cell(),
        );
        row(
            &mut out,
            "unlock-code requests/s (p50 / p99 ms)",
            &|scale| {
                let run = &scale.code_requests;
                format!(
                    "{:.0} ({} / {}){}",
                    run.per_second(),
                    ms(run.percentile(0.5)),
                    ms(run.percentile(0.99)),
                    errors(run)
                )
            },
        );
        row(&mut out, "server peak resident memory", &|scale| {
            scale
                .peak_memory_kib
                .map(|kib| format!("{:.1} MB", kib as f64 * 1024.0 / 1e6))
                .unwrap_or_else(|| "unknown".to_owned())
        });
        if let Some(weight) = &self.page_weight {
            let _ = writeln!(out, "\nFirst load of /login:\n\n| resource | raw KB | brotli KB | served as brotli | Cache-Control |\n|---|---|---|---|---|");
            for resource in &weight.resources {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} |",
                    resource.path,
                    kb(resource.raw_bytes),
                    kb(resource.brotli_bytes),
                    if resource.served_brotli { "yes" } else { "no" },
                    resource.cache_control.as_deref().unwrap_or("—")
                );
            }
            let _ = writeln!(
                out,
                "| **total** | **{}** | **{}** | | |",
                kb(weight.raw_total()),
                kb(weight.brotli_total())
            );
        }
        if let Some(flood) = &self.flood {
            flood.markdown(&mut out);
        }
        overload::busy_host_markdown(&self.busy_host, &mut out);
        if let Some(timing) = &self.recovery_timing {
            timing.markdown(&mut out);
        }
        out
    }

    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        let scales: Vec<Value> = self
            .scales
            .iter()
            .map(|scale| {
                json!({
                    "accounts": scale.accounts,
                    "database": if scale.postgres_instances.is_some() { "postgres" } else { "sqlite" },
                    "instances": scale.postgres_instances.unwrap_or(1),
                    "argon2_verification_ms": scale.argon2().as_secs_f64() * 1000.0,
                    "sign_in_limit_per_second": scale.sign_in_limit(),
                    "argon2_all_cores_per_second": scale.argon2_all_cores,
                    "sign_ins": scale.sign_ins.iter().map(|sign_ins| {
                        let mut value = run_json(&sign_ins.run);
                        value["concurrency"] = json!(sign_ins.concurrency);
                        value["argon2_verification_ms"] =
                            json!(sign_ins.argon2.as_secs_f64() * 1000.0);
                        value["share_of_limit"] = json!(sign_ins.share_of_limit(scale.cores));
                        value
                    }).collect::<Vec<_>>(),
                    "cheap_under_load": {
                        "login_page": run_json(&scale.cheap.login_page),
                        "healthz": run_json(&scale.cheap.health),
                        "sign_ins": run_json(&scale.cheap.sign_ins),
                    },
                    "code_verifications": scale.verifications.iter().map(|(clients, runs)| {
                        let mut value = runs.json();
                        value["clients"] = json!(clients);
                        value
                    }).collect::<Vec<_>>(),
                    "code_verifications_server_on_one_cpu": scale.verifications_on_one_cpu.json(),
                    "unlock_code_requests": run_json(&scale.code_requests),
                    "peak_resident_kib": scale.peak_memory_kib,
                })
            })
            .collect();
        let report = json!({
            "cores": self.cores,
            "cpu": self.cpu,
            "cpu_idle": self.cpu_idle,
            "run_seconds": self.duration.as_secs_f64(),
            "scales": scales,
            "flood": self.flood.as_ref().map(overload::FloodReport::json),
            "busy_host": overload::busy_host_json(&self.busy_host),
            "recovery_timing": self.recovery_timing.as_ref().map(overload::RecoveryTiming::json),
            "first_load": self.page_weight.as_ref().map(|weight| json!({
                "resources": weight.resources,
                "raw_bytes": weight.raw_total(),
                "brotli_bytes": weight.brotli_total(),
            })),
        });
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("could not create {}", parent.display()))?;
        }
        let text = serde_json::to_string_pretty(&report).context("the JSON report")?;
        std::fs::write(path, text).with_context(|| format!("could not write {}", path.display()))
    }
}

/// `1234567` as `1,234,567`.
fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_of(ok: u64) -> Run {
        Run {
            ok,
            elapsed: Duration::from_secs(1),
            latencies: vec![Duration::from_millis(2)],
            ..Run::default()
        }
    }

    #[test]
    fn a_series_reports_its_median_run_and_the_range_of_all() {
        let mut series = RunSeries::default();
        assert_eq!(series.cell(), "—");
        for ok in [3000, 1000, 2000] {
            series.add(run_of(ok));
        }
        assert_eq!(series.median().ok, 2000);
        assert_eq!(series.cell(), "2000 (2.0 / 2.0; 1000–3000)");
        assert_eq!(series.json()["runs"].as_array().map(Vec::len), Some(3));
    }
}
