//! Start-up: `Application::build` binds every listener and opens the database,
//! `run_until_stopped` serves until the shutdown signal. Tests use the same path.
use std::net::SocketAddr;

use kagoshima_domain::{card_data::CardTokenHasher, validation::Validator};
use kagoshima_proto::v1::ingest_service_server::IngestServiceServer;
use kagoshima_runtime::{
    auth::TokenSet,
    host::{GrpcServices, Host, ServeError},
    shutdown::Shutdown,
};
use kagoshima_storage::Store;

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
    #[error(transparent)]
    Serve(#[from] ServeError),
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
    host: Host,
    metrics: IngestMetrics,
}

impl Application {
    pub async fn build(config: IngestConfig) -> Result<Application, IngestError> {
        let hasher = card_hasher(config.card_hash_key.expose())?;
        let tokens = TokenSet::new(&config.auth.tokens)?;
        if tokens.is_empty() {
            tracing::warn!("no ingest tokens configured: every IngestService call will be refused");
        }
        let mut host = Host::bind("ingest", Some(&config.grpc), &config.http)
            .await?
            .with_tls(config.tls.clone())?;
        let store = Store::open(
            config.database.url.expose(),
            config.database.max_connections,
        )
        .await?;
        let metrics = IngestMetrics::register(host.registry());
        let pipeline = Pipeline::new(Validator::new(config.validation.clone()), hasher);
        Ok(Application {
            config,
            store,
            pipeline,
            tokens,
            host,
            metrics,
        })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.host.grpc_addr().expect("ingest binds a gRPC port")
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.host.http_addr()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> Result<(), IngestError> {
        let Application {
            config,
            store,
            pipeline,
            tokens,
            mut host,
            metrics,
        } = self;
        store.watch_jobs(&mut host, shutdown.clone());
        let consumer = Consumer {
            mqtt: config.mqtt.clone(),
            batch: config.batch.clone(),
            pipeline: pipeline.clone(),
            store: store.clone(),
            metrics: metrics.clone(),
            health: host.health(),
        };
        let consumer = tokio::spawn(consumer.run(shutdown.clone()));
        let api = IngestApi::new(pipeline, store, metrics);
        let ingest = tonic::service::interceptor::InterceptedService::new(
            IngestServiceServer::new(api),
            tokens.interceptor(),
        );
        let served = host
            .serve(GrpcServices::new().with(ingest), None, shutdown)
            .await;
        // The consumer flushes and acknowledges before it returns.
        let _ = consumer.await;
        Ok(served?)
    }
}
