//! Command-line options.

use anyhow::{bail, Context};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: bench [--accounts 1000,100000] [--concurrency 1,2,4,8,32,64] [--duration 5]
             [--server target/release/server] [--site target/site] [--json target/bench/results.json]
             [--database sqlite|postgres] [--instances 2]

  --accounts     database sizes to measure, in accounts
  --concurrency  concurrent clients for the sign-in runs
  --duration     seconds each timed run lasts (a code verification run is a fixed
                 number of codes instead)
  --server       the server binary (build it with `cargo leptos build --release`)
  --site         the site directory the server serves (/pkg/…)
  --json         where to write the results as JSON
  --database     postgres: measure each size on SQLite and also on PostgreSQL, whose server
                 runs at LATCHKEY_TEST_POSTGRES (scripts/with-postgres.sh starts one)
  --instances    with postgres: how many server instances share the database, the load
                 spread over them in turn (default 2)";

#[derive(Debug, Clone)]
pub struct Options {
    pub accounts: Vec<usize>,
    pub concurrency: Vec<usize>,
    pub duration: Duration,
    pub server: PathBuf,
    pub site: PathBuf,
    pub json_out: PathBuf,
    /// `--database postgres`: the instances, beside SQLite's single server; none: SQLite only.
    pub postgres_instances: Option<usize>,
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
            postgres_instances: None,
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
        let mut instances = None;
        let mut postgres = false;
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
                "--database" => match value.as_str() {
                    "sqlite" => postgres = false,
                    "postgres" => postgres = true,
                    other => bail!("--database: `{other}` is not sqlite or postgres"),
                },
                "--instances" => {
                    let count = value
                        .parse::<usize>()
                        .ok()
                        .filter(|count| (1..=8).contains(count))
                        .with_context(|| "--instances: a whole number from 1 to 8")?;
                    instances = Some(count);
                }
                other => bail!("unknown option {other}"),
            }
        }
        options.postgres_instances = match (postgres, instances) {
            (true, instances) => Some(instances.unwrap_or(2)),
            (false, None | Some(1)) => None,
            (false, Some(_)) => bail!("--instances: several instances need --database postgres"),
        };
        Ok(Some(options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Options> {
        Options::from_args(args.iter().map(|arg| (*arg).to_owned()))?.context("not --help")
    }

    #[test]
    fn postgres_brings_two_instances_unless_told_otherwise() -> anyhow::Result<()> {
        assert_eq!(parse(&[])?.postgres_instances, None);
        assert_eq!(
            parse(&["--database", "postgres"])?.postgres_instances,
            Some(2)
        );
        assert_eq!(
            parse(&["--database", "postgres", "--instances", "3"])?.postgres_instances,
            Some(3)
        );
        assert!(parse(&["--instances", "2"]).is_err());
        assert!(parse(&["--database", "mysql"]).is_err());
        assert!(parse(&["--database", "postgres", "--instances", "0"]).is_err());
        Ok(())
    }
}
