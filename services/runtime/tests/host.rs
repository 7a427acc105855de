//! The one service builder: gRPC health follows real readiness, reflection
//! lists only what the port serves, and `/healthz` says the same as gRPC.
use std::time::Duration;

use kagoshima_runtime::{
    host::{GrpcServices, Host},
    settings::ListenConfig,
    shutdown::Shutdown,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

async fn started() -> (std::net::SocketAddr, std::net::SocketAddr, Host) {
    let any = ListenConfig::on("127.0.0.1:0");
    let host = Host::bind("test", Some(&any), &any).await.expect("binds");
    (
        host.grpc_addr().expect("a grpc port"),
        host.http_addr(),
        host,
    )
}

async fn channel(addr: std::net::SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("an endpoint")
        .connect()
        .await
        .expect("grpc connects")
}

async fn grpc_status(addr: std::net::SocketAddr) -> ServingStatus {
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel(addr).await);
    let response = client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers");
    response.into_inner().status()
}

async fn healthz(addr: std::net::SocketAddr) -> String {
    http_get(addr, "/healthz").await
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("http");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reply");
    response
}

async fn until(mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition never held");
}

#[tokio::test]
async fn grpc_health_follows_the_readiness_probes() {
    let (grpc, http, host) = started().await;
    let health = host.health();
    let stop = Shutdown::new();
    let serving = tokio::spawn(host.serve(GrpcServices::new(), None, stop.clone()));

    until(async || grpc_status(grpc).await == ServingStatus::Serving).await;
    assert!(healthz(http).await.starts_with("HTTP/1.1 200"));

    health.degrade("database", "connection refused");
    until(async || grpc_status(grpc).await == ServingStatus::NotServing).await;
    let body = healthz(http).await;
    assert!(body.starts_with("HTTP/1.1 503"), "{body}");
    assert!(body.contains("connection refused"), "{body}");

    health.recover("database");
    until(async || grpc_status(grpc).await == ServingStatus::Serving).await;

    stop.cancel();
    serving.await.expect("joins").expect("stops cleanly");
}

#[tokio::test]
async fn a_failing_probe_degrades_and_a_passing_one_recovers() {
    let (grpc, http, host) = started().await;
    let stop = Shutdown::new();
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe_up = up.clone();
    host.probe(
        "broker",
        Duration::from_millis(20),
        move || {
            let up = probe_up.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                if up {
                    Ok(())
                } else {
                    Err("broker down".to_owned())
                }
            }
        },
        stop.clone(),
    );
    let serving = tokio::spawn(host.serve(GrpcServices::new(), None, stop.clone()));
    let metric = async |value: &str| {
        http_get(http, "/metrics").await.contains(&format!(
            "kagoshima_dependency_up{{dependency=\"broker\"}} {value}"
        ))
    };
    until(async || grpc_status(grpc).await == ServingStatus::NotServing).await;
    until(async || metric("0").await).await;
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    until(async || grpc_status(grpc).await == ServingStatus::Serving).await;
    until(async || metric("1").await).await;
    stop.cancel();
    serving.await.expect("joins").expect("stops cleanly");
}

#[tokio::test]
async fn reflection_v1alpha_lists_only_what_the_port_serves() {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let (grpc, _http, host) = started().await;
    let stop = Shutdown::new();
    let serving = tokio::spawn(host.serve(GrpcServices::new(), None, stop.clone()));
    let mut client = ServerReflectionClient::new(channel(grpc).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1alpha reflection answers")
        .into_inner();
    let response = responses.message().await.expect("a reply").expect("one");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a list of services");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    // The proto descriptors of every service are registered, but a port
    // advertises only the services it answers.
    assert_eq!(names, vec!["grpc.health.v1.Health".to_owned()]);
    stop.cancel();
    serving.await.expect("joins").expect("stops cleanly");
}
