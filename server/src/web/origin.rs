//! Cross-site request forgery defence on top of `SameSite` cookies: a state-changing request that
//! says it comes from another origin (by `Origin`, or by `Referer` when there is no `Origin`) is
//! refused with 403. Requests with neither header come from non-browser clients and pass.
//! When the public URL is on loopback, `127.0.0.1`, `localhost` and `[::1]` count as the same host.

use app::error::AppError;
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::Response,
};
use server_fn::error::FromServerFnError;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Reads `scheme://host[:port]` (anything after the authority is ignored).
    fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit('@').next()?;
        let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
            let (host, after) = stripped.split_once(']')?;
            (format!("[{host}]"), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (authority.to_owned(), None),
            }
        };
        let port = match (port, scheme.as_str()) {
            (Some(port), _) => port.parse().ok()?,
            (None, "https") => 443,
            (None, "http") => 80,
            _ => return None,
        };
        (!host.is_empty()).then(|| Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "127.0.0.1" | "localhost" | "[::1]")
    }
}

/// The origin whose pages may post to this server.
#[derive(Debug, Clone)]
pub struct AllowedOrigin(Option<Origin>);

impl AllowedOrigin {
    pub fn new(public_origin: &str) -> Self {
        Self(Origin::parse(public_origin))
    }

    fn allows(&self, claimed: &str) -> bool {
        let (Some(allowed), Some(claimed)) = (&self.0, Origin::parse(claimed)) else {
            return false;
        };
        if *allowed == claimed {
            return true;
        }
        allowed.is_loopback()
            && claimed.is_loopback()
            && allowed.scheme == claimed.scheme
            && allowed.port == claimed.port
    }
}

pub async fn check(State(allowed): State<AllowedOrigin>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    match claimed {
        Some(claimed) if !allowed.allows(&claimed) => {
            tracing::warn!(origin = %claimed, path = %request.uri().path(), "cross-origin request refused");
            let mut response = Response::new(Body::from(AppError::CrossOrigin.ser()));
            *response.status_mut() = StatusCode::FORBIDDEN;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_origin_and_its_pages_are_allowed() {
        let allowed = AllowedOrigin::new("https://auth.example.com");
        assert!(allowed.allows("https://auth.example.com"));
        assert!(allowed.allows("https://auth.example.com:443"));
        assert!(allowed.allows("https://AUTH.example.com/login?x=1"));
    }

    #[test]
    fn other_origins_are_refused() {
        let allowed = AllowedOrigin::new("https://auth.example.com");
        for claimed in [
            "https://evil.example.com",
            "http://auth.example.com",
            "https://auth.example.com:8443",
            "https://auth.example.com.evil.net",
            "null",
            "",
        ] {
            assert!(!allowed.allows(claimed), "{claimed}");
        }
    }

    #[test]
    fn loopback_names_are_one_host_but_the_port_must_match() {
        let allowed = AllowedOrigin::new("http://127.0.0.1:3000");
        assert!(allowed.allows("http://localhost:3000"));
        assert!(allowed.allows("http://[::1]:3000/signup"));
        assert!(!allowed.allows("http://localhost:3001"));
        assert!(!AllowedOrigin::new("https://auth.example.com").allows("https://localhost"));
    }
}
