//! The gRPC clients of the services behind the pages. Channels connect
//! lazily: the web starts (and serves its pages) before the others are up.
//!
//! Every PassengerService call carries the browser's address as
//! `x-forwarded-for` metadata ([`Upstream::passenger`] needs it), so the
//! location service can rate-limit each browser rather than the web as a
//! whole: it believes the header only from the peers listed in its
//! `rate_limit.trusted_proxies`, which must hold the web's address.
use std::{net::IpAddr, net::SocketAddr, time::Duration};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use kagoshima_proto::v1::{
    alert_service_client::AlertServiceClient, indicator_service_client::IndicatorServiceClient,
    ingest_service_client::IngestServiceClient, passenger_service_client::PassengerServiceClient,
};
use kagoshima_runtime::rate_limit::FORWARDED_FOR;
use tonic::service::{Interceptor, interceptor::InterceptedService};
use tonic::transport::{Channel, Endpoint};

#[derive(Debug, Clone)]
pub struct Upstream {
    passenger: Channel,
    pub indicators: IndicatorServiceClient<Channel>,
    /// IndicatorService for timetable planning, with a longer timeout: the
    /// first analysis of a month of every route reads half a million stop
    /// visits (seconds), and its report is then kept a while.
    pub planning: IndicatorServiceClient<Channel>,
    /// IngestService, for the device diagnostics (the bureau's token is
    /// forwarded: ingest must list it in its `auth.tokens`).
    pub ingest: IngestServiceClient<Channel>,
    /// The location service's AlertService (the bureau's token is forwarded).
    pub alerts: AlertServiceClient<Channel>,
}

/// The browser's address: the TCP peer of the request (the web keys its own
/// `/api` limit by it too). `None` without connection info (in-process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_canonical()),
        ))
    }
}

/// Puts `x-forwarded-for: <browser>` on every call it intercepts.
#[derive(Debug, Clone, Copy)]
pub struct ForwardedFor(Option<IpAddr>);

impl Interceptor for ForwardedFor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(ip) = self.0
            && let Ok(v) = ip.to_string().parse()
        {
            request.metadata_mut().insert(FORWARDED_FOR, v);
        }
        Ok(request)
    }
}

/// A PassengerService client speaking for one browser.
pub type PassengerClient = PassengerServiceClient<InterceptedService<Channel, ForwardedFor>>;

#[derive(Debug, thiserror::Error)]
#[error("invalid upstream address {addr:?}: {source}")]
pub struct BadAddress {
    pub addr: String,
    source: tonic::transport::Error,
}

/// How long a call upstream may take, and a planning call.
const TIMEOUT: Duration = Duration::from_secs(10);
const PLANNING_TIMEOUT: Duration = Duration::from_secs(60);

fn channel(addr: &str, timeout: Duration) -> Result<Channel, BadAddress> {
    Ok(Endpoint::from_shared(addr.to_owned())
        .map_err(|source| BadAddress {
            addr: addr.to_owned(),
            source,
        })?
        .connect_timeout(Duration::from_secs(3))
        .timeout(timeout)
        .tcp_nodelay(true)
        .connect_lazy())
}

impl Upstream {
    pub fn new(passenger: &str, indicators: &str, ingest: &str) -> Result<Upstream, BadAddress> {
        let location = channel(passenger, TIMEOUT)?;
        Ok(Upstream {
            alerts: AlertServiceClient::new(location.clone()),
            passenger: location,
            indicators: IndicatorServiceClient::new(channel(indicators, TIMEOUT)?),
            planning: IndicatorServiceClient::new(channel(indicators, PLANNING_TIMEOUT)?),
            ingest: IngestServiceClient::new(channel(ingest, TIMEOUT)?),
        })
    }

    /// PassengerService on behalf of `client` (its address goes upstream as
    /// `x-forwarded-for`). The only way to reach PassengerService.
    pub fn passenger(&self, client: ClientIp) -> PassengerClient {
        PassengerServiceClient::with_interceptor(self.passenger.clone(), ForwardedFor(client.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_the_browser_address() {
        let ip: IpAddr = "203.0.113.7".parse().expect("ip");
        let r = ForwardedFor(Some(ip))
            .call(tonic::Request::new(()))
            .expect("passes");
        assert_eq!(
            r.metadata()
                .get(FORWARDED_FOR)
                .and_then(|v| v.to_str().ok()),
            Some("203.0.113.7")
        );
        let r = ForwardedFor(None)
            .call(tonic::Request::new(()))
            .expect("passes");
        assert!(r.metadata().get(FORWARDED_FOR).is_none());
    }
}
