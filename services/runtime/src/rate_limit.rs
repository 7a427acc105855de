//! Per-client rate limiting for the public interfaces: a token bucket per
//! client IP. Each client may make `burst` calls at once and then
//! `per_second` calls a second on average; a call over the limit is refused
//! with the time to wait. gRPC services use [`RateLimiter::check_grpc`]
//! (RESOURCE_EXHAUSTED with `retry-after` metadata, in whole seconds); HTTP
//! handlers use [`RateLimiter::check`] and answer 429 with `Retry-After`.
//!
//! The key is the TCP peer's address: behind a reverse proxy every client
//! shares the proxy's address, so limit at the proxy there. Idle buckets are
//! forgotten, so memory stays bounded by the number of recent clients.
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// Off: every call passes.
    pub enabled: bool,
    /// Calls a second a client may make on average.
    pub per_second: f64,
    /// Calls a client may make at once.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            per_second: 10.0,
            burst: 40,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The limiter, cheap to clone (the buckets are shared).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    config: RateLimitConfig,
    buckets: Arc<Mutex<HashMap<IpAddr, Bucket>>>,
}

/// Past this many buckets, full (idle) ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        RateLimiter {
            config,
            buckets: Arc::default(),
        }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Takes one token for `client`; `Err(wait)` when it has none left.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.check_at(client, Instant::now())
    }

    fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if !self.config.enabled {
            return Ok(());
        }
        let rate = self.config.per_second.max(f64::MIN_POSITIVE);
        let burst = f64::from(self.config.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }

    /// The gRPC check: RESOURCE_EXHAUSTED with a retry hint when over the
    /// limit. A request without a peer address (in-process) passes.
    pub fn check_grpc<T>(&self, request: &tonic::Request<T>) -> Result<(), tonic::Status> {
        let Some(peer) = request.remote_addr() else {
            return Ok(());
        };
        self.check(peer.ip()).map_err(too_many)
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
            per_second: 2.0,
            burst: 3,
        });
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(ip, t0).is_ok());
        }
        let wait = limiter.check_at(ip, t0).expect_err("over the burst");
        assert!(wait <= Duration::from_millis(500) && wait > Duration::ZERO);
        assert!(
            limiter.check_at(other, t0).is_ok(),
            "buckets are per client"
        );
        assert!(
            limiter
                .check_at(ip, t0 + Duration::from_millis(500))
                .is_ok()
        );
    }
}
