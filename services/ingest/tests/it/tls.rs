//! One switch turns TLS on for both the gRPC and the HTTP listener.
use std::process::Command;

use kagoshima_proto::v1::{UploadEventsRequest, ingest_service_client::IngestServiceClient};
use kagoshima_tests::{TestDb, unique};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::support::{config, filters_for, start, stop};

#[tokio::test]
async fn tls_serves_grpc_and_http_when_switched_on() {
    let dir = std::env::temp_dir().join(unique("kagoshima-tls"));
    std::fs::create_dir_all(&dir).expect("dir");
    // A private CA and a server certificate for localhost signed by it.
    let (ca, ca_key, cert, key, csr) = (
        dir.join("ca.pem"),
        dir.join("ca.key"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("cert.csr"),
    );
    let ext = dir.join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext");
    let openssl = |args: Vec<&std::ffi::OsStr>| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    openssl(vec![
        os("req"),
        os("-x509"),
        os("-newkey"),
        os("rsa:2048"),
        os("-nodes"),
        os("-days"),
        os("1"),
        os("-subj"),
        os("/CN=kagoshima test ca"),
        os("-keyout"),
        ca_key.as_os_str(),
        os("-out"),
        ca.as_os_str(),
    ]);
    openssl(vec![
        os("req"),
        os("-newkey"),
        os("rsa:2048"),
        os("-nodes"),
        os("-subj"),
        os("/CN=localhost"),
        os("-keyout"),
        key.as_os_str(),
        os("-out"),
        csr.as_os_str(),
    ]);
    openssl(vec![
        os("x509"),
        os("-req"),
        os("-in"),
        csr.as_os_str(),
        os("-CA"),
        ca.as_os_str(),
        os("-CAkey"),
        ca_key.as_os_str(),
        os("-CAcreateserial"),
        os("-days"),
        os("1"),
        os("-extfile"),
        ext.as_os_str(),
        os("-out"),
        cert.as_os_str(),
    ]);

    let db = TestDb::new().await;
    let mut cfg = config(&db, filters_for(&[&unique("tram")]));
    cfg.tls.cert = Some(cert.clone());
    cfg.tls.key = Some(key);
    let (grpc, http, shutdown, handle) = start(cfg).await;

    // gRPC over TLS reaches the service (which then wants a token).
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&ca).expect("ca")))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://localhost:{}", grpc.port()))
        .expect("uri")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("tls connection");
    let refused = IngestServiceClient::new(channel)
        .upload_events(UploadEventsRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    // Plain text is not served any more.
    let plain = IngestServiceClient::connect(format!("http://{grpc}")).await;
    if let Ok(mut client) = plain {
        assert!(
            client
                .upload_events(UploadEventsRequest::default())
                .await
                .is_err()
        );
    }

    // HTTP over TLS.
    // Async: the server runs on this test's runtime thread.
    let curl = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
        ])
        .arg(&ca)
        .arg(format!("https://localhost:{}/healthz", http.port()))
        .output()
        .await
        .expect("curl");
    assert_eq!(
        String::from_utf8_lossy(&curl.stdout),
        "200",
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    stop(shutdown, handle).await;
    let _ = std::fs::remove_dir_all(dir);
}
