//! The Latchkey benchmark: starts the release server over loopback on a fresh database seeded with
//! N accounts, drives its HTTP API with a Rust load generator, and prints a Markdown table (and
//! writes a JSON file) of what docs/PERFORMANCE.md reports. It stops its servers when it ends,
//! however it ends.
//!
//! `scripts/bench.sh` builds the release site and runs this; see `--help`.

mod assets;
mod load;
mod options;
mod process;
mod report;
mod seed;

use anyhow::Context;
use options::Options;
use report::{Report, ScaleReport, SignInRun};
use std::process::ExitCode;
use std::time::Duration;

/// Verifications timed for each measurement of one argon2id verification (the median is kept).
const ARGON2_SAMPLES: usize = 15;

/// Sign-in runs at each concurrency, and code verification runs, per scale: the median is
/// reported, since one run moves by several per cent with the machine's load.
const SIGN_IN_RUNS: usize = 3;
const VERIFICATION_RUNS: usize = 3;

#[tokio::main]
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

async fn run(options: &Options) -> anyhow::Result<Report> {
    let cores = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);
    let mut report = Report::new(cores, options);
    for &accounts in &options.accounts {
        eprintln!("seeding {accounts} accounts…");
        let data = tempfile::tempdir().context("no temporary directory")?;
        let seeded = seed::seed(data.path(), accounts).await?;
        // The limit is measured around the sign-ins it is compared with: on a shared machine
        // one verification's time drifts by several per cent over minutes.
        eprintln!("{accounts} accounts: timing argon2id verifications…");
        let timer = seed::Argon2Timer::new().await?;
        let mut argon2_times = vec![timer.verification_time(ARGON2_SAMPLES).await?];
        let argon2_all_cores = timer.parallel_rate(cores, options.duration).await?;
        let server = process::ServerProcess::start(options, data.path())?;
        let base = server.base_url().to_owned();
        load::wait_until_ready(&base).await?;
        let mut scale = ScaleReport::new(accounts, cores, argon2_all_cores);

        for &concurrency in &options.concurrency {
            for round in 1..=SIGN_IN_RUNS {
                eprintln!(
                    "{accounts} accounts: sign-ins at concurrency {concurrency} \
                     ({round} of {SIGN_IN_RUNS})…"
                );
                let before = timer.verification_time(ARGON2_SAMPLES).await?;
                let run = load::sign_ins(&base, &seeded, concurrency, options.duration).await?;
                let after = timer.verification_time(ARGON2_SAMPLES).await?;
                argon2_times.extend([before, after]);
                scale.sign_ins.push(SignInRun {
                    concurrency,
                    run,
                    argon2: (before + after) / 2,
                });
            }
        }
        argon2_times.sort();
        scale.argon2 = argon2_times[argon2_times.len() / 2];
        eprintln!("{accounts} accounts: cheap requests while sign-ins saturate the cores…");
        scale.cheap = load::cheap_under_load(&base, &seeded, cores * 4, options.duration).await?;
        for round in 1..=VERIFICATION_RUNS {
            eprintln!("{accounts} accounts: code verifications ({round} of {VERIFICATION_RUNS})…");
            let run = load::verifications(&base, &seeded, 8, options.duration).await?;
            scale.add_verification_run(run);
        }
        eprintln!("{accounts} accounts: unlock-code requests…");
        scale.code_requests = load::code_requests(&base, &seeded, 8, options.duration).await?;
        if report.page_weight.is_none() {
            report.page_weight = Some(assets::first_load(&base).await?);
        }
        scale.peak_memory_kib = server.peak_memory_kib();
        drop(server);
        report.scales.push(scale);
        // Let the machine settle between scales.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(report)
}
