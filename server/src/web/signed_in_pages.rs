//! The pages that need a signed-in session (`/account`, `/account/phone`, `/admin`,
//! `/admin/account`): before such a page is rendered, this middleware checks the session and
//! loads the page's data through the `AccountService`, into the request's extensions as a
//! `PageData`. The page then renders in one pass, with nothing to wait for. Without a session the
//! answer is a 302 to `/login`; the admin pages answer a signed-in account without the admin role
//! with 403, and an account that does not exist with 404 (the page says why).

use app::error::AppError;
use app::ssr::{AccountService, CookieNames, RequestContext};
use app::types::{paths, AdminAccess, PageData};
use axum::{
    extract::{Query, Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::collections::HashMap;
use std::sync::Arc;

pub async fn load(
    State((service, cookies)): State<(Arc<dyn AccountService>, CookieNames)>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if request.method() != Method::GET
        || !matches!(
            path,
            paths::ACCOUNT | paths::CHANGE_PHONE | paths::ADMIN | paths::ADMIN_ACCOUNT
        )
    {
        return next.run(request).await;
    }
    let ctx = RequestContext {
        session_token: cookies.session_token(request.headers()),
        device_token: cookies.device_token(request.headers()),
        ..Default::default()
    };
    let query: HashMap<String, String> = Query::try_from_uri(request.uri())
        .map(|Query(query)| query)
        .unwrap_or_default();
    // Each page's own service call checks the session (and, for the admin pages, the role); its
    // error decides the answer, so no page reads the session twice.
    let (data, error) = match path {
        // `/account/phone` shows nothing of the account, but its header shows the session.
        paths::ACCOUNT | paths::CHANGE_PHONE => {
            let account = service.current_account(&ctx).await;
            let error = account.as_ref().err().cloned();
            (Some(PageData::Account(account)), error)
        }
        paths::ADMIN => {
            let access = service.admin_gate(&ctx).await;
            let search = query.get("q").map(|q| q.trim()).filter(|q| !q.is_empty());
            let results = match (&access, search) {
                (Ok(AdminAccess::Open { .. }), Some(q)) => {
                    Some(service.admin_search(&ctx, q).await)
                }
                _ => None,
            };
            let error = access.as_ref().err().cloned();
            (Some(PageData::Admin { access, results }), error)
        }
        paths::ADMIN_ACCOUNT => {
            let account = match query.get("id").and_then(|id| id.trim().parse::<i64>().ok()) {
                Some(id) => service.admin_account(&ctx, id).await,
                // No such account; but a visitor without a session or the role learns that first.
                None => service.admin_gate(&ctx).await.and(Err(AppError::NotFound)),
            };
            let error = account.as_ref().err().cloned();
            (Some(PageData::AdminAccount(account)), error)
        }
        _ => (None, None),
    };
    let status = match error {
        Some(AppError::NotSignedIn) => {
            return (
                StatusCode::FOUND,
                [(header::LOCATION, HeaderValue::from_static(paths::LOGIN))],
            )
                .into_response()
        }
        Some(AppError::Forbidden) => Some(StatusCode::FORBIDDEN),
        Some(AppError::NotFound) => Some(StatusCode::NOT_FOUND),
        Some(AppError::StorageUnavailable { .. }) => Some(StatusCode::SERVICE_UNAVAILABLE),
        _ => None,
    };
    let retry_after = error.as_ref().and_then(AppError::retry_after_secs);
    if let Some(data) = data {
        request.extensions_mut().insert(data);
    }
    let mut response = next.run(request).await;
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    if let (Some(StatusCode::SERVICE_UNAVAILABLE), Some(seconds)) = (status, retry_after) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
