//! TLS for every gRPC and HTTP listener, switched on by one setting: give
//! `tls.cert` and `tls.key` (PEM files) and both protocols serve TLS; leave
//! them out and both serve plain text (behind a TLS-terminating proxy, or on
//! loopback for the demo).
use std::{net::SocketAddr, path::PathBuf, sync::Once, time::Duration};

use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::shutdown::Shutdown;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsConfig {
    /// Certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// Private key (PEM).
    pub key: Option<PathBuf>,
}

/// The certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls needs both tls.cert and tls.key (got only {0})")]
    Incomplete(&'static str),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid certificate or key: {0}")]
    Invalid(String),
}

impl TlsConfig {
    /// Whether TLS is switched on; an error when only one file is given.
    pub fn enabled(&self) -> Result<bool, TlsError> {
        match (&self.cert, &self.key) {
            (Some(_), Some(_)) => Ok(true),
            (None, None) => Ok(false),
            (Some(_), None) => Err(TlsError::Incomplete("tls.cert")),
            (None, Some(_)) => Err(TlsError::Incomplete("tls.key")),
        }
    }

    /// The gRPC server's TLS settings, when TLS is on.
    pub fn grpc(&self) -> Result<Option<tonic::transport::ServerTlsConfig>, TlsError> {
        let (Some(cert), Some(key)) = (&self.cert, &self.key) else {
            self.enabled()?;
            return Ok(None);
        };
        let identity = tonic::transport::Identity::from_pem(read(cert)?, read(key)?);
        Ok(Some(
            tonic::transport::ServerTlsConfig::new().identity(identity),
        ))
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err only when another provider is already installed: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Serves `router` on `listener` until `shutdown`, over TLS when configured.
/// Handlers can read the client's address (`ConnectInfo<SocketAddr>`).
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    tls: &TlsConfig,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let (Some(cert), Some(key)) = (&tls.cert, &tls.key) else {
        tls.enabled().map_err(std::io::Error::other)?;
        return axum::serve(
            crate::serving::http_listener(listener),
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    };
    install_crypto_provider();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    let handle = axum_server::Handle::new();
    tokio::spawn({
        let handle = handle.clone();
        async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(Duration::from_secs(5)));
        }
    });
    axum_server::from_tcp_rustls(listener.into_std()?, config)?
        .handle(handle)
        .serve(router.into_make_service_with_connect_info::<SocketAddr>())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_switch_needs_both_files() {
        assert!(!TlsConfig::default().enabled().expect("off"));
        let half = TlsConfig {
            cert: Some("c.pem".into()),
            key: None,
        };
        assert!(half.enabled().is_err());
        assert!(half.grpc().is_err());
    }
}
