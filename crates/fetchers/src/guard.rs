//! The address guard: ctxd fetches user-supplied URLs from inside someone's network,
//! so by default it refuses to connect to loopback, private, link-local, CGNAT,
//! multicast, unspecified and broadcast addresses, in every IPv4 and IPv6 spelling.
//!
//! The check happens after DNS resolution, inside reqwest's resolver, so the client
//! connects only to addresses that were checked: a name that answers differently on a
//! second lookup (DNS rebinding) gains nothing. IP-literal URLs skip the resolver, so
//! they are checked before each request and at every redirect hop.

use std::{
    error::Error as StdError,
    fmt,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Which addresses are refused is the domain's rule (postback URLs are checked
/// against it when they are set); this module enforces it on every connection.
pub use ctxd_domain::model::address::blocked_reason;

/// A refused address; reqwest carries it in its error's source chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedAddress {
    pub address: IpAddr,
    pub reason: &'static str,
}

impl fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blocked address {} ({})", self.address, self.reason)
    }
}

impl StdError for BlockedAddress {}

/// Checks a URL whose host is an IP literal (names are checked by the resolver).
pub fn check_literal(url: &Url) -> Result<(), BlockedAddress> {
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match blocked_reason(ip) {
        Some(reason) => Err(BlockedAddress { address: ip, reason }),
        None => Ok(()),
    }
}

/// Looks names up; the system resolver in production, a stub in tests.
pub trait Lookup: Send + Sync {
    fn lookup(&self, host: String) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;
}

/// The operating system's resolver, through tokio.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    }
}

/// A reqwest resolver that returns only addresses the guard allows.
#[derive(Clone)]
pub struct GuardedResolver {
    lookup: Arc<dyn Lookup>,
}

impl fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GuardedResolver")
    }
}

impl GuardedResolver {
    pub fn new(lookup: Arc<dyn Lookup>) -> Self {
        Self { lookup }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = lookup.lookup(host).await?;
            let mut first_blocked = None;
            let allowed: Vec<SocketAddr> = addresses
                .into_iter()
                .filter(|address| match blocked_reason(address.ip()) {
                    Some(reason) => {
                        first_blocked.get_or_insert(BlockedAddress { address: address.ip(), reason });
                        false
                    }
                    None => true,
                })
                .collect();
            match (allowed.is_empty(), first_blocked) {
                (true, Some(blocked)) => Err(Box::new(blocked) as Box<dyn StdError + Send + Sync>),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// Finds a [`BlockedAddress`] in an error's source chain.
pub fn find_blocked<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a BlockedAddress> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(blocked) = error.downcast_ref::<BlockedAddress>() {
            return Some(blocked);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(text: &str) -> Option<&'static str> {
        blocked_reason(text.parse().unwrap())
    }

    #[test]
    fn every_private_range_is_refused_in_every_spelling() {
        for (address, reason) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.0.0.5", "private network"),
            ("172.16.3.4", "private network"),
            ("192.168.1.1", "private network"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.255", "carrier-grade NAT"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00::1", "private network"),
            ("fc00::1", "private network"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.1.2.3", "private network"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::127.0.0.1", "loopback"),
            ("::10.0.0.1", "private network"),
            ("64:ff9b::a00:1", "private network"),
        ] {
            assert_eq!(blocked(address), Some(reason), "{address}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(blocked(address), None, "{address}");
        }
    }

    #[test]
    fn literal_urls_are_checked_and_names_left_to_the_resolver() {
        let error = check_literal(&Url::parse("http://[::ffff:127.0.0.1]:8080/x").unwrap()).unwrap_err();
        assert_eq!(error.to_string(), "blocked address ::ffff:127.0.0.1 (loopback)");
        assert!(check_literal(&Url::parse("http://10.0.0.5/").unwrap()).is_err());
        assert!(check_literal(&Url::parse("http://example.com/").unwrap()).is_ok());
    }

    /// Answers a public address first and loopback second, like a rebinding attacker.
    struct Rebinding;

    impl Lookup for Rebinding {
        fn lookup(
            &self,
            _: String,
        ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
            Box::pin(async { Ok(vec!["93.184.216.34:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap()]) })
        }
    }

    #[tokio::test]
    async fn the_resolver_hands_out_only_checked_addresses() {
        let resolver = GuardedResolver::new(Arc::new(Rebinding));
        let addresses: Vec<_> = resolver.resolve("rebind.test".parse().unwrap()).await.unwrap().collect();
        assert_eq!(
            addresses,
            ["93.184.216.34:0".parse::<SocketAddr>().unwrap()],
            "loopback never reaches the connector"
        );

        let local = GuardedResolver::new(Arc::new(SystemLookup));
        let error = local.resolve("localhost".parse().unwrap()).await.err().expect("localhost is blocked");
        let blocked = find_blocked(error.as_ref()).expect("a BlockedAddress in the chain");
        assert_eq!(blocked.reason, "loopback");
    }
}
