//! Middleware on every response: request spans, security headers, the HTTP status of server
//! function errors (which leave server_fn as 500; the status, and any `Retry-After`, belong to
//! the `AppError` inside), and where a request that writes is served.

use crate::writer_thread::{WriterThread, WriterThreadStopped};
use app::error::AppError;
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

/// The header server_fn puts on its error responses.
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";

/// Serves a request whose method may change state (POST and the like) on the SQLite writer
/// thread, next to the connection that writes (see `writer_thread`); safe methods (GET, HEAD,
/// OPTIONS, TRACE), and every request when there is no writer thread, are served where they
/// arrived.
pub async fn writes_on_writer_thread(
    State(writer_thread): State<WriterThread>,
    request: Request,
    next: Next,
) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    match writer_thread.run(next.run(request).in_current_span()).await {
        Ok(response) => response,
        Err(WriterThreadStopped) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("5"))],
            "The server is shutting down; try again in a moment.",
        )
            .into_response(),
    }
}

/// Gives a server function's error response the status its `AppError` calls for (400, 401, …).
pub async fn server_fn_error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // server_fn builds its error bodies in memory, so reading one whole costs nothing more,
    // whatever its size.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.status_code()) {
            parts.status = status;
        }
        if let Some(seconds) = error.retry_after_secs() {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Content types a browser only ever runs or applies for a page, never shows as a page itself.
const SUBRESOURCE_TYPES: [&str; 4] = [
    "text/javascript",
    "application/javascript",
    "text/css",
    "application/wasm",
];

/// Headers that cost nothing and close common holes, and `Cache-Control: no-store` on pages and
/// the API. Pages set their own Content-Security-Policy
/// (it carries the per-response script nonce); anything else gets a strict default.
///
/// Scripts, stylesheets and wasm get `nosniff` and HSTS but not the three headers that govern a
/// document (Content-Security-Policy, X-Frame-Options, Referrer-Policy): a browser never makes
/// one of them a document, and the bytes would be on every first load. The stylesheet starts no
/// fetches of its own (no `url()`), so no referrer policy of its own matters either.
pub async fn security_headers(State(https): State<bool>, request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Pages are rendered for one request (their script nonce, the session's data, what a failed
    // form kept) and the API answers for one session: no cache keeps them, so that Back after
    // signing out cannot show a signed-in page again.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let html = content_type.starts_with("text/html");
    let subresource = SUBRESOURCE_TYPES
        .iter()
        .any(|subresource| content_type.starts_with(subresource));
    if (api || html) && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if subresource {
        return response;
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        );
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Same-origin requests keep the full Referer: plain form posts are redirected back with it.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// One span per request, carrying a request id, so every log line of a request can be found.
pub fn request_span(request: &Request<Body>) -> tracing::Span {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    tracing::info_span!("request", id, method = %request.method(), path = %request.uri().path())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer_thread::{allowed_cpus, WriterCpu};
    use axum::routing::any;
    use axum::Router;
    use tower::ServiceExt;

    /// The name of the thread that served each method, through `writes_on_writer_thread`.
    async fn served_by(writer_thread: WriterThread, method: &str) -> anyhow::Result<String> {
        let router = Router::new()
            .route(
                "/",
                any(|| async { std::thread::current().name().unwrap_or("").to_owned() }),
            )
            .layer(axum::middleware::from_fn_with_state(
                writer_thread,
                writes_on_writer_thread,
            ));
        let request = Request::builder()
            .method(method)
            .uri("/")
            .body(Body::empty())?;
        let response = router.oneshot(request).await?;
        let body = axum::body::to_bytes(response.into_body(), 1024).await?;
        Ok(String::from_utf8(body.to_vec())?)
    }

    #[tokio::test]
    async fn requests_that_may_write_are_served_on_the_writer_thread() -> anyhow::Result<()> {
        let allowed = allowed_cpus()?;
        let cpu = allowed.last().copied().unwrap_or(0);
        let writer_thread = WriterThread::start(WriterCpu::Cpu(cpu))?;
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            assert_eq!(
                served_by(writer_thread.clone(), method).await?,
                "sqlite-writer",
                "{method}"
            );
        }
        for method in ["GET", "OPTIONS"] {
            assert_ne!(
                served_by(writer_thread.clone(), method).await?,
                "sqlite-writer",
                "{method}"
            );
        }
        let here = std::thread::current().name().unwrap_or("").to_owned();
        assert_eq!(served_by(WriterThread::none(), "POST").await?, here);
        Ok(())
    }
}
