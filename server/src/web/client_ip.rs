//! Which client a request comes from: the connection's address, or, behind a trusted reverse
//! proxy, the address that proxy put in the configured header (the right-most valid entry, the one
//! the proxy itself appended). An IPv4-mapped IPv6 address is read as the IPv4 address it maps.
//! Per-client limits count an IPv6 client by its network (a /64 by default: one subscriber's
//! allocation), since one subscriber can use any of its 2^64 addresses. The result goes into the
//! request as `ClientIp`.

use app::ssr::ClientIp;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderName},
    middleware::Next,
    response::Response,
};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// How the client is found and grouped.
#[derive(Debug, Clone)]
pub struct ClientIpSettings {
    /// The header a trusted reverse proxy puts the client IP in, if any.
    pub trusted_header: Option<HeaderName>,
    /// The leading bits of an IPv6 address that name its client's network.
    pub ipv6_prefix: u8,
}

pub async fn resolve(
    State(settings): State<ClientIpSettings>,
    mut request: Request,
    next: Next,
) -> Response {
    let from_header = settings
        .trusted_header
        .as_ref()
        .and_then(|name| from_proxy_header(request.headers(), name));
    let from_connection = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    if let Some(ip) = from_header.or(from_connection) {
        let address = ip.to_canonical();
        let network = network_of(address, settings.ipv6_prefix);
        request
            .extensions_mut()
            .insert(ClientIp { address, network });
    }
    next.run(request).await
}

/// The network an address is counted in: an IPv4 address is its own; an IPv6 address is cut to
/// its first `ipv6_prefix` bits.
pub fn network_of(address: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let bits = u32::from(ipv6_prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
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

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an IP address")
    }

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

    #[test]
    fn ipv6_addresses_of_one_network_share_it() {
        assert_eq!(
            network_of(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 64),
            ip("2001:db8:1:2::")
        );
        assert_eq!(network_of(ip("2001:db8:1:2::1"), 64), ip("2001:db8:1:2::"));
        assert_ne!(network_of(ip("2001:db8:1:3::1"), 64), ip("2001:db8:1:2::"));
        assert_eq!(network_of(ip("2001:db8:1:2::1"), 48), ip("2001:db8:1::"));
        assert_eq!(network_of(ip("2001:db8::1"), 128), ip("2001:db8::1"));
    }

    #[test]
    fn ipv4_and_ipv4_mapped_addresses_count_as_themselves() {
        assert_eq!(network_of(ip("203.0.113.9"), 64), ip("203.0.113.9"));
        assert_eq!(network_of(ip("::ffff:203.0.113.9"), 64), ip("203.0.113.9"));
    }
}
