//! Compression of the pages anyone may see. The HTML answered to a request that carries no
//! session cookie goes out brotli- or gzip-compressed when the browser accepts either; on a slow
//! link the sign-in page arrives in a third of the bytes.
//!
//! Pages of a signed-in session are sent as they are. They show account data next to text taken
//! from the address (the admin search repeats its query), and the length of a compressed answer
//! would tell someone who watches the traffic and can make the browser open addresses of their
//! choosing how much of that text matches the data (the BREACH attack). API answers are JSON for
//! one session and stay uncompressed for the same reason. Static files are served precompressed
//! (`assets`) and pass through untouched.

use app::ssr::CookieNames;
use axum::{
    body::HttpBody,
    extract::{Request, State},
    http::{header, Response as HttpResponse},
    middleware::Next,
    response::Response,
};
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;

/// Marks an answer to a request without a session: the only answers compression may touch.
#[derive(Clone, Copy)]
struct Anonymous;

/// Marks the answers to requests that carry no session cookie. Runs inside [`layer`].
pub async fn mark_anonymous(
    State(cookies): State<CookieNames>,
    request: Request,
    next: Next,
) -> Response {
    let anonymous = cookies.session_token(request.headers()).is_none();
    let mut response = next.run(request).await;
    if anonymous {
        response.extensions_mut().insert(Anonymous);
    }
    response
}

/// Compresses HTML answered to a request without a session, and nothing else.
#[derive(Clone, Copy)]
struct AnonymousPages;

impl Predicate for AnonymousPages {
    fn should_compress<B>(&self, response: &HttpResponse<B>) -> bool
    where
        B: HttpBody,
    {
        response.extensions().get::<Anonymous>().is_some()
            && response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("text/html"))
    }
}

/// The compression layer: brotli or gzip, as the request's `Accept-Encoding` prefers, for
/// anonymous pages of more than a few hundred bytes.
pub fn layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(AnonymousPages.and(SizeAbove::new(256)))
}
