//! How middleware refuses a request before any server function sees it, in the shape a server
//! function's own error has: a plain form post goes back to its page with the error (which
//! `page_state` turns into a signed flash cookie); everything else gets the error's status, and its
//! `Retry-After`, with the error as JSON.

use app::error::AppError;
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use server_fn::error::{FromServerFnError, ServerFnUrlError};

pub fn refuse(request: &Request, error: AppError) -> Response {
    let accepts_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("text/html"));
    let referer = request
        .headers()
        .get(header::REFERER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    if let (true, Some(mut referer)) = (accepts_html, referer) {
        ServerFnUrlError::<AppError>::strip_error_info(&mut referer);
        if let Ok(url) = ServerFnUrlError::new(request.uri().path(), error.clone()).to_url(&referer)
        {
            if let Ok(location) = HeaderValue::from_str(url.as_str()) {
                return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
            }
        }
    }
    json(error)
}

/// The error as JSON, with its status and `Retry-After`.
pub fn json(error: AppError) -> Response {
    let mut response = Response::new(Body::from(error.ser()));
    *response.status_mut() =
        StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(seconds) = error.retry_after_secs() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
