//! The code pages' delivery line for browsers without JavaScript. With JavaScript the page's
//! code-status island asks `GET /api/code-delivery` and says where the code is; without it, that
//! island renders nothing. So before a code page renders (`/verify-phone`, `/sign-in-code`,
//! `/unlock`, `/reset-password`), this middleware loads the latest code's delivery through the
//! `AccountService`, as the island would, into the request's extensions as a `PageData`; the page
//! shows a failure (such as "This number can't receive text messages") in a `<noscript>`.

use app::flash::Recovery;
use app::ssr::{AccountService, ClientIp, CookieNames, RequestContext};
use app::types::{paths, CodeScope, PageData};
use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::Response,
};
use std::sync::Arc;

pub async fn load(
    State((service, cookies)): State<(Arc<dyn AccountService>, CookieNames)>,
    mut request: Request,
    next: Next,
) -> Response {
    let scope = match request.uri().path() {
        paths::VERIFY_PHONE => CodeScope::PhoneVerification,
        paths::SIGN_IN_CODE => CodeScope::SignIn,
        paths::UNLOCK => CodeScope::Unlock,
        paths::RESET_PASSWORD => CodeScope::PasswordReset,
        _ => return next.run(request).await,
    };
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    // The unlock and reset pages are about the account their recovery state names; without one
    // they show the form to start again, with nothing to report.
    let email = match scope {
        CodeScope::Unlock | CodeScope::PasswordReset => {
            match request.extensions().get::<Recovery>() {
                Some(recovery) => Some(recovery.email.clone()),
                None => return next.run(request).await,
            }
        }
        _ => None,
    };
    let client = request.extensions().get::<ClientIp>().copied();
    let ctx = RequestContext {
        client_ip: client.map(|client| client.address),
        client_network: client.map(|client| client.network),
        session_token: cookies.session_token(request.headers()),
        pending_token: cookies.pending_token(request.headers()),
        device_token: cookies.device_token(request.headers()),
        ..Default::default()
    };
    // Nothing to show (no pending sign-in, the database unavailable): the page renders as ever.
    if let Ok(delivery) = service.code_delivery(&ctx, email.as_deref(), scope).await {
        request
            .extensions_mut()
            .insert(PageData::CodeDelivery(delivery));
    }
    next.run(request).await
}
