//! One shutdown signal for every task of a process.
pub use tokio_util::sync::CancellationToken as Shutdown;

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
pub fn on_signals(shutdown: Shutdown) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!(signal = "interrupt", "shutting down"),
            () = terminate => tracing::info!(signal = "terminate", "shutting down"),
        }
        shutdown.cancel();
    });
}
