//! Per-client rate limiting for the public interfaces: a token bucket per
//! client IP. Each client may make `burst` calls at once and then
//! `per_second` calls a second on average; a call over the limit is refused
//! with the time to wait. gRPC services use [`RateLimiter::check_grpc`]
//! (RESOURCE_EXHAUSTED with `retry-after` metadata, in whole seconds); HTTP
//! handlers use [`RateLimiter::check`] and answer 429 with `Retry-After`.
//!
//! The key is the TCP peer's address, except behind a trusted proxy: when the
//! peer is listed in `trusted_proxies` and the request carries
//! `x-forwarded-for` (HTTP header or gRPC metadata), the key is the first
//! address of that header, the client the proxy is serving (see
//! [`RateLimiter::client_key`]). A header from any other peer is ignored, so
//! a client cannot pick its own bucket. The web service is such a proxy for
//! PassengerService: list its address in the location service's
//! `rate_limit.trusted_proxies`, otherwise every browser shares the web's
//! bucket. Behind any other reverse proxy, list the proxy there, or limit at
//! the proxy. Idle buckets are forgotten, so memory stays bounded by the
//! number of recent clients.
use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
    time::Duration,
};

use crate::http_error::json_error;

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::Response,
};
use serde::{Deserialize, Serialize};

/// The header (HTTP) and metadata key (gRPC) a trusted proxy puts the
/// client's address in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// Off: every call passes.
    pub enabled: bool,
    /// Calls a second a client may make on average.
    pub per_second: f64,
    /// Calls a client may make at once.
    pub burst: u32,
    /// Peers whose `x-forwarded-for` is believed (the web service in front
    /// of the location service, a reverse proxy). Empty: the peer is always
    /// the key.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            per_second: 10.0,
            burst: 40,
            trusted_proxies: Vec::new(),
        }
    }
}

type Keyed = governor::RateLimiter<
    IpAddr,
    governor::state::keyed::HashMapStateStore<IpAddr>,
    governor::clock::DefaultClock,
>;

/// The limiter, cheap to clone (the buckets are shared): a keyed GCRA
/// limiter from `governor`, one bucket per client address.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    config: RateLimitConfig,
    keyed: Arc<Keyed>,
}

/// Past this many clients, the buckets of idle ones are forgotten.
const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        // One call every 1/per_second seconds on average, `burst` at once.
        let period = Duration::from_secs_f64(1.0 / config.per_second.max(1e-6));
        let burst = NonZeroU32::new(config.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = governor::Quota::with_period(period)
            .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        RateLimiter {
            config,
            keyed: Arc::new(governor::RateLimiter::hashmap(quota)),
        }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// The bucket's key: the first address of `forwarded_for` when `peer` is
    /// a trusted proxy and the header holds a valid address (`1.2.3.4`,
    /// `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:80`); `peer` otherwise.
    pub fn client_key(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self
            .config
            .trusted_proxies
            .iter()
            .any(|p| p.to_canonical() == peer)
        {
            return peer;
        }
        forwarded_for
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .and_then(|first| {
                first
                    .parse::<IpAddr>()
                    .ok()
                    .or_else(|| first.parse::<SocketAddr>().ok().map(|s| s.ip()))
            })
            .map_or(peer, |ip| ip.to_canonical())
    }

    /// The HTTP check: keyed by [`RateLimiter::client_key`] of the peer and
    /// the first `x-forwarded-for` header.
    pub fn check_http(&self, peer: IpAddr, headers: &HeaderMap) -> Result<(), Duration> {
        let forwarded = headers.get(FORWARDED_FOR).and_then(|v| v.to_str().ok());
        self.check(self.client_key(peer, forwarded))
    }

    /// Takes one call from `client`'s allowance; `Err(wait)` when it has
    /// none left.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if !self.config.enabled {
            return Ok(());
        }
        if self.keyed.len() > PRUNE_ABOVE {
            self.keyed.retain_recent();
        }
        self.keyed.check_key(&client).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(self.keyed.clock()))
        })
    }

    /// The gRPC check: RESOURCE_EXHAUSTED with a retry hint when over the
    /// limit, keyed by [`RateLimiter::client_key`] of the peer and the
    /// `x-forwarded-for` metadata. A request without a peer address
    /// (in-process) passes.
    pub fn check_grpc<T>(&self, request: &tonic::Request<T>) -> Result<(), tonic::Status> {
        let Some(peer) = request.remote_addr() else {
            return Ok(());
        };
        let forwarded = request
            .metadata()
            .get(FORWARDED_FOR)
            .and_then(|v| v.to_str().ok());
        self.check(self.client_key(peer.ip(), forwarded))
            .map_err(too_many)
    }

    /// A tonic interceptor applying [`RateLimiter::check_grpc`] to every call.
    pub fn interceptor(
        self,
    ) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
        move |request: tonic::Request<()>| {
            self.check_grpc(&request)?;
            Ok(request)
        }
    }
}

/// Axum middleware for a public HTTP interface: over the limit, 429 with
/// `Retry-After` (whole seconds) and the JSON error; keyed like
/// [`RateLimiter::check_http`]. Serve the router with
/// `into_make_service_with_connect_info::<SocketAddr>()`; a request without
/// a peer address (in-process) passes.
pub async fn limit_http(
    State(limiter): State<RateLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer
        && let Err(wait) = limiter.check_http(ip, request.headers())
    {
        let secs = retry_after_secs(wait);
        let mut response = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "resource_exhausted",
            format!("rate limit exceeded for this client: retry after {secs} s"),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return response;
    }
    next.run(request).await
}

/// Whole seconds to wait, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

fn too_many(wait: Duration) -> tonic::Status {
    let secs = retry_after_secs(wait);
    let mut status = tonic::Status::resource_exhausted(format!(
        "rate limit exceeded for this client: retry after {secs} s"
    ));
    if let Ok(value) = secs.to_string().parse() {
        status.metadata_mut().insert("retry-after", value);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_burst_and_refills() {
        let limiter = RateLimiter::new(RateLimitConfig {
            enabled: true,
            per_second: 20.0,
            burst: 3,
            ..RateLimitConfig::default()
        });
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
        }
        let wait = limiter.check(ip).expect_err("over the burst");
        assert!(wait <= Duration::from_millis(50) && wait > Duration::ZERO);
        assert!(limiter.check(other).is_ok(), "buckets are per client");
        // One call every 50 ms comes back.
        std::thread::sleep(Duration::from_millis(60));
        assert!(limiter.check(ip).is_ok());
        assert!(limiter.check(ip).is_err(), "only one came back");
        let off = RateLimiter::new(RateLimitConfig {
            enabled: false,
            burst: 1,
            ..RateLimitConfig::default()
        });
        assert!((0..10).all(|_| off.check(ip).is_ok()));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn behind(proxies: &[&str]) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            enabled: true,
            per_second: 0.001,
            burst: 1,
            trusted_proxies: proxies.iter().map(|p| ip(p)).collect(),
        })
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let web = ip("10.0.0.5");
        let limiter = behind(&["10.0.0.5", "2001:db8::5"]);
        // A trusted proxy: the first address of the header.
        assert_eq!(
            limiter.client_key(web, Some("203.0.113.7, 10.0.0.9")),
            ip("203.0.113.7")
        );
        assert_eq!(
            limiter.client_key(web, Some(" 203.0.113.7 ")),
            ip("203.0.113.7")
        );
        assert_eq!(
            limiter.client_key(web, Some("203.0.113.7:5100")),
            ip("203.0.113.7")
        );
        assert_eq!(
            limiter.client_key(web, Some("[2001:db8::7]:443")),
            ip("2001:db8::7")
        );
        assert_eq!(
            limiter.client_key(ip("2001:db8::5"), Some("2001:db8::7")),
            ip("2001:db8::7")
        );
        // An IPv4-mapped peer is the same proxy; a mapped client is its IPv4.
        assert_eq!(
            limiter.client_key(ip("::ffff:10.0.0.5"), Some("::ffff:203.0.113.7")),
            ip("203.0.113.7")
        );
        // A trusted proxy without the header, or with garbage: the proxy itself.
        assert_eq!(limiter.client_key(web, None), web);
        assert_eq!(limiter.client_key(web, Some("")), web);
        assert_eq!(limiter.client_key(web, Some("unknown, 203.0.113.7")), web);
        // Any other peer: its own address, whatever it claims.
        let stranger = ip("198.51.100.3");
        assert_eq!(limiter.client_key(stranger, Some("203.0.113.7")), stranger);
        // No trusted proxies (the default): always the peer.
        assert_eq!(behind(&[]).client_key(web, Some("203.0.113.7")), web);
        assert!(RateLimitConfig::default().trusted_proxies.is_empty());
    }

    #[test]
    fn clients_behind_a_trusted_proxy_get_their_own_buckets() {
        let limiter = behind(&["10.0.0.5"]);
        let web = ip("10.0.0.5");
        let mut headers = HeaderMap::new();
        headers.insert(FORWARDED_FOR, "203.0.113.7".parse().expect("value"));
        assert!(limiter.check_http(web, &headers).is_ok());
        assert!(limiter.check_http(web, &headers).is_err(), "burst of 1");
        headers.insert(FORWARDED_FOR, "203.0.113.8".parse().expect("value"));
        assert!(limiter.check_http(web, &headers).is_ok(), "another client");
        // The proxy's own calls (no header) have a bucket of their own.
        assert!(limiter.check_http(web, &HeaderMap::new()).is_ok());
        // An untrusted peer cannot escape its bucket by changing the header.
        let stranger = ip("198.51.100.3");
        assert!(limiter.check_http(stranger, &headers).is_ok());
        headers.insert(FORWARDED_FOR, "203.0.113.9".parse().expect("value"));
        assert!(limiter.check_http(stranger, &headers).is_err());

        // gRPC: the same rule on metadata.
        let limiter = behind(&["10.0.0.5"]);
        let request = |from: &str, forwarded: Option<&str>| {
            let mut r = tonic::Request::new(());
            r.extensions_mut()
                .insert(tonic::transport::server::TcpConnectInfo {
                    local_addr: None,
                    remote_addr: Some(SocketAddr::new(ip(from), 40000)),
                });
            if let Some(f) = forwarded {
                r.metadata_mut()
                    .insert(FORWARDED_FOR, f.parse().expect("metadata"));
            }
            r
        };
        assert!(
            limiter
                .check_grpc(&request("10.0.0.5", Some("203.0.113.7")))
                .is_ok()
        );
        let refused = limiter
            .check_grpc(&request("10.0.0.5", Some("203.0.113.7")))
            .expect_err("same client");
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(
            limiter
                .check_grpc(&request("10.0.0.5", Some("203.0.113.8")))
                .is_ok()
        );
        assert!(
            limiter
                .check_grpc(&request("198.51.100.3", Some("203.0.113.7")))
                .is_ok()
        );
        assert!(
            limiter
                .check_grpc(&request("198.51.100.3", Some("203.0.113.9")))
                .is_err()
        );
    }
}
