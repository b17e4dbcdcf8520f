//! Which client a request comes from: the connection's address, or, behind a trusted reverse
//! proxy, the address that proxy put in the configured header (the right-most valid entry, the one
//! the proxy itself appended). The result goes into the request as `ClientIp`.

use app::ssr::ClientIp;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderName},
    middleware::Next,
    response::Response,
};
use std::net::{IpAddr, SocketAddr};

pub async fn resolve(
    State(trusted_header): State<Option<HeaderName>>,
    mut request: Request,
    next: Next,
) -> Response {
    let from_header = trusted_header
        .as_ref()
        .and_then(|name| from_proxy_header(request.headers(), name));
    let from_connection = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    if let Some(ip) = from_header.or(from_connection) {
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

fn from_proxy_header(headers: &HeaderMap, name: &HeaderName) -> Option<IpAddr> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_right_most_address_of_the_trusted_header_is_the_client() {
        let name = HeaderName::from_static("x-forwarded-for");
        let mut headers = HeaderMap::new();
        headers.insert(&name, HeaderValue::from_static("203.0.113.9, 198.51.100.7"));
        assert_eq!(
            from_proxy_header(&headers, &name),
            "198.51.100.7".parse::<IpAddr>().ok()
        );
    }

    #[test]
    fn garbage_in_the_header_is_ignored() {
        let name = HeaderName::from_static("x-real-ip");
        let mut headers = HeaderMap::new();
        headers.insert(&name, HeaderValue::from_static("not-an-ip"));
        assert_eq!(from_proxy_header(&headers, &name), None);
    }
}
