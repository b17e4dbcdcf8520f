//! The release server as a child process on 127.0.0.1, killed when dropped (also on error or
//! panic), with its peak resident memory read from /proc.

use crate::options::Options;
use crate::seed::SERVER_SECRET_HEX;
use anyhow::Context;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct ServerProcess {
    child: Child,
    base_url: String,
}

impl ServerProcess {
    /// The server with the benchmark's settings on the SQLite file in `data`, and `settings` on
    /// top.
    pub fn start_with(
        options: &Options,
        data: &Path,
        settings: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::start_on(options, data, &crate::seed::sqlite_url(data), settings)
    }

    /// A server on `database_url` (with PostgreSQL, one of several instances: `settings` names
    /// its `INSTANCE_ID`).
    pub fn start_on(
        options: &Options,
        data: &Path,
        database_url: &str,
        settings: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let server = std::fs::canonicalize(&options.server).with_context(|| {
            format!(
                "no server binary at {}; build it with `cargo leptos build --release`",
                options.server.display()
            )
        })?;
        let site = std::fs::canonicalize(&options.site)
            .with_context(|| format!("no site at {}", options.site.display()))?;
        // `cargo leptos build` with hashed file names leaves their list next to the binary.
        let hashed = server.with_file_name("hash.txt").exists();
        let mut child = Command::new(server)
            .current_dir(data)
            .env("LEPTOS_SITE_ROOT", site)
            .env("LEPTOS_ENV", "PROD")
            .env("LEPTOS_HASH_FILES", hashed.to_string())
            .env("RUST_LOG", "warn,server::startup=info")
            .env("DATABASE_URL", database_url)
            .env("SERVER_SECRET", SERVER_SECRET_HEX)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("SMS_PROVIDERS", "outbox")
            // Code checks name their client in `X-Forwarded-For` (`load::verifications`).
            .env("TRUSTED_PROXY_HEADER", "X-Forwarded-For")
            // One load generator on one address: the per-client limits would measure themselves.
            .env("RATE_LIMIT_LOGIN", "1000000")
            .env("RATE_LIMIT_CODE", "1000000")
            .env("RATE_LIMIT_SIGNUP", "1000000")
            .env("SEND_COOLDOWN", "0")
            .env("SEND_MAX_PER_HOUR", "1000")
            .env("SEND_MAX_PER_HOUR_ALL_CLIENTS", "10000")
            .env("SEND_MAX_PER_IP_PER_HOUR", "100000")
            .env("SMS_MAX_PER_HOUR", "10000000")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("could not start the server")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    if let Some(found) = found.take() {
                        let _ = found.send(line[at + "listening on ".len()..].trim().to_owned());
                    }
                } else if line.contains("ERROR") {
                    eprintln!("server: {line}");
                }
            }
        });
        let mut process = Self {
            child,
            base_url: String::new(),
        };
        process.base_url = address
            .recv_timeout(Duration::from_secs(60))
            .context("the server did not report its address within a minute")?;
        Ok(process)
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `VmHWM`: the most resident memory the process has had, in KiB.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        status_field(&self.child.id().to_string(), "VmHWM")?
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }
}

/// A field of `/proc/<process>/status` (`process` is a pid, or `self`), trimmed; `None` when the
/// process or the field is not there.
pub fn status_field(process: &str, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        Some(value.trim().to_owned())
    })
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
