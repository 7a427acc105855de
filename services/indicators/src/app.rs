//! Start-up: `Application::build` binds the listeners and opens the
//! database; `run_until_stopped` serves gRPC and the admin endpoints through
//! the runtime's [`Host`] and recomputes dirty dates in the background until
//! the shutdown signal.
use std::{net::SocketAddr, time::Duration};

use kagoshima_proto::v1::indicator_service_server::IndicatorServiceServer;
use kagoshima_runtime::{
    auth::TokenSet,
    host::{GrpcServices, Host, ServeError},
    shutdown::Shutdown,
};
use kagoshima_storage::Store;
use tracing::warn;

use crate::config::IndicatorsConfig;
use crate::error::IndicatorError;
use crate::grpc::IndicatorApi;
use crate::metrics::IndicatorsMetrics;
use crate::service::Indicators;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Indicator(#[from] IndicatorError),
    #[error(transparent)]
    BadToken(#[from] kagoshima_runtime::auth::BadTokenHash),
    #[error(transparent)]
    Storage(#[from] kagoshima_storage::StorageError),
    #[error(transparent)]
    Bind(#[from] kagoshima_runtime::settings::BindError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

pub struct Application {
    indicators: Indicators,
    tokens: TokenSet,
    store: Store,
    host: Host,
}

impl Application {
    pub async fn build(config: IndicatorsConfig) -> Result<Application, AppError> {
        let tokens = TokenSet::new(&config.auth.tokens)?;
        if tokens.is_empty() {
            warn!("no indicator tokens configured: every IndicatorService call will be refused");
        }
        let store = Store::open(
            config.database.url.expose(),
            config.database.max_connections,
        )
        .await?;
        let mut host = Host::bind("indicators", Some(&config.grpc), &config.http).await?;
        let metrics = IndicatorsMetrics::register(host.registry());
        let indicators = Indicators::new(store.pool().clone(), config)?.with_metrics(metrics);
        Ok(Application {
            indicators,
            tokens,
            store,
            host,
        })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.host.grpc_addr().expect("indicators binds a gRPC port")
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.host.http_addr()
    }

    pub fn indicators(&self) -> &Indicators {
        &self.indicators
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> Result<(), AppError> {
        let Application {
            indicators,
            tokens,
            store,
            mut host,
        } = self;
        store.watch_readiness(&host, shutdown.clone());
        store.watch_jobs(&mut host, shutdown.clone());
        let service = tonic::service::interceptor::InterceptedService::new(
            IndicatorServiceServer::new(IndicatorApi::new(indicators.clone())),
            tokens.interceptor(),
        );

        // Rollups follow the data: recompute dirty dates every interval.
        let refresher = {
            let health = host.health();
            let dirty_dates = indicators.metrics().dirty_dates.clone();
            let shutdown = shutdown.clone();
            let every = Duration::from_secs(indicators.config.refresh.interval_s.max(1));
            tokio::spawn(async move {
                loop {
                    // Counted in the metrics by `refresh` itself, as are
                    // the refreshes reports run first.
                    match indicators.refresh().await {
                        Ok(_) => health.recover("refresh"),
                        Err(e) => {
                            warn!(error = %e, "refresh of dirty dates failed");
                            health.degrade("refresh", e.to_string());
                        }
                    }
                    match crate::rides::dirty_count(&indicators.pool).await {
                        Ok(n) => {
                            dirty_dates.set(n);
                        }
                        Err(e) => warn!(error = %e, "counting the dates to refresh failed"),
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(every) => {}
                    }
                }
            })
        };
        let served = host
            .serve(GrpcServices::new().with(service), None, shutdown)
            .await;
        let _ = refresher.await;
        Ok(served?)
    }
}
