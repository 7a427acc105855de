//! The gRPC clients of the services behind the pages. Channels connect
//! lazily: the web starts (and serves its pages) before the others are up.
use std::time::Duration;

use kagoshima_proto::v1::{
    indicator_service_client::IndicatorServiceClient,
    passenger_service_client::PassengerServiceClient,
};
use tonic::transport::{Channel, Endpoint};

#[derive(Debug, Clone)]
pub struct Upstream {
    pub passenger: PassengerServiceClient<Channel>,
    pub indicators: IndicatorServiceClient<Channel>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid upstream address {addr:?}: {source}")]
pub struct BadAddress {
    pub addr: String,
    source: tonic::transport::Error,
}

fn channel(addr: &str) -> Result<Channel, BadAddress> {
    Ok(Endpoint::from_shared(addr.to_owned())
        .map_err(|source| BadAddress {
            addr: addr.to_owned(),
            source,
        })?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .connect_lazy())
}

impl Upstream {
    pub fn new(passenger: &str, indicators: &str) -> Result<Upstream, BadAddress> {
        Ok(Upstream {
            passenger: PassengerServiceClient::new(channel(passenger)?),
            indicators: IndicatorServiceClient::new(channel(indicators)?),
        })
    }
}
