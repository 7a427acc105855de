//! Start-up: `Application::build` opens the database and binds the listeners,
//! `run_until_stopped` serves gRPC (PassengerService) and HTTP (the JSON API)
//! through the runtime's [`Host`] until the shutdown signal.
use std::{net::SocketAddr, sync::Arc};

use kagoshima_domain::validation::Validator;
use kagoshima_proto::v1::{
    alert_service_server::AlertServiceServer, passenger_service_server::PassengerServiceServer,
};
use kagoshima_runtime::{
    auth::TokenSet,
    host::{GrpcServices, Host, ServeError},
    rate_limit::RateLimiter,
    shutdown::Shutdown,
};
use kagoshima_storage::Store;

use crate::{
    LocationConfig,
    alerts::{Alerts, grpc::AlertApi},
    grpc::PassengerApi,
    http,
    live::Live,
    metrics::LocationMetrics,
    static_info::StaticInfo,
};

#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error(transparent)]
    Storage(#[from] kagoshima_storage::StorageError),
    #[error(transparent)]
    Bind(#[from] kagoshima_runtime::settings::BindError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error(transparent)]
    BadToken(#[from] kagoshima_runtime::auth::BadTokenHash),
}

pub struct Application {
    config: LocationConfig,
    tokens: TokenSet,
    store: Store,
    host: Host,
    metrics: LocationMetrics,
    live: Arc<std::sync::Mutex<Option<Live>>>,
}

impl Application {
    pub async fn build(config: LocationConfig) -> Result<Application, LocationError> {
        let tokens = TokenSet::new(&config.auth.tokens)?;
        if tokens.is_empty() {
            tracing::warn!("no bureau tokens configured: every AlertService call will be refused");
        }
        let store = Store::open(
            config.database.url.expose(),
            config.database.max_connections,
        )
        .await?;
        let mut host = Host::bind("location", Some(&config.grpc), &config.http).await?;
        let metrics = LocationMetrics::register(host.registry());
        Ok(Application {
            config,
            tokens,
            store,
            host,
            metrics,
            live: Arc::default(),
        })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.host.grpc_addr().expect("location binds a gRPC port")
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.host.http_addr()
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
        let Application {
            config,
            tokens,
            store,
            host,
            metrics,
            live: live_handle,
        } = self;
        store.watch_readiness(&host, shutdown.clone());
        let mut host = host;
        crate::timetable_validity::watch(store.pool().clone(), &mut host, shutdown.clone());
        let info = StaticInfo::new(store.pool().clone());
        let (live, visits) = Live::new(config.live.clone());
        if let Err(e) = live.refresh_network(store.pool()).await {
            tracing::warn!(error = %e, "cannot load the live network yet; retrying in the background");
        }
        let alerts = Alerts::default();
        if let Err(e) = alerts.reload(store.pool()).await {
            tracing::warn!(error = %e, "cannot load the service alerts yet; retrying in the background");
        }
        let tasks = [
            tokio::spawn(crate::alerts::reloader(
                alerts.clone(),
                store.pool().clone(),
                shutdown.clone(),
            )),
            tokio::spawn(crate::live::visit_writer(
                store.pool().clone(),
                visits,
                shutdown.clone(),
            )),
            tokio::spawn(crate::live::maintenance(
                live.clone(),
                store.pool().clone(),
                shutdown.clone(),
            )),
            tokio::spawn(crate::live::board_refresher(live.clone(), shutdown.clone())),
            tokio::spawn(crate::live::census_reporter(
                live.clone(),
                metrics.clone(),
                shutdown.clone(),
            )),
        ];
        if config.mqtt.enabled {
            tokio::spawn(crate::mqtt::consume(
                config.mqtt.clone(),
                Validator::new(config.validation.clone()),
                live.clone(),
                metrics,
                shutdown.clone(),
            ));
        }
        *live_handle.lock().unwrap_or_else(|e| e.into_inner()) = Some(live.clone());
        let limiter = RateLimiter::new(config.rate_limit.clone());
        let passenger = tonic::service::interceptor::InterceptedService::new(
            PassengerServiceServer::new(PassengerApi::new(
                info.clone(),
                live.clone(),
                alerts.clone(),
            )),
            limiter.clone().interceptor(),
        );
        let alert_admin = tonic::service::interceptor::InterceptedService::new(
            AlertServiceServer::new(AlertApi::new(store.pool().clone(), alerts.clone())),
            tokens.interceptor(),
        );
        let served = host
            .serve(
                GrpcServices::new().with(passenger).with(alert_admin),
                Some(http::router(limiter, live, alerts)),
                shutdown,
            )
            .await;
        for t in tasks {
            let _ = t.await;
        }
        Ok(served?)
    }
}
