//! Configuration from environment variables (and a `.env` file, loaded by `main`). Every knob has
//! a default; a bad value stops startup with a message naming the variable.

mod code_issuers;
mod codes;
mod sms;

pub use crate::setting::ConfigError;
pub use code_issuers::{CodeIssuerSettings, CodeServiceKind};
pub use sms::SmsProviderKind;

use crate::auth::codes::ScopePolicies;
use crate::auth::password_hasher::HashingPriority;
use crate::auth::second_factor::SignInCodePolicy;
use crate::auth::send_limits::SendLimits;
use crate::domain::{PhoneNumber, PhoneRegion};
use crate::setting::{boolean, choice, cooldown, duration, invalid, number};
use crate::sms::worker::InFlightLimits;
use crate::store::Backend;
use crate::writer_thread::WriterCpu;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use time::Duration;

/// Every setting, read once at startup; related ones are grouped.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`, `DATABASE_MAX_CONNECTIONS`, `DATABASE_ACQUIRE_TIMEOUT`, `SQLITE_WRITER_CPU`.
    pub database: DatabaseSettings,
    /// `SMS_PROVIDERS` (with each provider's own settings and `<PROVIDER>_TIMEOUT`),
    /// `SMS_MAX_IN_FLIGHT`, `SMS_MAX_IN_FLIGHT_PER_PROVIDER`, `SMS_VOICE_FALLBACK`,
    /// `SMS_TEST_NUMBERS`, `SMS_ALLOWED_COUNTRIES`.
    pub sms: SmsSettings,
    /// `SESSION_IDLE_TIMEOUT`, `SESSION_ABSOLUTE_TIMEOUT`, `TRUSTED_DEVICE_LIFETIME`.
    pub sessions: SessionSettings,
    /// `HTTP_HEADER_READ_TIMEOUT`, `HTTP_MAX_CONNECTIONS` and `SHUTDOWN_GRACE_PERIOD`: see
    /// `http_server`.
    pub http: HttpSettings,
    /// `SERVER_SECRET`: hex or base64, at least 32 bytes; when absent, `SERVER_SECRET_FILE` is
    /// read, or generated on first start.
    pub server_secret: Option<String>,
    pub server_secret_file: PathBuf,
    /// `LOCKOUT_THRESHOLD`: consecutive failed sign-ins that lock an account.
    pub lockout_threshold: u32,
    /// Each code scope's length, lifetime and tries: `CODE_LENGTH`, `CODE_TTL` and
    /// `CODE_MAX_TRIES` for every scope, overridden per scope by the same name with the scope
    /// appended (`CODE_TTL_ADMIN_STEP_UP`, …). `admin_step_up` codes live 10 minutes by default.
    pub code_policies: ScopePolicies,
    /// `CODE_ISSUER` and `CODE_ISSUER_<SCOPE>`: the scopes whose codes a managed verification
    /// service issues and checks, and each service's settings.
    pub code_issuers: CodeIssuerSettings,
    /// `SIGN_IN_CODE`: `off` (accounts may opt in), `on` (asked unless an account opts out), or
    /// `required` (every sign-in).
    pub sign_in_code: SignInCodePolicy,
    /// `ADMIN_ELEVATION_TTL`: how long an admin step-up code opens the admin area for.
    pub admin_elevation_ttl: Duration,
    /// `PASSWORD_HASHING_PRIORITY`: `low` (the default: nice 5), `idle` (`SCHED_IDLE`: hashing
    /// yields to all other work, and starves on a busy host) or `normal`.
    pub hashing_priority: HashingPriority,
    /// `PASSWORD_HASHING_MAX_WAIT`: a sign-in whose hash would wait longer than this in the queue
    /// is refused at once (503 with `Retry-After`).
    pub hashing_max_wait: Duration,
    /// `PASSWORD_HASHING_THREADS`: how many threads hash passwords; unset, one per core the
    /// process may use. Several instances on one host split its cores between them.
    pub hashing_threads: Option<usize>,
    /// `DEFAULT_PHONE_REGION`: the country assumed for numbers without a country code.
    pub default_phone_region: PhoneRegion,
    /// `LISTEN_ADDR`: the address the server binds.
    pub listen_addr: SocketAddr,
    /// `PUBLIC_URL`: where people reach the server; HTTPS here makes cookies `Secure`. Without it,
    /// `http://` and the listening address (resolved after binding, so port 0 works).
    pub public_url: String,
    /// Whether `PUBLIC_URL` was set (rather than derived from the listening address).
    pub public_url_is_explicit: bool,
    /// `INSTANCE_ID`: this instance's name on the messages it sends, the same across its
    /// restarts; without it, the host's name and the listening port.
    pub instance_id: Option<String>,
    /// `PRODUCT_NAME`: the name at the start of every message.
    pub product_name: String,
    /// `SEND_COOLDOWN`, `SEND_MAX_PER_HOUR`, `SEND_MAX_PER_HOUR_ALL_CLIENTS`,
    /// `SEND_RESERVE_PER_HOUR`, `SEND_MAX_PER_IP_PER_HOUR`, `SMS_MAX_PER_HOUR`.
    pub send_limits: SendLimits,
    /// `RATE_LIMIT_LOGIN`, `RATE_LIMIT_CODE`, `RATE_LIMIT_SIGNUP`, `RATE_LIMIT_FIELD_CHECK`:
    /// requests per minute per client.
    pub rate_limits: RateLimits,
    /// `AUDIT_RETENTION`: how long security events are kept.
    pub audit_retention: Duration,
    /// `UNVERIFIED_SIGNUP_RETENTION`: how long a signup whose phone was never verified is kept
    /// before it is deleted (and its email can be registered again).
    pub unverified_signup_retention: Duration,
    /// `TRUSTED_PROXY_HEADER`: the header a trusted reverse proxy puts the client IP in (such as
    /// `X-Forwarded-For`); unset: the address of the connection.
    pub trusted_proxy_header: Option<http::HeaderName>,
    /// `CLIENT_IPV6_PREFIX`: IPv6 clients are grouped by this many leading bits (64: one /64
    /// network, what a single subscriber is usually given) for every per-client limit and count.
    pub client_ipv6_prefix: u8,
}

/// Where the data lives and how this instance reaches it.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`: where the data lives: `sqlite:…` (the default) or `postgres://…`.
    pub url: String,
    /// `DATABASE_MAX_CONNECTIONS`: the size of this instance's connection pool.
    pub max_connections: u32,
    /// `DATABASE_ACQUIRE_TIMEOUT`: how long a request waits for a database connection before it
    /// is answered `503` (the database is unreachable, or every connection is busy).
    pub acquire_timeout: Duration,
    /// `SQLITE_WRITER_CPU`: the CPU of the thread that serves writes next to SQLite's writer
    /// connection (`auto`, a CPU number, or `off`); see `writer_thread`.
    pub sqlite_writer_cpu: WriterCpu,
}

/// Who delivers codes, and to where.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// `SMS_PROVIDERS` (or `SMS_PROVIDER`): who delivers codes, in failover order.
    pub providers: Vec<SmsProviderKind>,
    /// `<PROVIDER>_TIMEOUT` (`TWILIO_TIMEOUT`, …): how long each provider may take over a send.
    pub send_timeouts: HashMap<&'static str, std::time::Duration>,
    /// `SMS_MAX_IN_FLIGHT` and `SMS_MAX_IN_FLIGHT_PER_PROVIDER`.
    pub in_flight: InFlightLimits,
    /// `SMS_VOICE_FALLBACK`: a text message that fails for good is sent again as a call.
    pub voice_fallback: bool,
    /// `SMS_TEST_NUMBERS`: numbers whose messages are kept in the outbox and never sent.
    pub test_numbers: Vec<PhoneNumber>,
    /// `SMS_ALLOWED_COUNTRIES`: the countries codes may be sent to; `None` (unset): all.
    pub allowed_countries: Option<Vec<PhoneRegion>>,
}

/// How long a sign-in lasts, and how long a browser stays trusted.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// `SESSION_IDLE_TIMEOUT` and `SESSION_ABSOLUTE_TIMEOUT`.
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    /// `TRUSTED_DEVICE_LIFETIME`: how long a browser that signed in stays trusted without signing
    /// in again (see `auth::trusted_devices`).
    pub trusted_device_lifetime: Duration,
}

/// How connections are served; see `http_server`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// A request head must arrive within this of connecting, or of the previous answer on a
    /// kept-alive connection (so it is the idle timeout of kept-alive connections too).
    pub header_read_timeout: Duration,
    /// The most connections open at once; `None`: the open-file limit less a reserve.
    pub max_connections: Option<u32>,
    /// How long a shutdown waits for requests and sends in flight.
    pub shutdown_grace: Duration,
}

/// Requests per minute per client IP, for each kind of request that guesses a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub login_per_minute: u32,
    pub code_per_minute: u32,
    pub signup_per_minute: u32,
    /// Live checks of signup fields (`POST /api/check-field`).
    pub field_check_per_minute: u32,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (a variable name to its value, if set).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };

        let listen_addr = match get("LISTEN_ADDR").or_else(|| get("LEPTOS_SITE_ADDR")) {
            Some(value) => value.parse().map_err(|_| {
                invalid(
                    "LISTEN_ADDR",
                    format!("`{value}` is not an address like 127.0.0.1:3000"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let public_url_is_explicit = get("PUBLIC_URL").is_some();
        let public_url = get("PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{listen_addr}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://"))
            || host_of(&public_url).is_empty()
        {
            return Err(invalid(
                "PUBLIC_URL",
                format!("`{public_url}` must be an http:// or https:// URL"),
            ));
        }

        let mut code_policies = codes::policies(&get)?;
        let code_issuers = code_issuers::issuers(&get, &mut code_policies)?;
        let sms_providers = sms::providers(&get)?;
        let sms_send_timeouts = sms::send_timeouts(&get, &sms_providers)?;
        let sms_in_flight = sms::in_flight_limits(&get)?;
        let sms_voice_fallback = boolean(&get, "SMS_VOICE_FALLBACK", false)?;

        let default_phone_region = {
            let value = get("DEFAULT_PHONE_REGION").unwrap_or_else(|| "US".to_owned());
            PhoneRegion::parse(&value).ok_or_else(|| {
                invalid(
                    "DEFAULT_PHONE_REGION",
                    format!("`{value}` is not a two-letter country code such as US or GB"),
                )
            })?
        };

        let session_idle_timeout = duration(&get, "SESSION_IDLE_TIMEOUT", Duration::hours(1))?;
        let session_absolute_timeout =
            duration(&get, "SESSION_ABSOLUTE_TIMEOUT", Duration::hours(12))?;
        if session_idle_timeout > session_absolute_timeout {
            return Err(invalid(
                "SESSION_IDLE_TIMEOUT",
                "must not be longer than SESSION_ABSOLUTE_TIMEOUT",
            ));
        }

        let trusted_proxy_header = match get("TRUSTED_PROXY_HEADER") {
            Some(name) => Some(http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                invalid(
                    "TRUSTED_PROXY_HEADER",
                    format!("`{name}` is not a header name"),
                )
            })?),
            None => None,
        };

        let sms_allowed_countries = match get("SMS_ALLOWED_COUNTRIES") {
            Some(list) => Some(
                list.split(',')
                    .map(str::trim)
                    .filter(|code| !code.is_empty())
                    .map(|code| {
                        PhoneRegion::parse(code).ok_or_else(|| {
                            invalid(
                                "SMS_ALLOWED_COUNTRIES",
                                format!(
                                    "`{code}` is not a two-letter country code such as US or GB"
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };

        let default_region = default_phone_region;
        let sms_test_numbers = match get("SMS_TEST_NUMBERS") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|number| !number.is_empty())
                .map(|number| {
                    PhoneNumber::parse(number, default_region).map_err(|error| {
                        invalid(
                            "SMS_TEST_NUMBERS",
                            format!("`{number}` is not a phone number: {error}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };

        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/latchkey.db".to_owned());
        if Backend::of_url(&database_url).is_none() {
            return Err(invalid(
                "DATABASE_URL",
                "must start with sqlite: (for example sqlite://data/latchkey.db) or postgres:// \
                 (for example postgres://latchkey@db.internal/latchkey)",
            ));
        }

        Ok(Self {
            database: DatabaseSettings {
                url: database_url,
                max_connections: number(&get, "DATABASE_MAX_CONNECTIONS", 8, 1..=1000)?,
                acquire_timeout: duration(&get, "DATABASE_ACQUIRE_TIMEOUT", Duration::seconds(2))?,
                sqlite_writer_cpu: choice(
                    &get,
                    "SQLITE_WRITER_CPU",
                    WriterCpu::Auto,
                    WriterCpu::parse,
                    "auto, off, or a CPU number",
                )?,
            },
            sms: SmsSettings {
                providers: sms_providers,
                send_timeouts: sms_send_timeouts,
                in_flight: sms_in_flight,
                voice_fallback: sms_voice_fallback,
                test_numbers: sms_test_numbers,
                allowed_countries: sms_allowed_countries,
            },
            sessions: SessionSettings {
                idle_timeout: session_idle_timeout,
                absolute_timeout: session_absolute_timeout,
                trusted_device_lifetime: duration(
                    &get,
                    "TRUSTED_DEVICE_LIFETIME",
                    Duration::days(90),
                )?,
            },
            audit_retention: duration(&get, "AUDIT_RETENTION", Duration::days(90))?,
            unverified_signup_retention: duration(
                &get,
                "UNVERIFIED_SIGNUP_RETENTION",
                Duration::days(7),
            )?,
            send_limits: SendLimits {
                cooldown: cooldown(&get, "SEND_COOLDOWN", Duration::seconds(60))?,
                per_target_per_hour: number(&get, "SEND_MAX_PER_HOUR", 5, 1..=1000)?,
                per_target_all_clients_per_hour: number(
                    &get,
                    "SEND_MAX_PER_HOUR_ALL_CLIENTS",
                    10,
                    1..=10_000,
                )?,
                reserve_per_hour: number(&get, "SEND_RESERVE_PER_HOUR", 5, 0..=1000)?,
                per_ip_per_hour: number(&get, "SEND_MAX_PER_IP_PER_HOUR", 20, 1..=100_000)?,
                global_per_hour: number(&get, "SMS_MAX_PER_HOUR", 500, 1..=10_000_000)?,
            },
            rate_limits: RateLimits {
                login_per_minute: number(&get, "RATE_LIMIT_LOGIN", 30, 1..=1_000_000)?,
                code_per_minute: number(&get, "RATE_LIMIT_CODE", 10, 1..=1_000_000)?,
                signup_per_minute: number(&get, "RATE_LIMIT_SIGNUP", 10, 1..=1_000_000)?,
                field_check_per_minute: number(&get, "RATE_LIMIT_FIELD_CHECK", 60, 1..=1_000_000)?,
            },
            trusted_proxy_header,
            client_ipv6_prefix: number(&get, "CLIENT_IPV6_PREFIX", 64, 16..=128)?,
            http: HttpSettings {
                header_read_timeout: duration(
                    &get,
                    "HTTP_HEADER_READ_TIMEOUT",
                    Duration::seconds(30),
                )?,
                max_connections: match get("HTTP_MAX_CONNECTIONS") {
                    None => None,
                    Some(_) => Some(number(&get, "HTTP_MAX_CONNECTIONS", 0, 1..=10_000_000)?),
                },
                shutdown_grace: duration(&get, "SHUTDOWN_GRACE_PERIOD", Duration::seconds(20))?,
            },
            server_secret: get("SERVER_SECRET"),
            server_secret_file: get("SERVER_SECRET_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("data/server-secret")),
            lockout_threshold: number(&get, "LOCKOUT_THRESHOLD", 3, 1..=100)?,
            code_policies,
            code_issuers,
            sign_in_code: choice(
                &get,
                "SIGN_IN_CODE",
                SignInCodePolicy::Off,
                SignInCodePolicy::parse,
                "off, on or required",
            )?,
            admin_elevation_ttl: duration(&get, "ADMIN_ELEVATION_TTL", Duration::minutes(10))?,
            hashing_priority: choice(
                &get,
                "PASSWORD_HASHING_PRIORITY",
                HashingPriority::Low,
                HashingPriority::parse,
                "idle, low or normal",
            )?,
            hashing_max_wait: duration(&get, "PASSWORD_HASHING_MAX_WAIT", Duration::seconds(1))?,
            hashing_threads: match get("PASSWORD_HASHING_THREADS") {
                None => None,
                Some(_) => Some(number(&get, "PASSWORD_HASHING_THREADS", 1, 1..=256)?),
            },
            default_phone_region,
            listen_addr,
            instance_id: get("INSTANCE_ID").filter(|id| !id.trim().is_empty()),
            public_url,
            public_url_is_explicit,
            product_name: get("PRODUCT_NAME").unwrap_or_else(|| "Latchkey".to_owned()),
        })
    }

    /// Whether the public URL is HTTPS (cookies are then `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The origin (`scheme://host[:port]`) that browsers send in `Origin` for this server's pages.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map(|i| i + 3).unwrap_or(0);
        match self.public_url[after_scheme..].find('/') {
            Some(slash) => &self.public_url[..after_scheme + slash],
            None => &self.public_url,
        }
    }

    /// The public URL's host, for the origin-bound line of messages.
    pub fn public_host(&self) -> &str {
        host_of(&self.public_url)
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_and_port = authority.rsplit('@').next().unwrap_or(authority);
    if host_and_port.starts_with('[') {
        return host_and_port
            .split(']')
            .next()
            .map(|host| host.trim_start_matches('['))
            .unwrap_or(host_and_port);
    }
    host_and_port.split(':').next().unwrap_or(host_and_port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CodeScope;
    use std::collections::HashMap;

    /// The configuration these settings give (every other variable unset).
    pub(super) fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn every_setting_has_a_default() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.database.url, "sqlite://data/latchkey.db");
        assert_eq!(config.database.max_connections, 8);
        assert_eq!(config.lockout_threshold, 3);
        for scope in CodeScope::ALL.iter().copied() {
            let policy = config.code_policies.get(scope);
            assert_eq!(policy.length, 6);
            assert_eq!(policy.max_tries, 1);
            let lifetime = match scope {
                CodeScope::AdminStepUp => Duration::minutes(10),
                _ => Duration::hours(1),
            };
            assert_eq!(policy.lifetime, lifetime, "{}", scope.as_str());
        }
        assert_eq!(config.sign_in_code, SignInCodePolicy::Off);
        assert_eq!(config.admin_elevation_ttl, Duration::minutes(10));
        assert_eq!(config.unverified_signup_retention, Duration::days(7));
        assert_eq!(config.sms.providers.len(), 1);
        assert!(config.sms.providers[0].is_outbox());
        assert!(!config.sms.voice_fallback);
        assert!(config.sms.test_numbers.is_empty());
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.public_url, "http://127.0.0.1:3000");
        assert_eq!(config.public_host(), "127.0.0.1");
        assert!(!config.is_https());
        assert_eq!(config.send_limits.cooldown, Duration::seconds(60));
        assert_eq!(config.send_limits.per_target_per_hour, 5);
        assert_eq!(config.rate_limits.login_per_minute, 30);
        assert_eq!(config.trusted_proxy_header, None);
        assert_eq!(config.client_ipv6_prefix, 64);
    }

    #[test]
    fn the_database_is_sqlite_or_postgres_and_nothing_else() {
        let postgres = "postgres://latchkey@db.internal:5432/latchkey";
        assert_eq!(
            config(&[("DATABASE_URL", postgres)]).map(|c| c.database.url),
            Ok(postgres.to_owned())
        );
        for refused in ["mysql://db/latchkey", "data/latchkey.db"] {
            let error = config(&[("DATABASE_URL", refused)]).expect_err(refused);
            assert_eq!(error.variable, "DATABASE_URL");
            assert!(error.problem.contains("sqlite:"), "{}", error.problem);
        }
        assert_eq!(
            config(&[("DATABASE_MAX_CONNECTIONS", "0")])
                .map(|c| c.database.max_connections)
                .map_err(|e| e.variable),
            Err("DATABASE_MAX_CONNECTIONS")
        );
    }

    pub(super) fn config_error(variable: &str) -> &str {
        match config(&[(variable, "x")]) {
            Err(error) => error.variable,
            Ok(_) => "accepted",
        }
    }

    #[test]
    fn the_sign_in_code_policy_is_off_on_or_required() {
        for (value, policy) in [
            ("off", SignInCodePolicy::Off),
            ("on", SignInCodePolicy::On),
            ("required", SignInCodePolicy::Required),
        ] {
            assert_eq!(
                config(&[("SIGN_IN_CODE", value)]).map(|c| c.sign_in_code),
                Ok(policy)
            );
        }
        assert_eq!(config_error("SIGN_IN_CODE"), "SIGN_IN_CODE");
        assert_eq!(config_error("ADMIN_ELEVATION_TTL"), "ADMIN_ELEVATION_TTL");
    }

    #[test]
    fn the_sqlite_writer_cpu_is_chosen_automatically_unless_set() {
        let cpu = |pairs: &[(&str, &str)]| config(pairs).map(|c| c.database.sqlite_writer_cpu);
        assert_eq!(cpu(&[]), Ok(WriterCpu::Auto));
        assert_eq!(cpu(&[("SQLITE_WRITER_CPU", "off")]), Ok(WriterCpu::Off));
        assert_eq!(cpu(&[("SQLITE_WRITER_CPU", "1")]), Ok(WriterCpu::Cpu(1)));
        assert_eq!(config_error("SQLITE_WRITER_CPU"), "SQLITE_WRITER_CPU");
    }

    #[test]
    fn password_hashing_runs_at_low_priority_unless_set_otherwise() {
        let priority = |pairs: &[(&str, &str)]| config(pairs).map(|c| c.hashing_priority);
        assert_eq!(priority(&[]), Ok(HashingPriority::Low));
        assert_eq!(
            priority(&[("PASSWORD_HASHING_PRIORITY", "normal")]),
            Ok(HashingPriority::Normal)
        );
        assert_eq!(
            priority(&[("PASSWORD_HASHING_PRIORITY", " Idle ")]),
            Ok(HashingPriority::Idle)
        );
        assert_eq!(
            config_error("PASSWORD_HASHING_PRIORITY"),
            "PASSWORD_HASHING_PRIORITY"
        );
    }

    #[test]
    fn password_hashing_has_a_thread_per_core_unless_set() {
        let threads = |pairs: &[(&str, &str)]| config(pairs).map(|c| c.hashing_threads);
        assert_eq!(threads(&[]), Ok(None));
        assert_eq!(threads(&[("PASSWORD_HASHING_THREADS", " ")]), Ok(None));
        assert_eq!(threads(&[("PASSWORD_HASHING_THREADS", "1")]), Ok(Some(1)));
        for bad in ["0", "-1", "two", "257"] {
            assert_eq!(
                threads(&[("PASSWORD_HASHING_THREADS", bad)]).map_err(|error| error.variable),
                Err("PASSWORD_HASHING_THREADS"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_send_cooldown_can_be_turned_off() {
        assert_eq!(
            config(&[("SEND_COOLDOWN", "0")]).map(|c| c.send_limits.cooldown),
            Ok(Duration::ZERO)
        );
        assert_eq!(
            config(&[("SEND_COOLDOWN", "2m")]).map(|c| c.send_limits.cooldown),
            Ok(Duration::minutes(2))
        );
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (variable, value) in [
            ("LOCKOUT_THRESHOLD", "0"),
            ("LOCKOUT_THRESHOLD", "three"),
            ("CODE_LENGTH", "3"),
            ("CODE_TTL", "soon"),
            ("CODE_MAX_TRIES", "-1"),
            ("DEFAULT_PHONE_REGION", "Narnia"),
            ("LISTEN_ADDR", "localhost"),
            ("PUBLIC_URL", "ftp://example.com"),
            ("SMS_PROVIDERS", "carrier-pigeon"),
            ("SMS_PROVIDERS", "outbox,outbox"),
            ("SMS_PROVIDERS", " , "),
            ("SMS_VOICE_FALLBACK", "maybe"),
            ("SMS_TEST_NUMBERS", "+1555,not-a-number"),
            ("SESSION_IDLE_TIMEOUT", "0"),
            ("SEND_MAX_PER_HOUR", "0"),
            ("SMS_MAX_PER_HOUR", "lots"),
            ("RATE_LIMIT_LOGIN", "0"),
            ("TRUSTED_PROXY_HEADER", "X Forwarded"),
            ("SMS_ALLOWED_COUNTRIES", "US,Atlantis"),
            ("AUDIT_RETENTION", "forever"),
            ("UNVERIFIED_SIGNUP_RETENTION", "never"),
        ] {
            let error = config(&[(variable, value)]).expect_err(value);
            assert_eq!(error.variable, variable, "{error}");
            assert!(error.to_string().contains(variable));
        }
    }

    #[test]
    fn test_numbers_are_read_as_e164() {
        let parsed = config(&[("SMS_TEST_NUMBERS", "+1 415 555 2671, (415) 555-0100")])
            .expect("valid numbers");
        let numbers: Vec<_> = parsed.sms.test_numbers.iter().map(|n| n.e164()).collect();
        assert_eq!(numbers, ["+14155552671", "+14155550100"]);
    }

    #[test]
    fn https_public_urls_make_cookies_secure() {
        let config = config(&[("PUBLIC_URL", "https://auth.example.com/")]).expect("valid");
        assert!(config.is_https());
        assert_eq!(config.public_host(), "auth.example.com");
        assert_eq!(config.public_url, "https://auth.example.com");
        assert!(config.public_url_is_explicit);
        let behind_a_path = super::Config::from_lookup(|name| {
            (name == "PUBLIC_URL").then(|| "https://example.com:8443/auth".to_owned())
        })
        .expect("valid");
        assert_eq!(behind_a_path.public_origin(), "https://example.com:8443");
    }
}
