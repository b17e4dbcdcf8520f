//! Command-line options.

use anyhow::{bail, Context};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: bench [--accounts 1000,100000] [--concurrency 1,2,4,8,32,64] [--duration 5]
             [--server target/release/server] [--site target/site] [--json target/bench/results.json]

  --accounts     database sizes to measure, in accounts
  --concurrency  concurrent clients for the sign-in runs
  --duration     seconds each timed run lasts (a code verification run is a fixed
                 number of codes instead)
  --server       the server binary (build it with `cargo leptos build --release`)
  --site         the site directory the server serves (/pkg/…)
  --json         where to write the results as JSON";

#[derive(Debug, Clone)]
pub struct Options {
    pub accounts: Vec<usize>,
    pub concurrency: Vec<usize>,
    pub duration: Duration,
    pub server: PathBuf,
    pub site: PathBuf,
    pub json_out: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            accounts: vec![1_000, 100_000],
            concurrency: vec![1, 2, 4, 8, 32, 64],
            duration: Duration::from_secs(5),
            server: PathBuf::from("target/release/server"),
            site: PathBuf::from("target/site"),
            json_out: PathBuf::from("target/bench/results.json"),
        }
    }
}

fn list(flag: &str, value: &str) -> anyhow::Result<Vec<usize>> {
    let numbers = value
        .split(',')
        .map(|item| {
            item.trim()
                .parse::<usize>()
                .ok()
                .filter(|number| *number > 0)
                .with_context(|| format!("{flag}: `{item}` is not a positive whole number"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if numbers.is_empty() {
        bail!("{flag} needs at least one number");
    }
    Ok(numbers)
}

impl Options {
    /// `Ok(None)` for `--help`.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> anyhow::Result<Option<Self>> {
        let mut options = Self::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(None);
            }
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--accounts" => {
                    options.accounts = list(&flag, &value)?;
                    if options.accounts.iter().any(|n| *n < 100) {
                        bail!("--accounts: at least 100 accounts per run");
                    }
                }
                "--concurrency" => options.concurrency = list(&flag, &value)?,
                "--duration" => {
                    let seconds = value
                        .parse::<f64>()
                        .ok()
                        .filter(|seconds| (0.2..=600.0).contains(seconds))
                        .with_context(|| "--duration: seconds between 0.2 and 600")?;
                    options.duration = Duration::from_secs_f64(seconds);
                }
                "--server" => options.server = PathBuf::from(value),
                "--site" => options.site = PathBuf::from(value),
                "--json" => options.json_out = PathBuf::from(value),
                other => bail!("unknown option {other}"),
            }
        }
        Ok(Some(options))
    }
}
