//! Egress control: where the gateway may connect.
//!
//! Upstream URLs come only from config, but a hostname can still resolve to a private or
//! cloud-metadata address (DNS rebinding, a typo, a hostile DNS record). Every connection is
//! resolved through [`EgressResolver`], which refuses such addresses unless the provider's
//! config says `allow_private_network: true`. Literal IPs in config are checked at load time
//! with the same [`is_private`].

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// True for loopback, private, link-local, unspecified, CGNAT, unique-local, multicast and
/// cloud-metadata addresses — anything that is not the public internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local, incl. fd00:ec2::254 (AWS metadata)
                || (first & 0xffc0) == 0xfe80 // link-local
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0xa9fe, 0xa9fe) // NAT64 metadata
        }
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local() // 169.254.0.0/16, incl. 169.254.169.254
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || a == 0
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240
}

/// The error a refused resolution carries, found again by [`is_egress_denied`].
#[derive(Debug, thiserror::Error)]
#[error("egress to a private network address is not allowed for this provider")]
pub struct EgressDenied;

/// Whether an error (or anything in its source chain) is an [`EgressDenied`].
pub fn is_egress_denied(err: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if e.is::<EgressDenied>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// A DNS resolver that drops private addresses unless allowed.
#[derive(Debug, Clone, Copy)]
pub struct EgressResolver {
    pub allow_private_network: bool,
}

impl Resolve for EgressResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private_network;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| allow || !is_private(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(EgressDenied) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "104.18.6.192"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn resolver_refuses_localhost_unless_allowed() {
        let name: Name = "localhost".parse().unwrap();
        let denied = EgressResolver {
            allow_private_network: false,
        }
        .resolve(name)
        .await;
        let err = denied.err().unwrap();
        assert!(is_egress_denied(err.as_ref()));
        let name: Name = "localhost".parse().unwrap();
        let allowed = EgressResolver {
            allow_private_network: true,
        }
        .resolve(name)
        .await;
        assert!(allowed.unwrap().next().is_some());
    }
}
