//! The load generator: clients on tokio driving the server's documented HTTP API, each request
//! timed. Runs stop after a fixed duration; code verification runs after a fixed number of codes.

use crate::cpu::{CpuSample, CpuSpent};
use crate::seed::{LockedAccount, Seeded, PASSWORD};
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
    /// Where the machine's CPU went meanwhile, where measured (code verifications).
    pub cpu: CpuSpent,
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
        self.cpu.add(other.cpu);
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

/// A client that keeps its cookies, as a browser does: the unlock codes it asks for are bound to
/// the binding in its recovery cookie, and only work when offered with it.
fn recovery_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .cookie_store(true)
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

/// The servers a run spreads its requests over, one after the other: one server, or several
/// instances sharing one database.
#[derive(Clone)]
pub struct Servers(Arc<Vec<String>>);

impl Servers {
    /// `bases`: at least one base URL.
    pub fn new(bases: Vec<String>) -> anyhow::Result<Self> {
        anyhow::ensure!(!bases.is_empty(), "no server to measure");
        Ok(Self(Arc::new(bases)))
    }

    /// The URL of `path` for request number `n`, on its server in turn.
    pub fn url(&self, n: usize, path: &str) -> String {
        format!("{}{path}", self.0[n % self.0.len()])
    }

    /// The first server's base URL.
    pub fn first(&self) -> &str {
        &self.0[0]
    }
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
    posted_from(client, url, form, expect, None).await
}

/// `posted`, with `X-Forwarded-For: address` when there is one (the servers trust that header,
/// as behind a proxy): the request then counts as that client's.
async fn posted_from(
    client: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
    expect: &str,
    address: Option<String>,
) -> Result<(), String> {
    let mut request = client.post(url).header("Accept", "application/json");
    if let Some(address) = address {
        request = request.header("X-Forwarded-For", address);
    }
    let response = request
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
    servers: &Servers,
    seeded: &Seeded,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let client = client()?;
    let servers = servers.clone();
    let emails = Arc::new(seeded.open.clone());
    Ok(drive(concurrency, duration, move |n| {
        let client = client.clone();
        let url = servers.url(n, "/api/login");
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
    servers: &Servers,
    seeded: &Seeded,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<CheapRun> {
    let load = sign_ins(servers, seeded, concurrency, duration);
    let probe = async {
        let client = client()?;
        // Let the sign-ins fill every core first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let deadline = Instant::now() + duration.saturating_sub(Duration::from_millis(600));
        let mut login_page = Run::default();
        let mut health = Run::default();
        let started = Instant::now();
        let mut probe = 0;
        while Instant::now() < deadline {
            probe += 1;
            for (path, run) in [("/login", &mut login_page), ("/healthz", &mut health)] {
                let sent = Instant::now();
                match client.get(servers.url(probe, path)).send().await {
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

/// Accounts in one round of code verifications, at every database size alike: at most the 200
/// newest messages that `/dev/outbox.json` shows, so that one read finds all of a round's codes.
pub const VERIFICATION_ROUND: usize = 200;

/// Rounds in one run of code verifications. A run is a fixed amount of work, not a duration: the
/// server issues every code checked, and the send limits it keeps even here (1,000 codes per
/// account and 100,000 per client address an hour, at most) bound how many codes the benchmark
/// may ask for, on a machine of any speed.
pub const VERIFICATION_ROUNDS: usize = 25;

/// How many clients check codes at once, each measured in its own runs: 8, as for one server;
/// and 32, enough that on PostgreSQL, where each check's commit waits for the write-ahead log
/// to reach the disk, the waiting checks leave no core idle.
pub const VERIFICATION_CLIENTS: [usize; 2] = [8, 32];

/// How long a round's unlock codes may take to reach the development outbox, and the longest a
/// round may take.
const ROUND_LIMIT: Duration = Duration::from_secs(10);

/// Right unlock codes for locked accounts (the first half of them), in `VERIFICATION_ROUNDS`
/// rounds of `VERIFICATION_ROUND` accounts chosen at random. Before each round, outside the
/// measured time, its accounts are locked again, the server issues their codes (`fresh_codes`),
/// and the round waits until the server has delivered every message.
pub async fn verifications(
    servers: &Servers,
    seeded: &Seeded,
    concurrency: usize,
) -> anyhow::Result<Run> {
    use rand::seq::SliceRandom;
    let client = recovery_client()?;
    // The recovery cookie first, so that every code asked for below is bound to its one binding
    // (concurrent first requests would each get a binding of their own).
    let email = seeded
        .locked
        .first()
        .context("no locked account")?
        .email
        .clone();
    client
        .post(servers.url(0, "/api/unlock-email"))
        .header("Accept", "application/json")
        .form(&[("email", email.as_str())])
        .send()
        .await
        .context("could not ask for the recovery cookie")?;
    let half = seeded.locked.len() / 2;
    let mut accounts = seeded.locked[..half].to_vec();
    accounts.shuffle(&mut rand::thread_rng());
    // Whole rounds only: a smaller database repeats its accounts rather than measure a short
    // round.
    let rounds = accounts
        .chunks_exact(VERIFICATION_ROUND.min(half))
        .cycle()
        .take(VERIFICATION_ROUNDS);
    let mut total = Run::default();
    for round in rounds {
        let batch = Arc::new(fresh_codes(&client, servers, seeded, round, concurrency).await?);
        until_delivered(seeded).await?;
        let (client, servers) = (client.clone(), servers.clone());
        let cpu_before = CpuSample::now();
        let mut run = drive(concurrency, ROUND_LIMIT, move |n| {
            let (email, code) = batch.get(n)?.clone();
            let client = client.clone();
            let url = servers.url(n, "/api/unlock");
            // Each code from a client address of its own, as people check their codes from
            // their own devices: from one address every check would wait for the one row of
            // that client's shared rate limit (PostgreSQL).
            let address = format!("10.9.{}.{}", n / 250, n % 250 + 1);
            Some(async move {
                let form = [("email", email.as_str()), ("code", code.as_str())];
                posted_from(&client, url, &form, "", Some(address)).await
            })
        })
        .await;
        if let (Some(before), Some(after)) = (cpu_before, CpuSample::now()) {
            run.cpu = after.since(&before);
        }
        total.merge(run);
    }
    anyhow::ensure!(total.ok > 0, "no code verification was made");
    Ok(total)
}

/// Waits until the server has no message queued or being sent, so that a round measures code
/// checks alone and not the delivery worker finishing the round's messages.
async fn until_delivered(seeded: &Seeded) -> anyhow::Result<()> {
    let waited = Instant::now();
    loop {
        let undelivered = seeded.undelivered_messages().await?;
        if undelivered == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            waited.elapsed() < ROUND_LIMIT,
            "{undelivered} messages were still undelivered after {ROUND_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One message in `/dev/outbox.json`.
#[derive(serde::Deserialize)]
struct OutboxMessage {
    id: i64,
    to: String,
    purpose: String,
    body: String,
}

/// The code in a code message: what follows its last `#` (the one-time-code line browsers read).
fn code_in(body: &str) -> &str {
    body.rsplit('#').next().unwrap_or_default().trim()
}

/// The newest messages in the development outbox, newest first.
async fn outbox(client: &reqwest::Client, base: &str) -> anyhow::Result<Vec<OutboxMessage>> {
    client
        .get(format!("{base}/dev/outbox.json"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .context("could not read the development outbox")?
        .json()
        .await
        .context("the development outbox is not the expected JSON")
}

/// Locks `round` again and has the server issue a new unlock code to each account, as after a
/// lockout: `/api/resend-code`, read back from the development outbox. Returns (email, code) in
/// the round's order.
///
/// The server writes every code it then checks, as in service. The lockouts, written through the
/// benchmark's own connection, empty the server writer's page cache (SQLite does so whenever
/// another connection writes); the server's own code-issuing transactions then read the round's
/// pages back, so the checks find them warm, as after a lockout in service. Codes the benchmark
/// wrote itself would leave them cold, and a large database would be measured as no server in
/// service sees it.
async fn fresh_codes(
    client: &reqwest::Client,
    servers: &Servers,
    seeded: &Seeded,
    round: &[LockedAccount],
    concurrency: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    seeded.lock(round).await?;
    // One database: any instance's outbox shows every instance's messages.
    let base = servers.first();
    let seen = outbox(client, base)
        .await?
        .first()
        .map_or(0, |message| message.id);
    let emails: Arc<Vec<String>> =
        Arc::new(round.iter().map(|account| account.email.clone()).collect());
    let (request_client, request_servers) = (client.clone(), servers.clone());
    let requests = drive(concurrency, ROUND_LIMIT, move |n| {
        let email = emails.get(n)?.clone();
        let client = request_client.clone();
        let url = request_servers.url(n, "/api/resend-code");
        Some(async move { posted(&client, url, &[("email", &email)], "phone_ending").await })
    })
    .await;
    anyhow::ensure!(
        requests.ok == round.len() as u64,
        "{} of {} new unlock codes were asked for ({})",
        requests.ok,
        round.len(),
        requests.first_error.unwrap_or_default()
    );
    let waited = Instant::now();
    loop {
        let mut codes = std::collections::HashMap::new();
        for message in outbox(client, base).await? {
            if message.id > seen && message.purpose == "unlock" {
                // Newest first: an account's newest code is the one that counts.
                codes
                    .entry(message.to)
                    .or_insert_with(|| code_in(&message.body).to_owned());
            }
        }
        let found: Option<Vec<(String, String)>> = round
            .iter()
            .map(|account| Some((account.email.clone(), codes.get(&account.phone)?.clone())))
            .collect();
        if let Some(found) = found {
            return Ok(found);
        }
        anyhow::ensure!(
            waited.elapsed() < ROUND_LIMIT,
            "{} of {} unlock codes reached the development outbox within {ROUND_LIMIT:?}",
            codes.len(),
            round.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// "Send me a new code" for the other half of the locked accounts, round-robin: each request
/// issues a code and queues its message (to the development outbox).
pub async fn code_requests(
    servers: &Servers,
    seeded: &Seeded,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    let client = client()?;
    let servers = servers.clone();
    let half = seeded.locked.len() / 2;
    let emails: Arc<Vec<String>> = Arc::new(
        seeded.locked[half..]
            .iter()
            .map(|account| account.email.clone())
            .collect(),
    );
    Ok(drive(concurrency, duration, move |n| {
        let client = client.clone();
        let url = servers.url(n, "/api/resend-code");
        let email = emails[n % emails.len()].clone();
        Some(async move { posted(&client, url, &[("email", &email)], "phone_ending").await })
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use server::domain::{CodeScope, VerificationCode};
    use server::sms::templates::MessageTemplates;

    #[test]
    fn the_code_is_read_from_the_servers_own_unlock_message() {
        let code = VerificationCode::parse("042917", 6).expect("a six-digit code");
        let body = MessageTemplates::new("Latchkey", "127.0.0.1:3000").code_message(
            CodeScope::Unlock,
            &code,
            time::Duration::hours(1),
        );
        assert_eq!(code_in(&body), "042917");
    }

    #[test]
    fn requests_go_to_each_server_in_turn() -> anyhow::Result<()> {
        let servers = Servers::new(vec!["http://a".to_owned(), "http://b".to_owned()])?;
        let urls: Vec<String> = (0..4).map(|n| servers.url(n, "/x")).collect();
        assert_eq!(
            urls,
            ["http://a/x", "http://b/x", "http://a/x", "http://b/x"]
        );
        assert!(Servers::new(Vec::new()).is_err());
        Ok(())
    }
}
