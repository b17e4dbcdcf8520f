//! Building and running the application: configuration in, a bound listener and a running delivery
//! worker out. Tests build it on port 0 with a manual clock.

use crate::auth::codes::{CodeHasher, CodePolicy};
use crate::auth::lockout::LockoutPolicy;
use crate::auth::password_hasher::PasswordHasher;
use crate::auth::secret::{self, SecretSource};
use crate::auth::service::LatchkeyService;
use crate::auth::sessions::SessionPolicy;
use crate::clock::Clock;
use crate::config::{Config, SmsProviderKind};
use crate::maintenance::Maintenance;
use crate::sms::destinations::DestinationPolicy;
use crate::sms::log::LogSender;
use crate::sms::outbox::OutboxSender;
use crate::sms::providers::{
    bandwidth::BandwidthSender, http_client, messagebird::MessageBirdSender, twilio::TwilioSender,
    vonage::VonageSender,
};
use crate::sms::templates::MessageTemplates;
use crate::sms::worker::{DeliveryWorker, RetryPolicy};
use crate::sms::SmsSender;
use crate::store::Store;
use crate::web::origin::AllowedOrigin;
use crate::web::rate_limit::RateLimiter;
use crate::web::{self, WebState};
use anyhow::Context;
use leptos::prelude::LeptosOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// How often old records are pruned.
const MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// How often the worker looks for due retries when nothing wakes it.
const WORKER_POLL: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
    worker: DeliveryWorker,
    maintenance: Maintenance,
    address: SocketAddr,
}

impl Application {
    pub async fn build(
        mut config: Config,
        leptos_options: LeptosOptions,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        ensure_sqlite_directory(&config.database_url)?;
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("could not listen on {} (LISTEN_ADDR)", config.listen_addr))?;
        let address = listener
            .local_addr()
            .context("the listener has no address")?;
        if !config.public_url_is_explicit {
            config.public_url = format!("http://{address}");
        }
        let store = Store::connect(&config.database_url).await?;

        let (server_secret, source) =
            secret::load_or_create(config.server_secret.as_deref(), &config.server_secret_file)?;
        match source {
            SecretSource::Generated(path) => tracing::warn!(
                "no SERVER_SECRET set: generated a new server secret and saved it to {}; keep \
                 this file (codes and decoys depend on it) and back it up with the database",
                path.display()
            ),
            SecretSource::File(path) => {
                tracing::info!("server secret read from {}", path.display())
            }
            SecretSource::Environment => tracing::info!("server secret read from SERVER_SECRET"),
        }

        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2);
        let delivery = Arc::new(Notify::new());
        let service = LatchkeyService {
            store: store.clone(),
            passwords: PasswordHasher::new(cores)?,
            code_hasher: CodeHasher::new(server_secret.clone()),
            code_policy: CodePolicy {
                length: config.code_length,
                lifetime: config.code_ttl,
                max_tries: config.code_max_tries,
            },
            lockout: LockoutPolicy::new(config.lockout_threshold),
            send_limits: config.send_limits,
            destinations: DestinationPolicy::new(config.sms_allowed_countries.clone()),
            sessions: SessionPolicy {
                idle_timeout: config.session_idle_timeout,
                absolute_timeout: config.session_absolute_timeout,
                secure_cookie: config.is_https(),
            },
            templates: MessageTemplates::new(
                config.product_name.clone(),
                config.public_host(),
                config.code_ttl,
            ),
            secret: server_secret,
            phone_region: config.default_phone_region,
            clock: Arc::clone(&clock),
            delivery: Arc::clone(&delivery),
        };

        let sender: Arc<dyn SmsSender> = match config.sms_provider.clone() {
            SmsProviderKind::Outbox => {
                tracing::warn!(
                    "SMS_PROVIDER=outbox: messages are not sent to phones; read them at {}/dev/outbox",
                    config.public_url
                );
                Arc::new(OutboxSender::new(
                    store.clone(),
                    Arc::clone(&clock),
                    format!("{}/dev/outbox", config.public_url),
                ))
            }
            SmsProviderKind::Log => {
                tracing::warn!("SMS_PROVIDER=log: messages, codes included, are written to the log and not sent to phones");
                Arc::new(LogSender)
            }
            SmsProviderKind::Twilio(twilio) => {
                tracing::info!(account = %twilio.account_sid, "SMS_PROVIDER=twilio");
                Arc::new(TwilioSender::new(http_client()?, twilio))
            }
            SmsProviderKind::Vonage(vonage) => {
                tracing::info!(api_key = %vonage.api_key, "SMS_PROVIDER=vonage");
                Arc::new(VonageSender::new(http_client()?, vonage))
            }
            SmsProviderKind::Bandwidth(bandwidth) => {
                tracing::info!(account = %bandwidth.account_id, "SMS_PROVIDER=bandwidth");
                Arc::new(BandwidthSender::new(http_client()?, bandwidth))
            }
            SmsProviderKind::MessageBird(messagebird) => {
                tracing::info!(originator = %messagebird.originator, "SMS_PROVIDER=messagebird");
                Arc::new(MessageBirdSender::new(http_client()?, messagebird))
            }
        };
        let worker = DeliveryWorker::new(
            store.clone(),
            sender,
            Arc::clone(&clock),
            RetryPolicy::default(),
            delivery,
        );

        let router = web::router(WebState {
            leptos_options,
            service: Arc::new(service),
            store: store.clone(),
            dev_outbox: config.sms_provider.is_outbox(),
            rate_limiter: Arc::new(RateLimiter::new(config.rate_limits, Arc::clone(&clock))),
            trusted_proxy_header: config.trusted_proxy_header.clone(),
            allowed_origin: AllowedOrigin::new(config.public_origin()),
            https: config.is_https(),
        });
        let maintenance = Maintenance::new(
            store.clone(),
            Arc::clone(&clock),
            config.audit_retention,
            config.session_absolute_timeout,
        );
        Ok(Self {
            listener,
            router,
            store,
            worker,
            maintenance,
            address,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// The delivery worker, for tests that send queued messages on demand.
    pub fn delivery_worker(&self) -> DeliveryWorker {
        self.worker.clone()
    }

    /// The clean-up task, for tests that run a pass on demand.
    pub fn maintenance(&self) -> Maintenance {
        self.maintenance.clone()
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes in-flight requests and stops the worker.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_worker, worker_stopped) = watch::channel(false);
        let worker = tokio::spawn(
            self.worker
                .clone()
                .run_until_stopped(worker_stopped.clone(), WORKER_POLL),
        );
        let maintenance = tokio::spawn(
            self.maintenance
                .clone()
                .run_until_stopped(worker_stopped, MAINTENANCE_EVERY),
        );
        tracing::info!("listening on http://{}", self.address);
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("the HTTP server failed");
        let _ = stop_worker.send(true);
        let _ = worker.await;
        let _ = maintenance.await;
        self.store.close().await;
        served
    }
}

/// Creates the directory of a `sqlite://` file URL, so a fresh checkout just works.
fn ensure_sqlite_directory(url: &str) -> anyhow::Result<()> {
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).with_context(|| {
            format!(
                "could not create the database directory {}",
                parent.display()
            )
        })?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
