//! One way to serve a service, written once for all of them: its gRPC
//! services with health and reflection, its HTTP router with the admin
//! endpoints (`/metrics`, `/healthz`), TLS when configured, readiness probes,
//! and a graceful stop on the shutdown signal.
//!
//! - gRPC health follows [`Health`]: every served service (and the server as
//!   a whole, `""`) is SERVING while no component is failing and NOT_SERVING
//!   while one is, so a load balancer or Kubernetes probe sees what
//!   `/healthz` says.
//! - Reflection answers both v1 and v1alpha (grpcurl 1.8 and Python's
//!   grpcio-reflection still ask v1alpha) and lists only the services this
//!   port serves.
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::Router;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, gauge::Gauge},
    registry::Registry,
};
use tokio::net::TcpListener;
use tonic::{
    body::Body,
    server::NamedService,
    service::{Routes, RoutesBuilder},
};
use tonic_health::ServingStatus;

use crate::{
    admin_http::{self, Health},
    serving,
    settings::{BindError, ListenConfig},
    shutdown::Shutdown,
    tls::{TlsConfig, TlsError},
};

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("grpc server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
    #[error("grpc reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("http server failed: {0}")]
    Http(std::io::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// The gRPC services one port serves, with their names for health and
/// reflection.
#[derive(Debug, Default)]
pub struct GrpcServices {
    routes: RoutesBuilder,
    names: Vec<&'static str>,
}

impl GrpcServices {
    pub fn new() -> GrpcServices {
        GrpcServices::default()
    }

    /// Adds a service (an intercepted one keeps its inner service's name).
    pub fn with<S>(mut self, service: S) -> GrpcServices
    where
        S: tower::Service<axum::http::Request<Body>, Error = std::convert::Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        self.routes.add_service(service);
        self
    }
}

/// A service's listeners, metrics registry and health, bound and ready to
/// serve. Built first (so callers learn the bound addresses, port 0 in tests),
/// then [`serve`](Host::serve)d.
pub struct Host {
    name: &'static str,
    grpc: Option<TcpListener>,
    http: TcpListener,
    tls: TlsConfig,
    registry: Registry,
    health: Health,
    dependencies: Family<DependencyLabel, Gauge>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabel {
    dependency: &'static str,
}

impl Host {
    /// Binds the gRPC (when given) and HTTP listeners.
    pub async fn bind(
        name: &'static str,
        grpc: Option<&ListenConfig>,
        http: &ListenConfig,
    ) -> Result<Host, BindError> {
        let grpc = match grpc {
            Some(config) => Some(config.bind().await?),
            None => None,
        };
        let mut registry = Registry::default();
        let dependencies = Family::default();
        registry.register(
            "kagoshima_dependency_up",
            "1 while the last readiness probe of this dependency (database, ...) succeeded",
            dependencies.clone(),
        );
        Ok(Host {
            name,
            grpc,
            http: http.bind().await?,
            tls: TlsConfig::default(),
            registry,
            health: Health::default(),
            dependencies,
        })
    }

    /// Serves both ports over TLS with this certificate and key.
    pub fn with_tls(mut self, tls: TlsConfig) -> Result<Host, TlsError> {
        // Fail at start, not at the first connection, when TLS is half set up.
        tls.grpc()?;
        self.tls = tls;
        Ok(self)
    }

    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .expect("bound listener has an address")
    }

    /// The registry `/metrics` serves; services register their metrics here.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// What `/healthz` and gRPC health report.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Checks a dependency every `every` until shutdown: `component` is
    /// degraded with the probe's error while it fails.
    pub fn probe<F, Fut>(&self, component: &'static str, every: Duration, check: F, stop: Shutdown)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), String>> + Send,
    {
        let health = self.health.clone();
        let up: Gauge = self
            .dependencies
            .get_or_create(&DependencyLabel {
                dependency: component,
            })
            .clone();
        tokio::spawn(async move {
            loop {
                let outcome = check().await;
                up.set(i64::from(outcome.is_ok()));
                match outcome {
                    Ok(()) => health.recover(component),
                    Err(e) => {
                        if health.is_healthy() {
                            tracing::warn!(component, error = %e, "dependency unavailable");
                        }
                        health.degrade(component, e);
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
            }
        });
    }

    /// Serves until `shutdown`: `grpc` (with health and reflection) on the
    /// gRPC port, `http` (if any) merged with `/metrics` and `/healthz` on the
    /// HTTP port.
    pub async fn serve(
        self,
        grpc: GrpcServices,
        http: Option<Router>,
        shutdown: Shutdown,
    ) -> Result<(), ServeError> {
        let Host {
            name,
            grpc: grpc_listener,
            http: http_listener,
            tls,
            registry,
            health,
            dependencies: _,
        } = self;
        let mut registry = registry;
        let grpc_addr = grpc_listener.as_ref().and_then(|l| l.local_addr().ok());
        let http_addr = http_listener.local_addr().ok();
        let grpc_server = match grpc_listener {
            Some(listener) => {
                let routes = with_health_and_reflection(grpc, &health, shutdown.clone())?;
                let mut server = tonic::transport::Server::builder();
                if let Some(config) = tls.grpc()? {
                    server = server.tls_config(config)?;
                }
                let stop = shutdown.clone();
                Some(server.add_routes(routes).serve_with_incoming_shutdown(
                    serving::grpc_incoming(listener),
                    stop.cancelled_owned(),
                ))
            }
            None => None,
        };
        let service_routes =
            crate::http_metrics::instrument(http.unwrap_or_default(), &mut registry);
        let router = admin_http::router(Arc::new(registry), health).merge(service_routes);
        let http_server = crate::tls::serve_http(http_listener, router, &tls, shutdown.clone());
        tracing::info!(service = name, grpc = ?grpc_addr, http = ?http_addr, "serving");
        let (grpc_result, http_result) = tokio::join!(
            async move {
                match grpc_server {
                    Some(server) => server.await,
                    None => Ok(()),
                }
            },
            http_server
        );
        grpc_result?;
        http_result.map_err(ServeError::Http)?;
        tracing::info!(service = name, "stopped");
        Ok(())
    }
}

/// The port's services plus gRPC health (following `health`) and reflection
/// v1 and v1alpha restricted to them.
fn with_health_and_reflection(
    services: GrpcServices,
    health: &Health,
    shutdown: Shutdown,
) -> Result<Routes, ServeError> {
    let GrpcServices { mut routes, names } = services;
    let (reporter, health_service) = tonic_health::server::health_reporter();
    tokio::spawn(follow_health(
        reporter,
        health.watch(),
        names.clone(),
        shutdown,
    ));
    let mut advertised = names;
    advertised.push(tonic_health::pb::health_server::SERVICE_NAME);
    let reflection = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(kagoshima_proto::FILE_DESCRIPTOR_SET);
        for name in &advertised {
            builder = builder.with_service_name(*name);
        }
        builder
    };
    routes
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    Ok(routes.routes())
}

/// Keeps gRPC health equal to `/healthz` until shutdown.
async fn follow_health(
    reporter: tonic_health::server::HealthReporter,
    mut healthy: tokio::sync::watch::Receiver<bool>,
    names: Vec<&'static str>,
    shutdown: Shutdown,
) {
    loop {
        let status = if *healthy.borrow_and_update() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        reporter.set_service_status("", status).await;
        for name in &names {
            reporter.set_service_status(*name, status).await;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = healthy.changed() => if changed.is_err() { return },
        }
    }
}
