//! `/healthz` (the process answers) and `/readyz` (the database answers and is migrated).

use crate::store::Store;
use axum::{extract::State, http::StatusCode, routing::get, Router};

pub fn routes(store: Store) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(store)
}

async fn ready(State(store): State<Store>) -> (StatusCode, &'static str) {
    if store.is_ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database not ready")
    }
}
