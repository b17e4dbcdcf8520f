//! `POST /webhooks/{provider}/status`: the delivery receipts of the providers that report by
//! webhook (`sms::receipts`). Each callback is authenticated as its provider documents before
//! anything is read: a forged one is refused with `403`, a malformed one with `400`, a provider
//! that sends no receipts here with `404`; none changes anything. An accepted one answers `204`,
//! also when it changes nothing (a repeated receipt, an interim status), so the provider stops
//! retrying it.

use super::refusal;
use crate::flows::internal;
use crate::sms::receipts::{
    status_callback_path, Callback, CallbackRefused, DeliveryReports, ReceiveError,
};
use app::error::AppError;
use axum::{
    body::Bytes,
    extract::{Path, Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use std::sync::Arc;

#[derive(Clone)]
struct Receipts {
    reports: DeliveryReports,
    /// `PUBLIC_URL`: providers sign the address they were given, which starts with it.
    public_url: Arc<str>,
}

pub fn routes(reports: DeliveryReports, public_url: &str) -> Router {
    Router::new()
        .route(&status_callback_path("{provider}"), post(receive))
        .with_state(Receipts {
            reports,
            public_url: Arc::from(public_url.trim_end_matches('/')),
        })
}

async fn receive(
    State(receipts): State<Receipts>,
    Path(provider): Path<String>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    // The body limit outside has already refused anything larger.
    let body: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(_) => {
            return refusal::json(AppError::MalformedRequest {
                detail: "the callback's body could not be read".to_owned(),
            })
        }
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |value| value.as_str());
    let url = format!("{}{path_and_query}", receipts.public_url);
    let callback = Callback {
        url: &url,
        headers: &parts.headers,
        body: &body,
    };
    // Errors are JSON with their status: a provider retries a 5xx later.
    match receipts.reports.receive(&provider, &callback).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(ReceiveError::UnknownProvider(_)) => refusal::json(AppError::NotFound),
        Err(ReceiveError::Refused(CallbackRefused::Unauthenticated)) => {
            tracing::warn!(
                provider,
                "a delivery callback failed its provider's authentication"
            );
            refusal::json(AppError::Forbidden)
        }
        Err(ReceiveError::Refused(CallbackRefused::Malformed(detail))) => {
            refusal::json(AppError::MalformedRequest { detail })
        }
        Err(ReceiveError::Storage(error)) => refusal::json(internal(error)),
    }
}
