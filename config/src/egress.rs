//! Upstream base URLs: shape rules and the literal-address part of the egress policy.
//!
//! A base URL is `http(s)://host[:port]/path` with no credentials, query or fragment (the
//! credential belongs in `api_key`, where it is a secret reference). When the host is a
//! literal IP address that the engine's egress policy ([`is_private`]) refuses — private,
//! loopback, link-local, unspecified, carrier-grade NAT, a cloud metadata endpoint — the
//! provider must opt in with `allow_private_network: true`, so the mistake shows at load time
//! rather than as a refused connection. Hostnames are resolved and checked at connect time by
//! the engine; only `localhost` is treated as a literal here. Errors never echo the URL, which may
//! contain a pasted credential.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use portcullis_engine::egress::is_private;
use url::{Host, Url};

/// IPv4 cloud metadata endpoint (AWS, GCP, Azure, OpenStack, ...).
const METADATA_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
/// AWS IPv6 metadata endpoint.
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

/// What the caller knows about the provider, for the checks that depend on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EgressPolicy {
    pub allow_private_network: bool,
    pub require_https: bool,
}

/// Parses and checks a base URL; the error is a reason without the URL.
pub(crate) fn check_base_url(text: &str, policy: EgressPolicy) -> Result<Url, String> {
    let mut url = Url::parse(text.trim()).map_err(|err| format!("not a valid URL ({err})"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.require_https && !policy.allow_private_network => {
            return Err(
                "must use https in production (plain http is allowed only with allow_private_network: true)"
                    .to_owned(),
            );
        }
        "http" => {}
        _ => return Err("scheme must be http or https".to_owned()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not contain credentials (user:password@); reference the credential in api_key"
                .to_owned(),
        );
    }
    if url.query().is_some() {
        return Err("must not have a query string".to_owned());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".to_owned());
    }
    let restricted = match url.host() {
        Some(Host::Ipv4(ip)) => non_public(IpAddr::V4(ip)).map(|why| (ip.to_string(), why)),
        Some(Host::Ipv6(ip)) => non_public(IpAddr::V6(ip)).map(|why| (format!("[{ip}]"), why)),
        Some(Host::Domain(name)) => is_localhost(name).then(|| (name.to_owned(), "loopback")),
        None => return Err("must have a host".to_owned()),
    };
    if let Some((host, why)) = restricted
        && !policy.allow_private_network
    {
        return Err(format!(
            "host {host} is a {why} address; set allow_private_network: true if this provider really lives there"
        ));
    }
    // `https://host/v1/` and `https://host/v1` mean the same base; keep one spelling.
    let trimmed = url.path().trim_end_matches('/').to_owned();
    if !trimmed.is_empty() {
        url.set_path(&trimmed);
    }
    Ok(url)
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Why `ip` is refused without `allow_private_network`, or `None` if it is public. The
/// decision is the engine's [`is_private`], the same one applied at connect time; this only
/// adds a word for the error message.
fn non_public(ip: IpAddr) -> Option<&'static str> {
    if !is_private(ip) {
        return None;
    }
    let metadata = match ip {
        IpAddr::V4(v4) => v4 == METADATA_V4,
        IpAddr::V6(v6) => {
            v6 == METADATA_V6
                || v6.to_ipv4_mapped() == Some(METADATA_V4)
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0xa9fe, 0xa9fe)
        }
    };
    Some(if metadata {
        "cloud metadata"
    } else if ip.is_loopback() {
        "loopback"
    } else {
        "private or reserved"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: EgressPolicy = EgressPolicy {
        allow_private_network: false,
        require_https: false,
    };

    #[test]
    fn literal_private_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8000/v1",
            "http://10.1.2.3/v1",
            "http://172.16.0.1/v1",
            "http://192.168.1.1/v1",
            "http://169.254.169.254/latest",
            "http://169.254.1.1/",
            "http://0.0.0.0:8000/",
            "http://100.100.100.200/",
            "http://[::1]:8000/v1",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://2130706433/",
            "http://localhost:11434/v1",
        ] {
            assert!(check_base_url(url, OPEN).is_err(), "{url} was accepted");
            let allowed = EgressPolicy {
                allow_private_network: true,
                ..OPEN
            };
            assert!(
                check_base_url(url, allowed).is_ok(),
                "{url} refused when allowed"
            );
        }
    }

    #[test]
    fn metadata_endpoints_are_named_as_such() {
        let err = check_base_url("http://169.254.169.254/", OPEN).unwrap_err();
        assert!(err.contains("cloud metadata"), "{err}");
        let err = check_base_url("http://[fd00:ec2::254]/", OPEN).unwrap_err();
        assert!(err.contains("cloud metadata"), "{err}");
    }

    #[test]
    fn public_addresses_and_hostnames_pass() {
        for url in [
            "https://8.8.8.8/v1",
            "https://[2606:4700::1111]/v1",
            "https://api.openai.com/v1",
        ] {
            assert!(check_base_url(url, OPEN).is_ok(), "{url} refused");
        }
    }

    #[test]
    fn shape_rules_refuse_without_echoing_the_url() {
        for url in [
            "ftp://example.com/",
            "https://user:CANARY@example.com/v1",
            "https://example.com/v1?key=CANARY",
            "https://example.com/v1#CANARY",
            "not a url CANARY",
        ] {
            let err = check_base_url(url, OPEN).unwrap_err();
            assert!(!err.contains("CANARY"), "{err}");
        }
    }

    #[test]
    fn production_requires_https_unless_private_network_is_allowed() {
        let production = EgressPolicy {
            require_https: true,
            ..OPEN
        };
        assert!(check_base_url("http://example.com/v1", production).is_err());
        assert!(check_base_url("https://example.com/v1", production).is_ok());
        let private = EgressPolicy {
            allow_private_network: true,
            require_https: true,
        };
        assert!(check_base_url("http://10.0.0.5:8000/v1", private).is_ok());
    }

    #[test]
    fn trailing_slash_is_normalised() {
        let url = check_base_url("https://api.example.com/v1/", OPEN).unwrap();
        assert_eq!(url.as_str(), "https://api.example.com/v1");
    }
}
