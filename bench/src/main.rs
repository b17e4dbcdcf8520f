//! The Latchkey benchmark: starts the release server over loopback on a fresh database seeded with
//! N accounts, drives its HTTP API with a Rust load generator, and prints a Markdown table (and
//! writes a JSON file) of what docs/PERFORMANCE.md reports. It stops its servers when it ends,
//! however it ends.
//!
//! `scripts/bench.sh` builds the release site and runs this; see `--help`.

mod affinity;
mod assets;
mod cpu;
mod load;
mod options;
mod overload;
mod process;
mod report;
mod seed;

use anyhow::Context;
use options::Options;
use report::{Report, ScaleReport, SignInRun};
use std::process::ExitCode;

/// Verifications timed for each measurement of one argon2id verification (the median is kept).
const ARGON2_SAMPLES: usize = 15;

/// Sign-in runs at each concurrency, and code verification runs, per scale: the median is
/// reported, since one run moves by several per cent with the machine's load.
const SIGN_IN_RUNS: usize = 3;
const VERIFICATION_RUNS: usize = 3;

/// The load generator runs on one thread: it shares the cores with what it measures, and one
/// thread waking for each answer costs less CPU than a runtime's worker threads waking one
/// another (the server's argon2id and the busy-host load run on threads of their own).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{}", options::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}\n\n{}", options::USAGE);
            return ExitCode::FAILURE;
        }
    };
    match run(&options).await {
        Ok(report) => {
            println!("{}", report.markdown());
            match report.write_json(&options.json_out) {
                Ok(()) => {
                    println!("JSON: {}", options.json_out.display());
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One database size under test, on one deployment: its data, its servers, and what was
/// measured of it.
struct Scale {
    seeded: seed::Seeded,
    /// One server on SQLite; one or more instances on PostgreSQL.
    servers: Vec<process::ServerProcess>,
    urls: load::Servers,
    report: ScaleReport,
    /// Kept until the end: a SQLite database lives in it.
    _data: tempfile::TempDir,
}

impl Scale {
    fn name(&self) -> String {
        self.report.name()
    }

    /// The one server, for the measurements that confine it to a CPU; `None` with several.
    fn only_server(&self) -> Option<&process::ServerProcess> {
        match self.servers.as_slice() {
            [server] => Some(server),
            _ => None,
        }
    }
}

/// The PostgreSQL database for `accounts` accounts: made afresh in the cluster at
/// `LATCHKEY_TEST_POSTGRES` (as `scripts/with-postgres.sh` starts it), its URL returned.
async fn fresh_postgres_database(accounts: usize) -> anyhow::Result<String> {
    use sqlx::Connection;
    let admin = std::env::var("LATCHKEY_TEST_POSTGRES").context(
        "--database postgres needs a PostgreSQL cluster: run under scripts/with-postgres.sh, as \
         scripts/bench.sh does",
    )?;
    let name = format!("latchkey_bench_{accounts}");
    let mut connection = sqlx::PgConnection::connect(&admin)
        .await
        .context("could not reach the PostgreSQL cluster")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut connection)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await?;
    let (base, _) = admin
        .rsplit_once('/')
        .context("LATCHKEY_TEST_POSTGRES is not a postgres:// URL")?;
    Ok(format!("{base}/{name}"))
}

/// Seeds `accounts` accounts and starts the deployment on them: one server on a SQLite file, or
/// `instances` servers sharing a fresh PostgreSQL database.
async fn start_scale(
    options: &Options,
    accounts: usize,
    postgres_instances: Option<usize>,
    report: ScaleReport,
) -> anyhow::Result<Scale> {
    let data = tempfile::tempdir().context("no temporary directory")?;
    let url = match postgres_instances {
        Some(_) => fresh_postgres_database(accounts).await?,
        None => seed::sqlite_url(data.path()),
    };
    let seeded = seed::seed(&url, accounts).await?;
    let instances = postgres_instances.unwrap_or(1);
    // Instances sharing this machine split its cores for hashing, as docs/DEPLOYMENT.md says
    // several instances on one host should.
    let hashing_threads = (report.cores / instances).max(1).to_string();
    let mut servers = Vec::new();
    for instance in 0..instances {
        let name = format!("bench-{instance}");
        servers.push(process::ServerProcess::start_on(
            options,
            data.path(),
            &url,
            // The hashing queue is not bounded, so that sign-ins beyond the limit queue (and
            // measure the queue) instead of being refused.
            &[
                ("PASSWORD_HASHING_MAX_WAIT", "3600s"),
                ("PASSWORD_HASHING_THREADS", hashing_threads.as_str()),
                ("INSTANCE_ID", name.as_str()),
            ],
        )?);
    }
    for server in &servers {
        load::wait_until_ready(server.base_url()).await?;
    }
    let urls = load::Servers::new(
        servers
            .iter()
            .map(|server| server.base_url().to_owned())
            .collect(),
    )?;
    Ok(Scale {
        seeded,
        servers,
        urls,
        report,
        _data: data,
    })
}

/// Seeds every size and starts a server on each, then takes each measurement on all of them in
/// turn (1,000 accounts, 100,000 accounts, 1,000 again…), so that the machine's drift over the
/// minutes a run takes falls on every size alike and the sizes compare fairly.
async fn run(options: &Options) -> anyhow::Result<Report> {
    let cores = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);
    let mut report = Report::new(cores, options);
    let one_cpu = affinity::OneCpuSplit::usable()?;
    if let Err(why) = &one_cpu {
        eprintln!("code verifications will not be measured on one CPU: {why}");
    }
    let timer = seed::Argon2Timer::new().await?;
    let mut scales = Vec::new();
    for &accounts in &options.accounts {
        // SQLite always; PostgreSQL beside it when asked for.
        let deployments = std::iter::once(None).chain(options.postgres_instances.map(Some));
        for deployment in deployments {
            let where_ = match deployment {
                Some(instances) => format!("PostgreSQL, {instances} instances"),
                None => "SQLite".to_owned(),
            };
            eprintln!("seeding {accounts} accounts ({where_})…");
            let argon2 = timer.verification_time(ARGON2_SAMPLES).await?;
            let argon2_all_cores = timer.parallel_rate(cores, options.duration).await?;
            let report =
                ScaleReport::new(accounts, cores, argon2, argon2_all_cores).on_postgres(deployment);
            scales.push(start_scale(options, accounts, deployment, report).await?);
        }
    }

    for &concurrency in &options.concurrency {
        for round in 1..=SIGN_IN_RUNS {
            for scale in &mut scales {
                eprintln!(
                    "{}: sign-ins at concurrency {concurrency} ({round} of {SIGN_IN_RUNS})…",
                    scale.name()
                );
                // The limit is measured around the sign-ins it is compared with: on a shared
                // machine one verification's time drifts by several per cent over minutes.
                let before = timer.verification_time(ARGON2_SAMPLES).await?;
                let run = load::sign_ins(&scale.urls, &scale.seeded, concurrency, options.duration)
                    .await?;
                let after = timer.verification_time(ARGON2_SAMPLES).await?;
                scale.report.argon2_times.extend([before, after]);
                scale.report.sign_ins.push(SignInRun {
                    concurrency,
                    run,
                    argon2: (before + after) / 2,
                });
            }
        }
    }
    for scale in &mut scales {
        eprintln!(
            "{}: cheap requests while sign-ins saturate the cores…",
            scale.name()
        );
        scale.report.cheap =
            load::cheap_under_load(&scale.urls, &scale.seeded, cores * 4, options.duration).await?;
    }
    verification_runs(&mut scales, None).await?;
    if let Ok(split) = &one_cpu {
        verification_runs(&mut scales, Some(split)).await?;
    }
    for scale in &mut scales {
        eprintln!("{}: unlock-code requests…", scale.name());
        scale.report.code_requests =
            load::code_requests(&scale.urls, &scale.seeded, 8, options.duration).await?;
    }
    if let Some(first) = scales.first() {
        report.page_weight = Some(assets::first_load(first.urls.first()).await?);
    }
    let mut kept = None;
    for mut scale in scales {
        // With several instances, their peaks added up.
        scale.report.peak_memory_kib = scale
            .servers
            .iter()
            .map(process::ServerProcess::peak_memory_kib)
            .sum();
        let limit = scale.report.sign_in_limit();
        let sqlite = scale.report.postgres_instances.is_none();
        report.scales.push(scale.report);
        // The smallest SQLite database serves the overload runs, with its own servers.
        if kept.is_none() && sqlite {
            drop(scale.servers);
            kept = Some((scale.seeded, scale._data, limit));
        }
    }
    if let Some((seeded, data, limit)) = kept {
        eprintln!("a flood of sign-ins beside a trusted browser…");
        report.flood = Some(overload::flood(options, data.path(), &seeded, limit).await?);
        report.busy_host = overload::busy_host(options, data.path(), &seeded, cores).await?;
        eprintln!("reset requests for real and unknown emails…");
        report.recovery_timing =
            Some(overload::recovery_timing(options, data.path(), &seeded, 400).await?);
    }
    Ok(report)
}

/// `VERIFICATION_RUNS` code verification runs by each number of clients
/// (`load::VERIFICATION_CLIENTS`) on every scale in turn; with `split`, by the first number only,
/// each with the server confined to one CPU and the benchmark to the others.
async fn verification_runs(
    scales: &mut [Scale],
    split: Option<&affinity::OneCpuSplit>,
) -> anyhow::Result<()> {
    // Confined to one CPU, the server is measured with the first number of clients only.
    let client_counts: &[usize] = match split {
        Some(_) => &load::VERIFICATION_CLIENTS[..1],
        None => &load::VERIFICATION_CLIENTS,
    };
    for (round, &clients) in (1..=VERIFICATION_RUNS)
        .flat_map(|round| client_counts.iter().map(move |clients| (round, clients)))
    {
        for scale in scales.iter_mut() {
            // Several instances are not confined to one CPU: not measured so.
            if split.is_some() && scale.only_server().is_none() {
                continue;
            }
            let place = split
                .map(|split| format!(", the server on CPU {}", split.server))
                .unwrap_or_default();
            eprintln!(
                "{}: code verifications, {clients} clients{place} ({round} of {VERIFICATION_RUNS})…",
                scale.name()
            );
            let confined = match (split, scale.only_server()) {
                (Some(split), Some(server)) => Some((
                    split.confine(server.id(), &split.server)?,
                    split.confine(std::process::id(), &split.load)?,
                )),
                _ => None,
            };
            let run = load::verifications(&scale.urls, &scale.seeded, clients).await?;
            match confined {
                Some(_) => scale.report.verifications_on_one_cpu.add(run),
                None => scale
                    .report
                    .verifications
                    .entry(clients)
                    .or_default()
                    .add(run),
            }
        }
    }
    Ok(())
}
