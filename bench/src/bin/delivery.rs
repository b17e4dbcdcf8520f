//! The delivery benchmark: how long a code waits between being queued and reaching its provider
//! while another provider hangs. Vonage, played by a listener that takes every request and never
//! answers, gets a text each round; Twilio, played by one that answers at once, gets a call. The
//! real delivery worker, with its default bounds and timeouts, sends both from a real SQLite file.
//! `SMS_MAX_IN_FLIGHT` and `SMS_MAX_IN_FLIGHT_PER_PROVIDER` are read from the environment, as by
//! the server. Prints a Markdown table and writes `target/bench/delivery.json`.
//!
//! `scripts/bench.sh` runs it after the main benchmark.

use anyhow::Context;
use axum::body::Bytes;
use axum::http::StatusCode;
use server::clock::{Clock, SystemClock};
use server::config::Config;
use server::sms::chain::ProviderChain;
use server::sms::log::LogSender;
use server::sms::worker::{DeliveryWorker, WorkerSettings};
use server::sms::{DeliveryChannel, SmsSender};
use server::store::{NewMessage, Store};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// Rounds of one text (to the hanging provider) and one call (to the answering one).
const ROUNDS: usize = 300;
/// Between rounds: 300 rounds take about 6 s, within the hanging provider's default timeout, so
/// it holds every send it may have for the whole run.
const GAP: Duration = Duration::from_millis(20);

/// When each call's request reached the answering provider, by the number it calls.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let data = tempfile::tempdir().context("a temporary directory")?;
    let store = Store::connect(
        &format!("sqlite://{}/latchkey.db", data.path().display()),
        4,
    )
    .await?;
    let arrivals = Arrivals::default();
    let twilio = serve(answering_twilio(Arc::clone(&arrivals))).await?;
    let vonage = serve(axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(600)).await;
        StatusCode::OK
    }))
    .await?;
    let settings: HashMap<&str, String> = HashMap::from([
        ("SMS_PROVIDERS", "vonage,twilio".to_owned()),
        ("VONAGE_BASE_URL", vonage),
        ("VONAGE_API_KEY", "key".to_owned()),
        ("VONAGE_API_SECRET", "secret".to_owned()),
        ("VONAGE_FROM", "Latchkey".to_owned()),
        ("TWILIO_BASE_URL", twilio),
        ("TWILIO_ACCOUNT_SID", "ACbench".to_owned()),
        ("TWILIO_AUTH_TOKEN", "token".to_owned()),
        ("TWILIO_FROM", "+14155550000".to_owned()),
    ]);
    // The bounds may be set as for the server, to see what they change.
    let config = Config::from_lookup(|name| {
        settings.get(name).cloned().or_else(|| {
            name.starts_with("SMS_MAX_IN_FLIGHT")
                .then(|| std::env::var(name).ok())
                .flatten()
        })
    })
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let unused_outbox = || -> Arc<dyn SmsSender> { Arc::new(LogSender) };
    let senders = config
        .sms
        .providers
        .iter()
        .map(|provider| {
            provider
                .clone()
                .into_sender(&clock, &unused_outbox, "http://127.0.0.1")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let chain = ProviderChain::new(senders)?.with_timeouts(config.sms.send_timeouts.clone());
    let wake = Arc::new(Notify::new());
    let limits = config.sms.in_flight;
    let worker = DeliveryWorker::new(
        store.clone(),
        chain,
        Arc::clone(&clock),
        Arc::clone(&wake),
        WorkerSettings {
            limits,
            instance: "bench".to_owned(),
            ..WorkerSettings::default()
        },
    );
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(worker.run_until_stopped(stopped, Duration::from_secs(1)));

    let mut queued = HashMap::new();
    for round in 0..ROUNDS {
        enqueue(
            &store,
            &clock,
            &format!("+1415550{round:04}"),
            DeliveryChannel::Sms,
        )
        .await?;
        let call_to = format!("+1415551{round:04}");
        queued.insert(call_to.clone(), Instant::now());
        enqueue(&store, &clock, &call_to, DeliveryChannel::Voice).await?;
        wake.notify_one();
        tokio::time::sleep(GAP).await;
    }
    let waiting_since = Instant::now();
    while arrivals.lock().map(|seen| seen.len()).unwrap_or(0) < ROUNDS {
        anyhow::ensure!(
            waiting_since.elapsed() < Duration::from_secs(60),
            "not every call reached the provider within a minute"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hanging: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sms_messages WHERE channel = 'sms' AND status = 'sending'",
    )
    .fetch_one(store.pool())
    .await?;
    let _ = stop.send(true);
    running.abort();

    let mut waits: Vec<Duration> = {
        let seen = arrivals
            .lock()
            .map_err(|_| anyhow::anyhow!("the arrivals lock was poisoned"))?;
        queued
            .iter()
            .filter_map(|(to, at)| {
                seen.get(to)
                    .map(|arrived| arrived.saturating_duration_since(*at))
            })
            .collect()
    };
    waits.sort();
    let percentile = |p: f64| {
        let index = ((waits.len() as f64 * p).ceil() as usize).clamp(1, waits.len()) - 1;
        waits[index].as_secs_f64() * 1000.0
    };
    let (p50, p99, max) = (percentile(0.50), percentile(0.99), percentile(1.0));
    println!("| Calls queued while the text provider hangs | {ROUNDS} |");
    println!("|---|---|");
    println!(
        "| Texts held by the hanging provider at the end | {hanging} (bound: {} of {} in flight) |",
        limits.per_provider, limits.in_flight
    );
    println!("| Queued → at the answering provider, p50 | {p50:.1} ms |");
    println!("| Queued → at the answering provider, p99 | {p99:.1} ms |");
    println!("| Queued → at the answering provider, max | {max:.1} ms |");
    std::fs::create_dir_all("target/bench").context("target/bench")?;
    let json = serde_json::json!({
        "rounds": ROUNDS,
        "hanging_sends_in_flight": hanging,
        "in_flight": limits.in_flight,
        "per_provider": limits.per_provider,
        "wait_ms": { "p50": p50, "p99": p99, "max": max },
    });
    std::fs::write(
        "target/bench/delivery.json",
        serde_json::to_vec_pretty(&json)?,
    )
    .context("target/bench/delivery.json")?;
    println!("JSON: target/bench/delivery.json");
    Ok(())
}

/// Twilio answering every call at once, noting when each arrived.
fn answering_twilio(arrivals: Arrivals) -> axum::Router {
    axum::Router::new().fallback(move |body: Bytes| {
        let arrived = Instant::now();
        let arrivals = Arc::clone(&arrivals);
        async move {
            if let Some((_, to)) = url::form_urlencoded::parse(&body).find(|(name, _)| name == "To")
            {
                if let Ok(mut seen) = arrivals.lock() {
                    seen.entry(to.into_owned()).or_insert(arrived);
                }
            }
            (
                StatusCode::CREATED,
                [("content-type", "application/json")],
                r#"{"sid": "CA123", "status": "queued"}"#,
            )
        }
    })
}

/// Serves `app` on a free loopback port; its base URL.
async fn serve(app: axum::Router) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{address}"))
}

/// Queues a code message to `to`, as a flow does.
async fn enqueue(
    store: &Store,
    clock: &Arc<dyn Clock>,
    to: &str,
    channel: DeliveryChannel,
) -> anyhow::Result<()> {
    let mut tx = store.begin_write().await?;
    Store::enqueue_message(
        &mut tx,
        NewMessage {
            account_id: None,
            to_phone: to,
            body: "Your Latchkey code is 123456",
            purpose: "unlock",
            channel,
            fallback_body: None,
            client_ip: None,
            client_network: None,
            allowance: "lock",
            code_service: None,
        },
        clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
