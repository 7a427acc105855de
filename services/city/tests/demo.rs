//! The demo command starts from a clean state, serves within a bounded time,
//! and stops cleanly on SIGTERM, with no ERROR in its log.
use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use kagoshima_tests::{free_port, unique};

/// A cold start (initdb, migrations, feed import) on this 2-core machine takes
/// a few seconds; the bound leaves room for a loaded CI machine.
const START_BOUND: Duration = Duration::from_secs(90);

async fn get(url: &str) -> Option<(u16, String)> {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "--max-time", "2", "-w", "\n%{http_code}", url])
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n')?;
    Some((code.parse().ok()?, body.to_owned()))
}

#[tokio::test]
async fn the_demo_starts_clean_serves_in_bounded_time_and_stops_on_sigterm() {
    let data = std::env::temp_dir().join(unique("kagoshima-demo"));
    let web = free_port();
    // Ports base+1000.. must be free too: pick a base whose block is unused.
    let base = loop {
        let candidate = 20000 + (free_port() % 20000);
        if [0u16, 1, 2, 1000, 1001, 1002]
            .iter()
            .all(|o| std::net::TcpListener::bind(("127.0.0.1", candidate + o)).is_ok())
        {
            break candidate;
        }
    };
    std::fs::create_dir_all(&data).expect("data folder");
    let log_path = std::env::temp_dir().join(unique("kagoshima-demo-log"));
    let log = std::fs::File::create(&log_path).expect("log file");
    let started = Instant::now();
    let mut demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_kagoshima-city"))
        .args(["demo", "--no-history", "--data-dir"])
        .arg(&data)
        .args(["--mqtt-port", &free_port().to_string()])
        .args(["--postgres-port", &free_port().to_string()])
        .args(["--grpc-port", &base.to_string()])
        .args(["--web-port", &web.to_string()])
        .args([
            "--feed",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../simulators/feed/kagoshima"
            ),
        ])
        .env_remove("DATABASE_URL")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::from(log.try_clone().expect("log file")))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start the demo");

    let search = format!("http://127.0.0.1:{web}/api/stops/search?q=tenmonkan&lang=en");
    loop {
        if let Some((200, body)) = get(&search).await {
            assert!(body.contains("tram_tenmonkan_dori"), "{body}");
            break;
        }
        assert!(
            started.elapsed() < START_BOUND,
            "the demo did not serve within {START_BOUND:?}"
        );
        assert!(
            demo.try_wait().expect("status").is_none(),
            "the demo exited early"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let serving_after = started.elapsed();
    assert_eq!(
        get(&format!("http://127.0.0.1:{web}/")).await.map(|r| r.0),
        Some(200)
    );

    let pid = demo.id().expect("pid").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), demo.wait())
        .await
        .expect("the demo stops within 30 s of SIGTERM")
        .expect("exit status");
    assert!(exit.success(), "the demo exited with {exit}");
    eprintln!("demo served after {serving_after:?}");
    let log = std::fs::read_to_string(&log_path).expect("the demo's log");
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors.is_empty(),
        "a clean start and stop logged errors:\n{}",
        errors.join("\n")
    );
    assert!(log.contains("demo stopped"), "{log}");
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_file(&log_path);
}
