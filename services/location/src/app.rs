//! Start-up: `Application::build` opens the database and binds the listeners,
//! `run_until_stopped` serves gRPC (PassengerService, health, reflection) and
//! HTTP (the JSON API, /metrics, /healthz) until the shutdown signal.
use std::{net::SocketAddr, sync::Arc};

use kagoshima_proto::v1::passenger_service_server::PassengerServiceServer;
use kagoshima_runtime::{
    admin_http::{self, Health},
    rate_limit::RateLimiter,
    serving,
    shutdown::Shutdown,
};
use kagoshima_storage::Store;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tracing::info;

use crate::{LocationConfig, grpc::PassengerApi, http, live::Live, static_info::StaticInfo};

#[derive(Debug, thiserror::Error)]
pub enum LocationError {
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
    config: LocationConfig,
    store: Store,
    grpc: TcpListener,
    http: TcpListener,
    live: Arc<std::sync::Mutex<Option<Live>>>,
}

impl Application {
    pub async fn build(config: LocationConfig) -> Result<Application, LocationError> {
        let store = Store::open(
            config.database.url.expose(),
            config.database.max_connections,
        )
        .await?;
        let grpc = config.grpc.bind().await?;
        let http = config.http.bind().await?;
        Ok(Application {
            config,
            store,
            grpc,
            http,
            live: Arc::default(),
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

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A handle filled with the live state once `run_until_stopped` has
    /// started (tests feed positions through it without a broker).
    pub fn live_handle(&self) -> Arc<std::sync::Mutex<Option<Live>>> {
        self.live.clone()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> Result<(), LocationError> {
        let registry = Registry::default();
        let health = Health::default();
        let info = StaticInfo::new(self.store.pool().clone());
        let (live, visits) = Live::new(self.config.live.clone());
        if let Err(e) = live.refresh_network(self.store.pool()).await {
            tracing::warn!(error = %e, "cannot load the live network yet; retrying in the background");
        }
        let tasks = [
            tokio::spawn(crate::live::visit_writer(
                self.store.pool().clone(),
                visits,
                shutdown.clone(),
            )),
            tokio::spawn(crate::live::maintenance(
                live.clone(),
                self.store.pool().clone(),
                shutdown.clone(),
            )),
            tokio::spawn(crate::live::board_refresher(live.clone(), shutdown.clone())),
        ];
        if self.config.mqtt.enabled {
            tokio::spawn(crate::mqtt::consume(
                self.config.mqtt.clone(),
                live.clone(),
                shutdown.clone(),
            ));
        }
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(live.clone());
        let limiter = RateLimiter::new(self.config.rate_limit.clone());

        let (_health, health_service, reflection) =
            serving::health_and_reflection::<PassengerServiceServer<PassengerApi>>(&[
                kagoshima_proto::FILE_DESCRIPTOR_SET,
            ])
            .await?;
        let passenger = tonic::service::interceptor::InterceptedService::new(
            PassengerServiceServer::new(PassengerApi::new(info.clone(), live.clone())),
            limiter.clone().interceptor(),
        );
        info!(grpc = %self.grpc_addr(), http = %self.http_addr(), "location serving");
        let grpc = tonic::transport::Server::builder()
            .add_service(health_service)
            .add_service(reflection)
            .add_service(passenger)
            .serve_with_incoming_shutdown(
                serving::grpc_incoming(self.grpc),
                shutdown.clone().cancelled_owned(),
            );

        let router =
            admin_http::router(Arc::new(registry), health).merge(http::router(info, limiter, live));
        let http_shutdown = shutdown.clone();
        let http = async move {
            axum::serve(
                serving::http_listener(self.http),
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { http_shutdown.cancelled().await })
            .await
        };
        let (grpc, http) = tokio::join!(grpc, http);
        for t in tasks {
            let _ = t.await;
        }
        grpc?;
        http.map_err(LocationError::Http)?;
        info!("location stopped");
        Ok(())
    }
}
