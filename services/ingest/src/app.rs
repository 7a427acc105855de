//! Start-up: `Application::build` binds every listener and opens the database,
//! `run_until_stopped` serves until the shutdown signal. Tests use the same path.
use std::{net::SocketAddr, sync::Arc};

use kagoshima_domain::{card_data::CardTokenHasher, validation::Validator};
use kagoshima_proto::v1::ingest_service_server::IngestServiceServer;
use kagoshima_runtime::{
    admin_http, admin_http::Health, auth::TokenSet, serving, shutdown::Shutdown,
};
use kagoshima_storage::Store;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tracing::info;

use crate::{
    api::IngestApi, config::IngestConfig, consumer::Consumer, metrics::IngestMetrics,
    pipeline::Pipeline,
};

/// Why the service could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "card_hash_key is not set: set KAGOSHIMA_CARD_HASH_KEY to a secret of 64 hex digits (e.g. `openssl rand -hex 32`)"
    )]
    MissingCardKey,
    #[error(transparent)]
    WeakCardKey(#[from] kagoshima_domain::card_data::WeakKey),
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
    #[error(transparent)]
    Tls(#[from] kagoshima_runtime::tls::TlsError),
}

/// The card-token hasher from the configured key (hex, or raw text).
pub fn card_hasher(key: &str) -> Result<CardTokenHasher, IngestError> {
    if key.is_empty() {
        return Err(IngestError::MissingCardKey);
    }
    let bytes = match hex::decode(key) {
        Ok(bytes) if key.len() >= 64 => bytes,
        _ => key.as_bytes().to_vec(),
    };
    Ok(CardTokenHasher::new(&bytes)?)
}

pub struct Application {
    config: IngestConfig,
    store: Store,
    pipeline: Pipeline,
    tokens: TokenSet,
    grpc: TcpListener,
    http: TcpListener,
}

impl Application {
    pub async fn build(config: IngestConfig) -> Result<Application, IngestError> {
        let hasher = card_hasher(config.card_hash_key.expose())?;
        let tokens = TokenSet::new(&config.auth.tokens)?;
        // Fail at start, not at the first connection, when TLS is half set up.
        config.tls.grpc()?;
        if tokens.is_empty() {
            tracing::warn!("no ingest tokens configured: every IngestService call will be refused");
        }
        let store = Store::open(
            config.database.url.expose(),
            config.database.max_connections,
        )
        .await?;
        let grpc = config.grpc.bind().await?;
        let http = config.http.bind().await?;
        let pipeline = Pipeline::new(Validator::new(config.validation.clone()), hasher);
        Ok(Application {
            config,
            store,
            pipeline,
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

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> Result<(), IngestError> {
        let mut registry = Registry::default();
        let metrics = IngestMetrics::register(&mut registry);
        let health = Health::default();

        let consumer = Consumer {
            mqtt: self.config.mqtt.clone(),
            batch: self.config.batch.clone(),
            pipeline: self.pipeline.clone(),
            store: self.store.clone(),
            metrics: metrics.clone(),
            health: health.clone(),
        };
        let consumer = tokio::spawn(consumer.run(shutdown.clone()));

        let (_health, health_service, reflection) =
            serving::health_and_reflection::<IngestServiceServer<IngestApi>>(&[
                kagoshima_proto::FILE_DESCRIPTOR_SET,
            ])
            .await?;
        let api = IngestApi::new(self.pipeline.clone(), self.store.clone(), metrics.clone());
        let ingest = tonic::service::interceptor::InterceptedService::new(
            IngestServiceServer::new(api),
            self.tokens.clone().interceptor(),
        );
        info!(grpc = %self.grpc_addr(), http = %self.http_addr(), "ingest serving");
        let grpc_shutdown = shutdown.clone();
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = self.config.tls.grpc()? {
            server = server.tls_config(tls)?;
        }
        let grpc = server
            .add_service(health_service)
            .add_service(reflection)
            .add_service(ingest)
            .serve_with_incoming_shutdown(
                serving::grpc_incoming(self.grpc),
                grpc_shutdown.cancelled_owned(),
            );

        let router = admin_http::router(Arc::new(registry), health);
        let http = kagoshima_runtime::tls::serve_http(
            self.http,
            router,
            &self.config.tls,
            shutdown.clone(),
        );

        let (grpc, http) = tokio::join!(grpc, http);
        // The consumer flushes and acknowledges before it returns.
        let _ = consumer.await;
        grpc?;
        http.map_err(IngestError::Http)?;
        info!("ingest stopped");
        Ok(())
    }
}
