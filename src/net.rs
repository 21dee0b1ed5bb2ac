//! The one policy for URLs shopbip fetches because a payload or a template named them (the
//! invoice PDF): checked on the first URL, on every redirect hop, and on every address a host
//! name resolves to, so neither a redirect nor a DNS answer can lead a fetch to the cloud
//! metadata service or a host on the private network.
//!
//! - `https` to public addresses; `http` only to a loopback host (local stand-ins, tests).
//! - Loopback is allowed (a same-host shop); link-local, private (RFC 1918, CGNAT),
//!   unique-local, multicast, broadcast, documentation and unspecified addresses are refused
//!   unless the store sets `invoice.fetch_allow_private = true`.
//! - Any other scheme is refused, on the first URL as on a redirect.
//!
//! Base URLs that a profile configures (Buzzbip's, a platform API's) go through
//! [`parse_base_url`]: the same https-unless-loopback rule, checked once when the profile loads.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// `https://shop.test/path` of a URL, without user info, query or fragment: how outbound URLs
/// are shown in errors and logs (queries often carry access keys).
pub fn display_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            format!(
                "{}://{}{}",
                u.scheme(),
                u.host_str().unwrap_or(""),
                u.port().map(|p| format!(":{p}")).unwrap_or_default()
            ) + u.path()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or("").to_owned(),
    }
}

/// Why a configured base URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseUrlError {
    #[error("{url:?} is not allowed: use https:// (http:// is accepted only for a loopback host)")]
    Insecure { url: String },
    #[error("{url:?} is not a usable URL: {reason}")]
    Invalid { url: String, reason: String },
}

/// Checks a configured base URL (Buzzbip's, a platform API's): https, or http to a loopback host
/// (the sandbox, local stand-ins); a host, and no query or fragment.
pub fn parse_base_url(raw: &str) -> Result<Url, BaseUrlError> {
    let invalid = |reason: &str| BaseUrlError::Invalid {
        url: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not carry a query or fragment"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(&url) => Ok(url),
        "http" => Err(BaseUrlError::Insecure {
            url: raw.to_owned(),
        }),
        other => Err(invalid(&format!("scheme {other:?} is not http(s)"))),
    }
}

/// `localhost` or a loopback address; false for a URL without a host.
fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Part of every refusal's text, so a fetch error can tell a refusal (permanent) from a
/// network failure (worth retrying).
pub const REFUSED: &str = "shopbip may not fetch from";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UrlPolicy {
    /// Whether private and link-local addresses may be reached (a shop on the same private
    /// network as shopbip).
    pub allow_private: bool,
}

impl UrlPolicy {
    /// Why `url` may not be fetched, if it may not: its scheme, or its host when that is an
    /// address (host names are checked when they resolve: see [`UrlPolicy::check_addr`]).
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        if url.host().is_none() {
            return Err("the URL has no host".into());
        }
        let loopback = is_loopback_host(url);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err("http:// is only allowed to a loopback host; use https".into());
            }
            other => {
                return Err(format!(
                    "{other}:// is not allowed (https, or http to a loopback host)"
                ));
            }
        }
        match url.host() {
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }

    /// Why an address a host name resolved to may not be connected to, if it may not.
    pub fn check_addr(&self, addr: &SocketAddr) -> Result<(), String> {
        self.check_ip(addr.ip())
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        let ip = match ip {
            // An IPv4 address written as IPv6 (mapped `::ffff:a.b.c.d`, or the old compatible
            // `::a.b.c.d`) is judged as what it is.
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        if ip.is_loopback() {
            return Ok(());
        }
        let never = match ip {
            IpAddr::V4(v4) => v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast(),
            IpAddr::V6(v6) => v6.is_unspecified() || v6.is_multicast(),
        };
        if never {
            return Err(format!("{ip} is not an address to fetch from"));
        }
        if !self.allow_private && is_private(ip) {
            return Err(format!(
                "{ip} is a private or link-local address (set invoice.fetch_allow_private = true \
                 to fetch from the shop's own network)"
            ));
        }
        Ok(())
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_link_local()
                || v4.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT.
                || (a == 100 && (64..128).contains(&b))
                // 192.0.0.0/24, IETF protocol assignments; 198.18.0.0/15, benchmarking.
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a == 0
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            // fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 site-local (deprecated),
            // 2001:db8::/32 documentation, 64:ff9b:1::/48 local NAT64; 2002::/16 (6to4) and
            // 64:ff9b::/96 (NAT64) by the IPv4 address they carry.
            (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                || (first == 0x64 && v6.segments()[1] == 0xff9b && v6.segments()[2] == 1)
                || is_6to4_of_private(v6)
                || is_nat64_of_private(v6)
        }
    }
}

/// The IPv4 address inside an IPv6 one that carries it whole: mapped, or compatible (`::/96`,
/// but not `::` and `::1`).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    (s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1))
        .then(|| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
}

/// `2002:aabb:ccdd::/48` routes to `aa.bb.cc.dd` (6to4).
fn is_6to4_of_private(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    if s[0] != 0x2002 {
        return false;
    }
    let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
    v4.is_loopback() || v4.is_unspecified() || is_private(IpAddr::V4(v4))
}

/// `64:ff9b::a.b.c.d` reaches `a.b.c.d` through a NAT64 gateway.
fn is_nat64_of_private(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    if s[..6] != [0x64, 0xff9b, 0, 0, 0, 0] {
        return false;
    }
    let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    v4.is_loopback() || is_private(IpAddr::V4(v4))
}

/// Resolves host names as the system does, then keeps only the addresses the policy allows:
/// a name that resolves only to refused addresses is an error naming them.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver(pub UrlPolicy);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found
                .into_iter()
                .partition(|a| policy.check_addr(a).is_ok());
            if allowed.is_empty() {
                let why = refused
                    .first()
                    .and_then(|a| policy.check_addr(a).err())
                    .unwrap_or_else(|| "no address".into());
                return Err(format!("{host} resolves to no address {REFUSED}: {why}").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The redirect policy of a client fetching under `policy`: at most `max` hops, each checked.
pub fn redirects(policy: UrlPolicy, max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            return attempt.error(format!("more than {max} redirects"));
        }
        match policy.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(why) => {
                let to = display_url(attempt.url().as_str());
                attempt.error(format!("a redirect to {to} was refused: {why}"))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: UrlPolicy, url: &str) -> Result<(), String> {
        policy.check_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn public_https_and_loopback_pass_private_and_odd_schemes_do_not() {
        let strict = UrlPolicy::default();
        for ok in [
            "https://shop.example/invoice.pdf",
            "https://93.184.216.34/x",
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]/x",
            "https://[2606:4700::1111]/x",
        ] {
            assert_eq!(check(strict, ok), Ok(()), "{ok}");
        }
        for refused in [
            "http://169.254.169.254/latest/meta-data/",
            "https://169.254.169.254/x",
            "https://10.0.0.5/x",
            "https://172.16.3.4/x",
            "https://192.168.1.1/x",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://224.0.0.1/x",
            "https://[fe80::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://[64:ff9b::a9fe:a9fe]/x",
            "https://[::]/x",
            "https://[::169.254.169.254]/x",
            "https://[::a9fe:a9fe]/x",
            "https://[2002:a9fe:a9fe::1]/x",
            "https://[64:ff9b:1::a]/x",
            "https://[fec0::1]/x",
            "http://shop.example/x",
            "ftp://shop.example/x",
            "file:///etc/passwd",
            "gopher://127.0.0.1/x",
        ] {
            assert!(check(strict, refused).is_err(), "{refused}");
        }
        let private = UrlPolicy {
            allow_private: true,
        };
        assert_eq!(check(private, "https://192.168.1.1/x"), Ok(()));
        assert_eq!(check(private, "https://[fd00::1]/x"), Ok(()));
        // Some addresses are never a shop, whatever the setting.
        assert!(check(private, "https://0.0.0.0/x").is_err());
        assert!(
            check(private, "http://192.168.1.1/x").is_err(),
            "http stays loopback-only"
        );
    }

    #[tokio::test]
    async fn a_name_resolving_to_a_private_address_is_refused() {
        use reqwest::dns::Resolve;
        let name = |s: &str| s.parse::<reqwest::dns::Name>().unwrap();
        let strict = CheckedResolver(UrlPolicy::default());
        // `localhost` is loopback: allowed.
        let addrs: Vec<SocketAddr> = strict.resolve(name("localhost")).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        // A numeric name the system resolver returns as is.
        let err = strict.resolve(name("10.1.2.3")).await.err().unwrap();
        assert!(err.to_string().contains("private"), "{err}");
        let open = CheckedResolver(UrlPolicy {
            allow_private: true,
        });
        assert!(open.resolve(name("10.1.2.3")).await.is_ok());
    }
}
