//! Start-up: `Application::build` binds the listeners and opens the
//! database; `run_until_stopped` serves gRPC and the admin endpoints and
//! recomputes dirty dates in the background until the shutdown signal.
use std::{net::SocketAddr, sync::Arc, time::Duration};

use kagoshima_proto::v1::indicator_service_server::IndicatorServiceServer;
use kagoshima_runtime::{
    admin_http, admin_http::Health, auth::TokenSet, serving, shutdown::Shutdown,
};
use kagoshima_storage::Store;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::config::IndicatorsConfig;
use crate::error::IndicatorError;
use crate::grpc::IndicatorApi;
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
    #[error("grpc server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
    #[error("grpc reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("http server failed: {0}")]
    Http(std::io::Error),
}

pub struct Application {
    indicators: Indicators,
    tokens: TokenSet,
    grpc: TcpListener,
    http: TcpListener,
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
        let grpc = config.grpc.bind().await?;
        let http = config.http.bind().await?;
        let indicators = Indicators::new(store.pool().clone(), config)?;
        Ok(Application {
            indicators,
            tokens,
            grpc,
            http,
        })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn indicators(&self) -> &Indicators {
        &self.indicators
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> Result<(), AppError> {
        let registry = Registry::default();
        let health = Health::default();
        let (_health, health_service, reflection) =
            serving::health_and_reflection::<IndicatorServiceServer<IndicatorApi>>(&[
                kagoshima_proto::FILE_DESCRIPTOR_SET,
            ])
            .await?;
        let api = IndicatorApi::new(self.indicators.clone());
        let service = tonic::service::interceptor::InterceptedService::new(
            IndicatorServiceServer::new(api),
            self.tokens.clone().interceptor(),
        );

        // Rollups follow the data: recompute dirty dates every interval.
        let refresher = {
            let indicators = self.indicators.clone();
            let health = health.clone();
            let shutdown = shutdown.clone();
            let every = Duration::from_secs(indicators.config.refresh.interval_s.max(1));
            tokio::spawn(async move {
                loop {
                    match indicators.refresh().await {
                        Ok(_) => health.recover("refresh"),
                        Err(e) => {
                            warn!(error = %e, "refresh of dirty dates failed");
                            health.degrade("refresh", e.to_string());
                        }
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(every) => {}
                    }
                }
            })
        };

        info!(grpc = %self.grpc_addr(), http = %self.http_addr(), "indicators serving");
        let grpc = tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(reflection)
            .add_service(service)
            .serve_with_incoming_shutdown(
                serving::grpc_incoming(self.grpc),
                shutdown.clone().cancelled_owned(),
            );
        let router = admin_http::router(Arc::new(registry), health);
        let http = admin_http::serve(self.http, router, shutdown.clone());
        let (grpc, http) = tokio::join!(grpc, http);
        let _ = refresher.await;
        grpc?;
        http.map_err(AppError::Http)?;
        info!("indicators stopped");
        Ok(())
    }
}
