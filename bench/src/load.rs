//! The load generator: clients on tokio driving the server's documented HTTP API, each request
//! timed. Runs stop after a fixed duration.

use crate::seed::{Seeded, PASSWORD};
use anyhow::Context;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one measured run did.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
    /// What the first failed request got, to tell what went wrong.
    pub first_error: Option<String>,
}

impl Run {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    pub fn percentile(&self, fraction: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() as f64 * fraction).ceil() as usize)
            .clamp(1, self.latencies.len());
        self.latencies[index - 1]
    }

    fn merge(&mut self, other: Run) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
        self.first_error = self.first_error.take().or(other.first_error);
    }
}

/// Latencies of cheap requests taken while sign-ins kept every core busy.
#[derive(Debug, Clone, Default)]
pub struct CheapRun {
    pub login_page: Run,
    pub health: Run,
    pub sign_ins: Run,
}

fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()
        .context("could not build the HTTP client")
}

pub async fn wait_until_ready(base: &str) -> anyhow::Result<()> {
    let client = client()?;
    for _ in 0..300 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server was not ready within 30 seconds")
}

/// Runs `concurrency` clients, each calling `request(n)` with a shared counter `n`, until
/// `duration` has passed or `request` returns `None` (nothing left to do).
async fn drive<F, Fut>(concurrency: usize, duration: Duration, request: F) -> Run
where
    F: Fn(usize) -> Option<Fut> + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let request = Arc::clone(&request);
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut run = Run::default();
                while Instant::now() < deadline {
                    let Some(call) = request(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let sent = Instant::now();
                    match call.await {
                        Ok(()) => {
                            run.ok += 1;
                            run.latencies.push(sent.elapsed());
                        }
                        Err(error) => {
                            run.errors += 1;
                            run.first_error.get_or_insert(error);
                        }
                    }
                }
                run
            })
        })
        .collect();
    let mut total = Run::default();
    for worker in workers {
        if let Ok(run) = worker.await {
            total.merge(run);
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// Posts `form`; an error unless the answer is a 2xx whose body contains `expect`.
async fn posted(
    client: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
    expect: &str,
) -> Result<(), String> {
    let response = client
        .post(url)
        .header("Accept", "application/json")
        .form(form)
        .send()
        .await
        .map_err(|error| error.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|error| error.to_string())?;
    if status.is_success() && (expect.is_empty() || body.contains(expect)) {
        Ok(())
    } else {
        Err(format!(
            "{status}: {}",
            body.chars().take(200).collect::<String>()
        ))
    }
}

/// Correct email and password, round-robin over the open accounts.
pub async fn sign_ins(
    base: &str,
    seeded: &Seeded,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let client = client()?;
    let url = format!("{base}/api/login");
    let emails = Arc::new(seeded.open.clone());
    Ok(drive(concurrency, duration, move |n| {
        let client = client.clone();
        let url = url.clone();
        let email = emails[n % emails.len()].clone();
        Some(async move {
            posted(
                &client,
                url,
                &[("email", &email), ("password", PASSWORD)],
                "signed_in",
            )
            .await
        })
    })
    .await)
}

/// `GET /login` and `GET /healthz`, one after the other every 20 ms, while `concurrency` clients
/// sign in.
pub async fn cheap_under_load(
    base: &str,
    seeded: &Seeded,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<CheapRun> {
    let load = sign_ins(base, seeded, concurrency, duration);
    let probe = async {
        let client = client()?;
        // Let the sign-ins fill every core first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let deadline = Instant::now() + duration.saturating_sub(Duration::from_millis(600));
        let mut login_page = Run::default();
        let mut health = Run::default();
        let started = Instant::now();
        while Instant::now() < deadline {
            for (path, run) in [("/login", &mut login_page), ("/healthz", &mut health)] {
                let sent = Instant::now();
                match client.get(format!("{base}{path}")).send().await {
                    Ok(response) if response.status().is_success() => {
                        if response.bytes().await.is_ok() {
                            run.ok += 1;
                            run.latencies.push(sent.elapsed());
                        }
                    }
                    Ok(response) => {
                        run.errors += 1;
                        run.first_error.get_or_insert(response.status().to_string());
                    }
                    Err(error) => {
                        run.errors += 1;
                        run.first_error.get_or_insert(error.to_string());
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for run in [&mut login_page, &mut health] {
            run.elapsed = started.elapsed();
            run.latencies.sort();
        }
        anyhow::Ok((login_page, health))
    };
    let (sign_ins, probes) = tokio::join!(load, probe);
    let (login_page, health) = probes?;
    Ok(CheapRun {
        login_page,
        health,
        sign_ins: sign_ins?,
    })
}

/// Accounts in one round of code verifications, at every database size alike. Each round locks
/// its accounts again first, through the benchmark's own connection; a real server never locks
/// thousands at once, and a bulk write of that size would leave a write-ahead log, and an emptied
/// cache, that no server in service sees.
const VERIFICATION_ROUND: usize = 250;

/// Right unlock codes for locked accounts (the first half of them), in rounds of
/// `VERIFICATION_ROUND` accounts chosen at random: before each round its accounts are locked
/// again with new codes, outside the measured time.
pub async fn verifications(
    base: &str,
    seeded: &Seeded,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    use rand::seq::SliceRandom;
    let client = client()?;
    let url = format!("{base}/api/unlock");
    let half = seeded.locked.len() / 2;
    let mut accounts = seeded.locked[..half].to_vec();
    accounts.shuffle(&mut rand::thread_rng());
    let mut rounds = accounts.chunks(VERIFICATION_ROUND).cycle();
    let mut total = Run::default();
    while total.elapsed < duration {
        let round = rounds.next().context("no locked accounts to verify")?;
        let codes = seeded.relock(round).await?;
        let batch: Arc<Vec<(String, String)>> = Arc::new(
            round
                .iter()
                .map(|(_, email)| email.clone())
                .zip(codes)
                .collect(),
        );
        let (client, url) = (client.clone(), url.clone());
        let run =
            drive(concurrency, duration - total.elapsed, move |n| {
                let (email, code) = batch.get(n)?.clone();
                let client = client.clone();
                let url = url.clone();
                Some(async move {
                    posted(&client, url, &[("email", &email), ("code", &code)], "").await
                })
            })
            .await;
        total.merge(run);
    }
    Ok(total)
}

/// "Send me a new code" for the other half of the locked accounts, round-robin: each request
/// issues a code and queues its message (to the development outbox).
pub async fn code_requests(
    base: &str,
    seeded: &Seeded,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let client = client()?;
    let url = format!("{base}/api/resend-code");
    let half = seeded.locked.len() / 2;
    let emails: Arc<Vec<String>> = Arc::new(
        seeded.locked[half..]
            .iter()
            .map(|(_, email)| email.clone())
            .collect(),
    );
    Ok(drive(concurrency, duration, move |n| {
        let client = client.clone();
        let url = url.clone();
        let email = emails[n % emails.len()].clone();
        Some(async move { posted(&client, url, &[("email", &email)], "phone_ending").await })
    })
    .await)
}
