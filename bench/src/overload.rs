//! Sign-ins beyond what the cores can hash, two ways:
//!
//! - **The flood:** strangers' sign-ins arrive at ten times the sign-in limit (cores ÷ one
//!   verification), each from its own address, against a server at its default hashing queue
//!   limit. Meanwhile a trusted browser (one that signed in before, holding its device cookie)
//!   signs in every 100 ms, and cheap pages are fetched every 20 ms. What is measured: the trusted
//!   sign-ins' latency, the cheap pages' latency, and how much of the flood was refused early.
//! - **Known and unknown emails:** `POST /api/request-reset` for a real account and for an email
//!   with no account, alternated, each from its own address: the two medians should match, or
//!   the answer's timing tells which emails have accounts.
//! - **A busy host:** every core kept busy by another process's threads at the ordinary
//!   priority, while sign-ins run at concurrency 8, for each hashing priority (`idle`, `low`,
//!   `normal`). What is measured: sign-ins per second, and the cheap pages' latency beside them.

use crate::load::{self, Run};
use crate::options::Options;
use crate::process::ServerProcess;
use crate::report::{ms, run_json};
use crate::seed::{Seeded, PASSWORD};
use anyhow::Context;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The flood's rate, in multiples of the sign-in limit.
const FLOOD_FACTOR: f64 = 10.0;
/// The most flood requests in flight at once (the rest of the offered load is dropped by the
/// generator itself, and counted).
const FLOOD_IN_FLIGHT: u64 = 2_000;

pub struct FloodReport {
    pub offered_per_second: f64,
    pub answered: u64,
    pub refused_busy: u64,
    pub dropped_by_generator: u64,
    pub trusted: Run,
    pub login_page: Run,
    pub health: Run,
}

pub struct RecoveryTiming {
    pub known: Run,
    pub unknown: Run,
}

/// `request-reset` for real accounts and for unknown emails, alternated, `rounds` of each.
pub async fn recovery_timing(
    options: &Options,
    data: &Path,
    seeded: &Seeded,
    rounds: usize,
) -> anyhow::Result<RecoveryTiming> {
    let server = ServerProcess::start_with(options, data, &[])?;
    let base = server.base_url().to_owned();
    load::wait_until_ready(&base).await?;
    let client = client(false)?;
    let url = format!("{base}/api/request-reset");
    let (mut known, mut unknown) = (Run::default(), Run::default());
    let started = Instant::now();
    for round in 0..rounds {
        let real = &seeded.open[round % seeded.open.len()];
        let nobody = format!("nobody{round}@example.com");
        for (email, run) in [(real.as_str(), &mut known), (nobody.as_str(), &mut unknown)] {
            let address = format!("10.9.{}.{}", (round >> 8) & 255, round & 255);
            timed(
                run,
                client
                    .post(&url)
                    .header("Accept", "application/json")
                    .header("X-Forwarded-For", address)
                    .form(&[("email", email)]),
                |status, _| status.is_success(),
            )
            .await;
        }
    }
    for run in [&mut known, &mut unknown] {
        finish(run, started);
    }
    Ok(RecoveryTiming { known, unknown })
}

impl RecoveryTiming {
    pub fn markdown(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\n`POST /api/request-reset`, a real account and an email with no account \
             alternated:\n\n| email | requests | p50 ms | p90 ms |\n|---|---|---|---|"
        );
        for (name, run) in [("real", &self.known), ("unknown", &self.unknown)] {
            run_row(out, name, run, 0.90);
        }
    }

    pub fn json(&self) -> Value {
        json!({ "known": run_json(&self.known), "unknown": run_json(&self.unknown) })
    }
}

pub struct BusyHostRun {
    pub priority: &'static str,
    pub sign_ins: Run,
    pub login_page: Run,
}

fn client(cookies: bool) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .cookie_store(cookies)
        .pool_max_idle_per_host(512)
        .build()
        .context("could not build the HTTP client")
}

/// One timed request into `run`: ok when `check` accepts the status and body.
async fn timed(
    run: &mut Run,
    request: reqwest::RequestBuilder,
    check: impl Fn(reqwest::StatusCode, &str) -> bool,
) {
    let sent = Instant::now();
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            if check(status, &body) {
                run.ok += 1;
                run.latencies.push(sent.elapsed());
            } else {
                run.errors += 1;
                run.first_error.get_or_insert(format!(
                    "{status}: {}",
                    body.chars().take(200).collect::<String>()
                ));
            }
        }
        Err(error) => {
            run.errors += 1;
            run.first_error.get_or_insert(error.to_string());
        }
    }
}

fn finish(run: &mut Run, started: Instant) {
    run.elapsed = started.elapsed();
    run.latencies.sort();
}

/// `GET /login` every 20 ms until `stop`.
async fn probe_login_page(base: &str, stop: &AtomicBool) -> anyhow::Result<Run> {
    let client = client(false)?;
    let mut run = Run::default();
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        timed(
            &mut run,
            client.get(format!("{base}/login")),
            |status, _| status.is_success(),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    finish(&mut run, started);
    Ok(run)
}

pub async fn flood(
    options: &Options,
    data: &Path,
    seeded: &Seeded,
    sign_in_limit: f64,
) -> anyhow::Result<FloodReport> {
    let server = ServerProcess::start_with(options, data, &[("PASSWORD_HASHING_MAX_WAIT", "1s")])?;
    let base = server.base_url().to_owned();
    load::wait_until_ready(&base).await?;
    let email = seeded
        .open
        .first()
        .context("no open account to sign in with")?
        .clone();
    // The trusted browser signs in once, before the flood, to get its device cookie.
    let owner = client(true)?;
    let login = format!("{base}/api/login");
    let first = owner
        .post(&login)
        .header("Accept", "application/json")
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await?;
    anyhow::ensure!(
        first.status().is_success(),
        "the owner's first sign-in failed"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let offered = sign_in_limit * FLOOD_FACTOR;
    let answered = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let flood = {
        let (stop, answered, refused, in_flight, dropped) = (
            Arc::clone(&stop),
            Arc::clone(&answered),
            Arc::clone(&refused),
            Arc::clone(&in_flight),
            Arc::clone(&dropped),
        );
        let strangers = client(false)?;
        let login = login.clone();
        tokio::spawn(async move {
            let interval = Duration::from_secs_f64(1.0 / offered.max(1.0));
            let started = Instant::now();
            let mut sent: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                let due = started + interval.mul_f64(sent as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    tokio::time::sleep(wait).await;
                }
                sent += 1;
                if in_flight.load(Ordering::Relaxed) >= FLOOD_IN_FLIGHT {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                in_flight.fetch_add(1, Ordering::Relaxed);
                let request = strangers
                    .post(&login)
                    .header("Accept", "application/json")
                    .header(
                        "X-Forwarded-For",
                        format!(
                            "10.{}.{}.{}",
                            (sent >> 16) & 255,
                            (sent >> 8) & 255,
                            sent & 255
                        ),
                    )
                    .form(&[
                        ("email", format!("stranger{sent}@example.com")),
                        ("password", "a wrong guess".to_owned()),
                    ]);
                let (answered, refused, in_flight) = (
                    Arc::clone(&answered),
                    Arc::clone(&refused),
                    Arc::clone(&in_flight),
                );
                tokio::spawn(async move {
                    if let Ok(response) = request.send().await {
                        answered.fetch_add(1, Ordering::Relaxed);
                        if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        let _ = response.bytes().await;
                    }
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                });
            }
        })
    };
    let trusted = async {
        // Let the flood fill the queue first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut run = Run::default();
        let started = Instant::now();
        let deadline = started + options.duration;
        while Instant::now() < deadline {
            timed(
                &mut run,
                owner
                    .post(&login)
                    .header("Accept", "application/json")
                    .form(&[("email", email.as_str()), ("password", PASSWORD)]),
                |status, body| status.is_success() && body.contains("signed_in"),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        finish(&mut run, started);
        run
    };
    let health = async {
        let client = client(false)?;
        let mut run = Run::default();
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let deadline = started + options.duration;
        while Instant::now() < deadline {
            timed(
                &mut run,
                client.get(format!("{base}/healthz")),
                |status, _| status.is_success(),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        finish(&mut run, started);
        anyhow::Ok(run)
    };
    let login_page = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stop_later = Arc::clone(&stop);
        let duration = options.duration;
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop_later.store(true, Ordering::Relaxed);
        });
        let run = probe_login_page(&base, &stop).await;
        let _ = stopper.await;
        run
    };
    let (trusted, health, login_page) = tokio::join!(trusted, health, login_page);
    stop.store(true, Ordering::Relaxed);
    let _ = flood.await;
    // Let the last answers arrive before the server goes.
    for _ in 0..300 {
        if in_flight.load(Ordering::Relaxed) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(FloodReport {
        offered_per_second: offered,
        answered: answered.load(Ordering::Relaxed),
        refused_busy: refused.load(Ordering::Relaxed),
        dropped_by_generator: dropped.load(Ordering::Relaxed),
        trusted,
        login_page: login_page?,
        health: health?,
    })
}

/// Busy-loops on every core at the ordinary priority until dropped: another process's work, as
/// the scheduler sees it (threads of this process, which the server does not share).
struct HostLoad {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl HostLoad {
    fn start(cores: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..cores)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut x: u64 = 1;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..10_000 {
                            x = std::hint::black_box(
                                x.wrapping_mul(6364136223846793005).wrapping_add(1),
                            );
                        }
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for HostLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

pub async fn busy_host(
    options: &Options,
    data: &Path,
    seeded: &Seeded,
    cores: usize,
) -> anyhow::Result<Vec<BusyHostRun>> {
    let mut runs = Vec::new();
    for priority in ["idle", "low", "normal"] {
        let server = ServerProcess::start_with(
            options,
            data,
            &[
                ("PASSWORD_HASHING_PRIORITY", priority),
                ("PASSWORD_HASHING_MAX_WAIT", "3600s"),
            ],
        )?;
        load::wait_until_ready(server.base_url()).await?;
        eprintln!("sign-ins on a busy host, hashing priority {priority}…");
        let load = HostLoad::start(cores);
        let stop = AtomicBool::new(false);
        let servers = load::Servers::new(vec![server.base_url().to_owned()])?;
        let sign_ins = async {
            let run = load::sign_ins(&servers, seeded, 8, options.duration).await;
            stop.store(true, Ordering::Relaxed);
            run
        };
        let (sign_ins, login_page) =
            tokio::join!(sign_ins, probe_login_page(server.base_url(), &stop));
        drop(load);
        runs.push(BusyHostRun {
            priority,
            sign_ins: sign_ins?,
            login_page: login_page?,
        });
    }
    Ok(runs)
}

/// A table row: `name`, the requests that succeeded and failed, the p50 and the `upper`
/// percentile in milliseconds.
fn run_row(out: &mut String, name: &str, run: &Run, upper: f64) {
    let _ = writeln!(
        out,
        "| {name} | {} ok, {} failed | {} | {} |",
        run.ok,
        run.errors,
        ms(run.percentile(0.50)),
        ms(run.percentile(upper))
    );
}

impl FloodReport {
    pub fn markdown(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nA flood of strangers' sign-ins at {:.0}/s (ten times the sign-in limit), each from \
             its own address:\n\n| | answered | p50 ms | p99 ms |\n|---|---|---|---|",
            self.offered_per_second
        );
        let _ = writeln!(
            out,
            "| the flood | {} ({} refused busy, {} not sent: {} already in flight) | | |",
            self.answered, self.refused_busy, self.dropped_by_generator, FLOOD_IN_FLIGHT
        );
        for (name, run) in [
            ("a trusted browser's sign-ins", &self.trusted),
            ("`GET /login`", &self.login_page),
            ("`GET /healthz`", &self.health),
        ] {
            run_row(out, name, run, 0.99);
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "offered_per_second": self.offered_per_second,
            "answered": self.answered,
            "refused_busy": self.refused_busy,
            "not_sent_in_flight_cap": self.dropped_by_generator,
            "trusted_sign_ins": run_json(&self.trusted),
            "login_page": run_json(&self.login_page),
            "healthz": run_json(&self.health),
        })
    }
}

pub fn busy_host_markdown(runs: &[BusyHostRun], out: &mut String) {
    if runs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nSign-ins (concurrency 8) with every core kept busy by another process:\n\n\
         | hashing priority | sign-ins/s | sign-in p99 ms | `GET /login` p99 ms |\n|---|---|---|---|"
    );
    for run in runs {
        let _ = writeln!(
            out,
            "| `{}` | {:.1} | {} | {} |",
            run.priority,
            run.sign_ins.per_second(),
            ms(run.sign_ins.percentile(0.99)),
            ms(run.login_page.percentile(0.99))
        );
    }
}

pub fn busy_host_json(runs: &[BusyHostRun]) -> Value {
    json!(runs
        .iter()
        .map(|run| json!({
            "priority": run.priority,
            "sign_ins": run_json(&run.sign_ins),
            "login_page": run_json(&run.login_page),
        }))
        .collect::<Vec<_>>())
}
