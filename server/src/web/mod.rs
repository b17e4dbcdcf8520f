//! The HTTP surface: Leptos pages and server functions, the development outbox, health checks,
//! the providers' delivery receipts, and the middleware every response passes through.

mod assets;
pub mod client_ip;
mod code_pages;
mod compression;
mod delivery_receipts;
mod dev_outbox;
mod form_encoding;
mod health;
mod middleware;
pub mod origin;
pub mod page_state;
pub mod rate_limit;
mod refusal;
mod signed_in_pages;

use crate::sms::receipts::DeliveryReports;
use crate::store::Store;
use crate::writer_thread::WriterThread;
use app::ssr::{AccountService, CookieNames};
use app::types::Capabilities;
use app::{shell, App};
use axum::Router;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// Request bodies larger than this are refused with 413 before any handler reads them. Large
/// enough that a form with a 1 MB field still reaches validation and gets a field error.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub struct WebState {
    pub leptos_options: LeptosOptions,
    pub service: Arc<dyn AccountService>,
    pub store: Store,
    /// Serve /dev/outbox (when the outbox is a provider, or test numbers are set).
    pub dev_outbox: bool,
    pub rate_limiter: Arc<rate_limit::RateLimiter>,
    /// How the client IP is found, and how IPv6 clients are grouped.
    pub client_ip: client_ip::ClientIpSettings,
    /// The origin whose pages may send state-changing requests.
    pub allowed_origin: origin::AllowedOrigin,
    /// Served over HTTPS (adds Strict-Transport-Security).
    pub https: bool,
    /// What the pages may offer (calls, for one).
    pub capabilities: Capabilities,
    /// Where requests that write are served (see `writer_thread`).
    pub writer_thread: WriterThread,
    /// Signs the state one page hands the next (see `page_state`).
    pub page_state: Arc<page_state::PageStateKeys>,
    /// The providers' delivery receipts, and `PUBLIC_URL`, which the providers sign.
    pub delivery_reports: DeliveryReports,
    pub public_url: String,
}

pub fn router(state: WebState) -> Router {
    let routes = generate_route_list(App);
    let service = Arc::clone(&state.service);
    let capabilities = state.capabilities;
    let cookies = CookieNames { https: state.https };
    let provide_service = move || {
        provide_context(Arc::clone(&service));
        provide_context(capabilities);
        provide_context(cookies);
    };
    let leptos_options = state.leptos_options.clone();
    let pages = Router::new()
        .leptos_routes_with_context(&leptos_options, routes, provide_service, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options);

    let mut router = pages
        .merge(assets::routes(&state.leptos_options))
        .merge(health::routes(state.store.clone()))
        .merge(delivery_receipts::routes(
            state.delivery_reports,
            &state.public_url,
        ));
    if state.dev_outbox {
        router = router.merge(dev_outbox::routes(
            state.store.clone(),
            assets::stylesheet_href(&state.leptos_options),
        ));
    }
    // Layers run outside-in from the last one added: the client IP is resolved before the rate
    // limit reads it, and error statuses are fixed before anything else sees the response. A
    // request that writes moves to the writer thread last, after every check.
    router
        .layer(axum::middleware::from_fn_with_state(
            state.writer_thread,
            middleware::writes_on_writer_thread,
        ))
        .layer(axum::middleware::from_fn(
            middleware::server_fn_error_status,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (Arc::clone(&state.service), cookies),
            signed_in_pages::load,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (Arc::clone(&state.service), cookies),
            code_pages::load,
        ))
        .layer(axum::middleware::from_fn(form_encoding::require_utf8))
        .layer(axum::middleware::from_fn_with_state(
            state.rate_limiter,
            rate_limit::enforce,
        ))
        // Outside the rate limiter, so that its refusal of a plain form post comes back to the
        // page like any other error.
        .layer(axum::middleware::from_fn_with_state(
            state.page_state,
            page_state::carry,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.client_ip,
            client_ip::resolve,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.allowed_origin,
            origin::check,
        ))
        // Inside the security headers, so that a 413 carries them too.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.https,
            middleware::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            cookies,
            compression::mark_anonymous,
        ))
        .layer(compression::layer())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(middleware::request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                // Every response is logged above with its status; a failure's cause is logged
                // where it happens (a 503 under a sign-in flood is no error of the server's, and
                // one line each would flood the log).
                .on_failure(()),
        )
}
