//! Building and running the application: configuration in, a bound listener and a running delivery
//! worker out. Tests build it on port 0 with a manual clock.

use crate::auth::codes::CodeHasher;
use crate::auth::lockout::LockoutPolicy;
use crate::auth::password_hasher::PasswordHasher;
use crate::auth::second_factor::ElevationPolicy;
use crate::auth::secret::{self, SecretSource};
use crate::auth::sessions::SessionPolicy;
use crate::auth::trusted_devices::DevicePolicy;
use crate::clock::Clock;
use crate::config::{Config, SmsProviderKind};
use crate::domain::CodeScope;
use crate::flows::LatchkeyService;
use crate::http_server::{
    self, default_max_connections, raise_open_file_limit, ConnectionLimits,
    RESERVED_FILE_DESCRIPTORS,
};
use crate::maintenance::Maintenance;
use crate::sms::chain::ProviderChain;
use crate::sms::destinations::DestinationPolicy;
use crate::sms::outbox::OutboxSender;
use crate::sms::receipts::{DeliveryQuestions, DeliveryReports};
use crate::sms::templates::MessageTemplates;
use crate::sms::worker::{DeliveryWorker, RetryPolicy, WorkerSettings};
use crate::sms::SmsSender;
use crate::store::{Backend, Store};
use crate::web::origin::AllowedOrigin;
use crate::web::page_state::PageStateKeys;
use crate::web::rate_limit::RateLimiter;
use crate::web::{self, WebState};
use crate::writer_thread::WriterThread;
use anyhow::Context;
use app::types::{Capabilities, CodeLengths};
use leptos::prelude::LeptosOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// How often old records are pruned.
const MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// How often the write-ahead log is checkpointed in the background.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How often the providers that report delivery only when asked are asked.
const ASK_FOR_DELIVERY_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// How often the worker looks for due retries when nothing wakes it.
const WORKER_POLL: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Application {
    listener: TcpListener,
    connection_limits: ConnectionLimits,
    router: axum::Router,
    store: Store,
    worker: DeliveryWorker,
    delivery_questions: DeliveryQuestions,
    maintenance: Maintenance,
    writer_thread: WriterThread,
    address: SocketAddr,
}

impl Application {
    pub async fn build(
        mut config: Config,
        leptos_options: LeptosOptions,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        // Every message fits one SMS with these settings, or nothing starts.
        let xoxzo = config
            .sms
            .providers
            .iter()
            .any(|provider| matches!(provider, SmsProviderKind::Xoxzo(_)));
        MessageTemplates::new(config.product_name.clone(), config.public_host())
            .check_one_segment(&config.code_policies, xoxzo)
            .map_err(anyhow::Error::msg)?;
        ensure_sqlite_directory(&config.database.url)?;
        let open_files = raise_open_file_limit();
        let max_connections = default_max_connections(open_files);
        let max_connections = match config.http.max_connections {
            Some(chosen) => {
                let chosen = usize::try_from(chosen).unwrap_or(usize::MAX);
                if chosen > max_connections {
                    tracing::warn!(
                        chosen,
                        open_files,
                        "HTTP_MAX_CONNECTIONS leaves fewer than {RESERVED_FILE_DESCRIPTORS} of the \
                         open-file limit for the database and providers"
                    );
                }
                chosen
            }
            None => max_connections,
        };
        let connection_limits = ConnectionLimits {
            header_read_timeout: config.http.header_read_timeout.unsigned_abs(),
            max_connections,
            shutdown_grace: config.http.shutdown_grace.unsigned_abs(),
        };
        let writer_thread = match Backend::of_url(&config.database.url) {
            Some(Backend::Sqlite) => WriterThread::start(config.database.sqlite_writer_cpu)?,
            _ => WriterThread::none(),
        };
        if let Some(cpu) = writer_thread.cpu() {
            tracing::info!("requests that write are served on CPU {cpu} (SQLITE_WRITER_CPU)");
        }
        // Storage first: the port is bound only once the database is ready for requests.
        let store = Store::connect_on(
            &config.database.url,
            config.database.max_connections,
            config.database.acquire_timeout.unsigned_abs(),
            &writer_thread,
        )
        .await?;
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("could not listen on {} (LISTEN_ADDR)", config.listen_addr))?;
        let address = listener
            .local_addr()
            .context("the listener has no address")?;
        if !config.public_url_is_explicit {
            config.public_url = format!("http://{address}");
        }
        let instance_id = config
            .instance_id
            .clone()
            .unwrap_or_else(|| format!("{}:{}", host_name(), address.port()));

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

        let hashing_threads = config.hashing_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
        });
        let delivery = Arc::new(Notify::new());
        let providers = provider_chain(&config, &store, &clock)?;
        let issuers = config
            .code_issuers
            .clone()
            .into_issuers(config.code_policies)?;
        let voice_available = providers.voice_available() || issuers.every_scope_calls();
        let voice_fallback = config.sms.voice_fallback && voice_available;
        if config.sms.voice_fallback && !voice_fallback {
            tracing::warn!("SMS_VOICE_FALLBACK is on, but no provider in SMS_PROVIDERS places calls: it has no effect");
        }
        let page_state = Arc::new(PageStateKeys::new(
            server_secret.clone(),
            config.is_https(),
            [CodeScope::Unlock, CodeScope::PasswordReset]
                .into_iter()
                .map(|scope| config.code_policies.get(scope).lifetime)
                .max()
                .unwrap_or(time::Duration::hours(1)),
        ));
        let code_lengths = {
            let length = |scope| config.code_policies.get(scope).length;
            CodeLengths {
                phone_verification: length(CodeScope::PhoneVerification),
                sign_in: length(CodeScope::SignIn),
                unlock: length(CodeScope::Unlock),
                password_reset: length(CodeScope::PasswordReset),
                phone_change: length(CodeScope::PhoneChange),
                admin_step_up: length(CodeScope::AdminStepUp),
            }
        };
        let service = LatchkeyService {
            store: store.clone(),
            passwords: PasswordHasher::with_max_wait(
                hashing_threads,
                config.hashing_priority,
                config.hashing_max_wait.unsigned_abs(),
            )?,
            code_hasher: CodeHasher::new(server_secret.clone()),
            code_policies: config.code_policies,
            sign_in_code: config.sign_in_code,
            elevation: ElevationPolicy {
                lifetime: config.admin_elevation_ttl,
            },
            lockout: LockoutPolicy::new(config.lockout_threshold),
            devices: DevicePolicy {
                lifetime: config.sessions.trusted_device_lifetime,
                lockout: LockoutPolicy::new(config.lockout_threshold),
                cookies: app::ssr::CookieNames {
                    https: config.is_https(),
                },
            },
            send_limits: config.send_limits,
            destinations: DestinationPolicy::new(config.sms.allowed_countries.clone()),
            sessions: SessionPolicy {
                idle_timeout: config.sessions.idle_timeout,
                absolute_timeout: config.sessions.absolute_timeout,
                secure_cookie: config.is_https(),
            },
            templates: MessageTemplates::new(config.product_name.clone(), config.public_host()),
            secret: server_secret,
            phone_region: config.default_phone_region,
            clock: Arc::clone(&clock),
            delivery: Arc::clone(&delivery),
            voice_available,
            voice_fallback,
            issuers: issuers.clone(),
        };

        let dev_outbox = config.sms.providers.iter().any(SmsProviderKind::is_outbox)
            || !config.sms.test_numbers.is_empty();
        let delivery_questions = DeliveryQuestions::new(
            providers.asked_for_delivery(),
            store.clone(),
            Arc::clone(&clock),
        );
        let worker = DeliveryWorker::new(
            store.clone(),
            providers,
            Arc::clone(&clock),
            delivery,
            WorkerSettings {
                policy: RetryPolicy::default(),
                limits: config.sms.in_flight,
                voice_fallback,
                instance: instance_id.clone(),
                issuers,
            },
        );
        worker.release_in_flight().await?;

        let router = web::router(WebState {
            leptos_options,
            service: Arc::new(service),
            store: store.clone(),
            dev_outbox,
            capabilities: Capabilities {
                voice: voice_available,
                code_lengths,
            },
            page_state,
            rate_limiter: Arc::new(match store.backend() {
                Backend::Postgres => {
                    RateLimiter::shared(config.rate_limits, Arc::clone(&clock), store.clone())
                }
                Backend::Sqlite => RateLimiter::new(config.rate_limits, Arc::clone(&clock)),
            }),
            client_ip: web::client_ip::ClientIpSettings {
                trusted_header: config.trusted_proxy_header.clone(),
                ipv6_prefix: config.client_ipv6_prefix,
            },
            allowed_origin: AllowedOrigin::new(config.public_origin()),
            https: config.is_https(),
            writer_thread: writer_thread.clone(),
            delivery_reports: delivery_reports(&config, &store, &clock),
            public_url: config.public_url.clone(),
        });
        let maintenance = Maintenance::new(
            store.clone(),
            Arc::clone(&clock),
            config.audit_retention,
            config.sessions.absolute_timeout,
            config.unverified_signup_retention,
            config.sessions.trusted_device_lifetime,
        );
        Ok(Self {
            listener,
            connection_limits,
            router,
            store,
            worker,
            delivery_questions,
            maintenance,
            writer_thread,
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

    /// What asks the providers that report delivery only when asked, for tests that ask on demand.
    pub fn delivery_questions(&self) -> DeliveryQuestions {
        self.delivery_questions.clone()
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
        // The background tasks write too: they run where requests that write are served.
        let (stop_worker, worker_stopped) = watch::channel(false);
        let worker = self.writer_thread.spawn(
            self.worker
                .clone()
                .run_until_stopped(worker_stopped.clone(), WORKER_POLL),
        );
        let checkpoints = self
            .writer_thread
            .spawn(crate::maintenance::checkpoint_until_stopped(
                self.store.clone(),
                worker_stopped.clone(),
                CHECKPOINT_EVERY,
            ));
        let questions = self.writer_thread.spawn(
            self.delivery_questions
                .clone()
                .run_until_stopped(worker_stopped.clone(), ASK_FOR_DELIVERY_EVERY),
        );
        let maintenance = self.writer_thread.spawn(
            self.maintenance
                .clone()
                .run_until_stopped(worker_stopped, MAINTENANCE_EVERY),
        );
        tracing::info!(
            "at most {} connections at once (HTTP_MAX_CONNECTIONS)",
            self.connection_limits.max_connections
        );
        tracing::info!("listening on http://{}", self.address);
        let grace_ends =
            http_server::serve(self.listener, self.router, self.connection_limits, shutdown).await;
        // Sends in flight finish within what is left of the grace period: a provider's answer is
        // awaited rather than sent twice after a restart.
        let _ = stop_worker.send(true);
        let background = async {
            let _ = worker.await;
            let _ = questions.await;
            let _ = maintenance.await;
            let _ = checkpoints.await;
        };
        if tokio::time::timeout_at(grace_ends, background)
            .await
            .is_err()
        {
            tracing::warn!("a message send was still in flight after SHUTDOWN_GRACE_PERIOD");
        }
        self.store.close().await;
        Ok(())
    }
}

/// The senders for `SMS_PROVIDERS`, in order, with `SMS_TEST_NUMBERS` captured in the outbox.
fn provider_chain(
    config: &Config,
    store: &Store,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<ProviderChain> {
    let outbox = || -> Arc<dyn SmsSender> {
        Arc::new(OutboxSender::new(
            store.clone(),
            Arc::clone(clock),
            format!("{}/dev/outbox", config.public_url),
        ))
    };
    let mut senders: Vec<Arc<dyn SmsSender>> = Vec::new();
    for provider in &config.sms.providers {
        senders.push(
            provider
                .clone()
                .into_sender(clock, &outbox, &config.public_url)?,
        );
    }
    let mut chain = ProviderChain::new(senders)?.with_timeouts(config.sms.send_timeouts.clone());
    if config.sms.providers.len() > 1 {
        tracing::info!(providers = ?chain.names(), "SMS providers in failover order");
    }
    let mut timeouts: Vec<String> = config
        .sms
        .send_timeouts
        .iter()
        .map(|(name, timeout)| format!("{name} {}s", timeout.as_secs()))
        .collect();
    timeouts.sort();
    if timeouts.is_empty() {
        timeouts.push("none (no provider over the network)".to_owned());
    }
    tracing::info!(
        in_flight = config.sms.in_flight.in_flight,
        per_provider = config.sms.in_flight.per_provider,
        timeouts = %timeouts.join(", "),
        "messages sent at once, at most (SMS_MAX_IN_FLIGHT, SMS_MAX_IN_FLIGHT_PER_PROVIDER), and each provider's timeout"
    );
    if !config.sms.test_numbers.is_empty() {
        let numbers: Vec<String> = config
            .sms
            .test_numbers
            .iter()
            .map(|number| number.e164().to_owned())
            .collect();
        tracing::warn!(
            count = numbers.len(),
            "SMS_TEST_NUMBERS: messages to these numbers are never sent; their codes can be read \
             by anyone at {}/dev/outbox",
            config.public_url
        );
        chain = chain.with_test_numbers(numbers, outbox());
    }
    Ok(chain)
}

/// The machine's name (Linux), or `latchkey` where it cannot be read.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "latchkey".to_owned())
}

/// The delivery receipts of the configured providers that send them by webhook.
fn delivery_reports(config: &Config, store: &Store, clock: &Arc<dyn Clock>) -> DeliveryReports {
    let reports = DeliveryReports::new(
        config
            .sms
            .providers
            .iter()
            .filter_map(SmsProviderKind::status_callbacks),
        store.clone(),
        Arc::clone(clock),
    );
    for provider in reports.providers() {
        tracing::info!(
            provider,
            "delivery receipts are read at {}",
            crate::sms::receipts::status_callback_url(&config.public_url, provider)
        );
    }
    reports
}

/// Creates the directory of a `sqlite://` file URL, so a fresh checkout just works.
pub fn ensure_sqlite_directory(url: &str) -> anyhow::Result<()> {
    let Some(path) = crate::store::sqlite_path(url) else {
        return Ok(());
    };
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
