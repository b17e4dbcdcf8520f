//! `/healthz` (the process answers) and `/readyz` (the database answers, is migrated, and
//! accepts writes), for load balancers and orchestrators.
//!
//! `/readyz` answers within `READY_WITHIN` whatever the database does: a database that does not
//! answer is not ready. The write check runs at most once per `WRITE_CHECK_EVERY`; probes in
//! between reuse its result.

use crate::store::Store;
use axum::{extract::State, http::StatusCode, routing::get, Router};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The longest `/readyz` takes to answer.
const READY_WITHIN: Duration = Duration::from_secs(1);

/// How long the outcome of a write check stands.
const WRITE_CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
struct Readiness {
    store: Store,
    /// When writes were last checked, and whether they committed.
    last_write_check: Arc<Mutex<Option<(Instant, bool)>>>,
}

pub fn routes(store: Store) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(Readiness {
            store,
            last_write_check: Arc::new(Mutex::new(None)),
        })
}

async fn ready(State(readiness): State<Readiness>) -> (StatusCode, &'static str) {
    let verdict = tokio::time::timeout(READY_WITHIN, async {
        if !readiness.store.is_ready().await {
            return Err("database not ready");
        }
        if !readiness.accepts_writes().await {
            return Err("database refuses writes");
        }
        Ok(())
    })
    .await;
    match verdict {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(reason)) => (StatusCode::SERVICE_UNAVAILABLE, reason),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database not answering"),
    }
}

impl Readiness {
    async fn accepts_writes(&self) -> bool {
        // Held across the check, so that concurrent probes share one write.
        let mut last = self.last_write_check.lock().await;
        if let Some((at, accepted)) = *last {
            if at.elapsed() < WRITE_CHECK_EVERY {
                return accepted;
            }
        }
        let accepted = self.store.accepts_writes().await;
        *last = Some((Instant::now(), accepted));
        accepted
    }
}
