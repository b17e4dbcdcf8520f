//! The HTTP/1.1 server: accepting connections and serving the router on them, so that neither a
//! flood of connections nor a shutdown takes requests down with it.
//!
//! - A client must send a whole request head within `HTTP_HEADER_READ_TIMEOUT` of connecting, or
//!   of the answer to its previous request on a kept-alive connection: slow or silent connections
//!   are closed instead of holding a file descriptor for ever.
//! - At most `HTTP_MAX_CONNECTIONS` are open at once, below the open-file limit (raised to its
//!   hard limit at startup, `raise_open_file_limit`), so the database, logs and providers always
//!   have descriptors left. A connection beyond the cap is answered `503` and closed.
//! - On shutdown the listener closes first; requests in flight finish, idle connections close,
//!   and whatever is still open after `SHUTDOWN_GRACE_PERIOD` is cut.

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::Service;

/// Descriptors kept back from the connection cap for everything else the process opens.
pub const RESERVED_FILE_DESCRIPTORS: u64 = 256;

/// What the server allows each connection, and all of them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `HTTP_HEADER_READ_TIMEOUT`.
    pub header_read_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// `SHUTDOWN_GRACE_PERIOD`.
    pub shutdown_grace: Duration,
}

/// The answer to a connection beyond the cap: complete, so a client or proxy reads a refusal and
/// not a reset.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Retry-After: 1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 44\r\n\
Connection: close\r\n\
\r\n\
Too many open connections. Try again soon.\r\n";

/// Raises this process's soft limit of open files to its hard limit; returns the limit now in
/// force.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _hard)| soft)
                .unwrap_or(1024)
        }
    }
}

/// The default connection cap under an open-file limit of `open_files`.
pub fn default_max_connections(open_files: u64) -> usize {
    usize::try_from(open_files.saturating_sub(RESERVED_FILE_DESCRIPTORS).max(16))
        .unwrap_or(usize::MAX)
}

/// Serves `router` on `listener` until `shutdown` completes, then drains (see the module
/// comment). Returns once every connection has finished or been cut, with the end of the grace
/// period, which whatever else the shutdown waits for shares.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::time::Instant {
    let mut make_service: IntoMakeServiceWithConnectInfo<Router, SocketAddr> =
        router.into_make_service_with_connect_info::<SocketAddr>();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut refused: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors (EMFILE, ENFILE) or a connection reset before it was
                    // accepted: wait a moment rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            refuse(stream, &refusals);
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    refused,
                    limit = limits.max_connections,
                    "connections refused: HTTP_MAX_CONNECTIONS are open"
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make_service.call(remote).await;
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let grace_ends = tokio::time::Instant::now() + limits.shutdown_grace;
    let open = connections.len();
    if tokio::time::timeout_at(grace_ends, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open,
            grace_secs = limits.shutdown_grace.as_secs(),
            "connections still open after SHUTDOWN_GRACE_PERIOD are closed"
        );
    }
    connections.shutdown().await;
    grace_ends
}

/// How many refused connections are answered at once; beyond that, refusals are not waited on.
const REFUSALS_AT_ONCE: usize = 64;

/// Answers a connection beyond the cap with `TOO_MANY_CONNECTIONS` and closes it. The request the
/// client may already have sent is read and dropped for up to a second, so that closing does not
/// reset the connection before the client has read the refusal; when `REFUSALS_AT_ONCE` are
/// already being answered, the descriptor is closed at once instead.
fn refuse(stream: TcpStream, refusals: &Arc<Semaphore>) {
    let _ = stream.try_write(TOO_MANY_CONNECTIONS);
    let Ok(permit) = Arc::clone(refusals).try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = stream;
        let linger = async {
            stream.shutdown().await?;
            let mut discard = [0_u8; 1024];
            while stream.read(&mut discard).await? > 0 {}
            std::io::Result::Ok(())
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), linger).await;
        drop(permit);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_complete_response() {
        let text = std::str::from_utf8(TOO_MANY_CONNECTIONS).expect("ASCII");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .and_then(|value| value.parse().ok())
            .expect("a length");
        assert_eq!(body.len(), length);
        assert!(head.starts_with("HTTP/1.1 503 "));
    }

    #[test]
    fn the_cap_leaves_descriptors_for_everything_else() {
        assert_eq!(default_max_connections(1024), 768);
        assert_eq!(default_max_connections(100), 16);
        assert_eq!(default_max_connections(1 << 20), (1 << 20) - 256);
    }
}
