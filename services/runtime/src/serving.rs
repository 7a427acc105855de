//! TCP_NODELAY on every accepted connection, gRPC and HTTP alike.
//!
//! Why TCP_NODELAY: a gRPC answer goes out as several HTTP/2 frames
//! (headers, message, trailers) in separate writes. With Nagle's algorithm
//! on, the kernel holds a small write back until the previous one is
//! acknowledged, and the client delays that ACK by up to 40 ms: the
//! arrivals benchmark answered in 42 ms at the median before this, in about
//! 1 ms after. A listener handed to tonic as a stream does not get tonic's
//! own `tcp_nodelay` setting, hence [`grpc_incoming`].
use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::server::TcpIncoming;

/// The accepted connections of a gRPC listener, with TCP_NODELAY.
pub fn grpc_incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

fn set_nodelay(tcp: &mut TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
    }
}

/// An HTTP listener for `axum::serve` that sets TCP_NODELAY on every
/// connection; handlers still see the client's address.
pub fn http_listener(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(set_nodelay as fn(&mut TcpStream))
}
