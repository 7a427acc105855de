//! Memory (issue #8 b): the resident size of the all-in-one binary
//! (`kagoshima-city demo --no-simulator`, with its embedded broker and a
//! private PostgreSQL in a fresh data folder) idle, then after
//! `kagoshima-sim load` has published N vehicles at 1 Hz for 20 s, for
//! growing N in the same process (the load's vehicle ids are a prefix of
//! the next step's, so after each step the live state holds exactly N).
//! VmRSS and VmHWM come from /proc/<pid>/status. The private PostgreSQL is
//! started through pg_ctl (a daemon of its own), so it is not in these figures.
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Parser;
use kagoshima_bench::median;
use kagoshima_proto::v1::{ListVehiclesRequest, passenger_service_client::PassengerServiceClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Resident size of `kagoshima-city demo` with N vehicles publishing.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "target/release/kagoshima-city")]
    city: PathBuf,
    #[arg(long, default_value = "target/release/kagoshima-sim")]
    sim: PathBuf,
    /// Vehicle counts, ascending.
    #[arg(long, value_delimiter = ',', default_value = "55,2000,60000")]
    vehicles: Vec<usize>,
    #[arg(long, default_value_t = 1.0)]
    hz: f64,
    /// Seconds of load per step.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// MQTT connections of the load.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Seconds to wait after each step before reading the sizes.
    #[arg(long, default_value_t = 3)]
    settle: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where the fresh data folders go (removed after each run).
    #[arg(long, default_value = "target/bench-memory")]
    work_dir: PathBuf,
    #[arg(long, default_value = "simulators/feed/kagoshima")]
    feed: PathBuf,
}

#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    rss_mb: f64,
    hwm_mb: f64,
    listed: usize,
    on_trip: usize,
    load_rate: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    for bin in [&args.city, &args.sim] {
        anyhow::ensure!(
            bin.exists(),
            "{} missing: cargo build --release -p kagoshima-city -p kagoshima-sim",
            bin.display()
        );
    }
    let steps: Vec<usize> = std::iter::once(0)
        .chain(args.vehicles.iter().copied())
        .collect();
    let mut all: Vec<Vec<Sample>> = vec![Vec::new(); steps.len()];
    for run in 1..=args.runs {
        let samples = one_run(&args, run, &steps).await?;
        for (i, s) in samples.into_iter().enumerate() {
            all[i].push(s);
        }
    }
    println!();
    println!(
        "| vehicles | VmRSS MB | VmHWM MB | vehicles listed by location | on a trip | load acked msg/s | runs |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (n, runs) in steps.iter().zip(&all) {
        let m = |f: fn(&Sample) -> f64| median(runs.iter().map(f).collect());
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} |",
            if *n == 0 {
                "0 (idle)".to_owned()
            } else {
                n.to_string()
            },
            m(|s| s.rss_mb),
            m(|s| s.hwm_mb),
            m(|s| s.listed as f64),
            m(|s| s.on_trip as f64),
            if *n == 0 {
                "-".to_owned()
            } else {
                format!("{:.0}", m(|s| s.load_rate))
            },
            runs.len()
        );
    }
    Ok(())
}

async fn one_run(args: &Args, run: usize, steps: &[usize]) -> anyhow::Result<Vec<Sample>> {
    let data_dir = args
        .work_dir
        .join(format!("run-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let data_dir = data_dir.canonicalize()?;
    let feed = args.feed.canonicalize().context("feed folder")?;
    let mqtt_port = free_port()?;
    let postgres_port = free_port()?;
    let web_port = free_port()?;
    let grpc_port = free_base()?;
    let log = std::fs::File::create(data_dir.join("demo.log"))?;
    let mut cmd = Command::new(&args.city);
    cmd.arg("demo")
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--feed")
        .arg(&feed)
        .args(["--mqtt-port", &mqtt_port.to_string()])
        .args(["--postgres-port", &postgres_port.to_string()])
        .args(["--grpc-port", &grpc_port.to_string()])
        .args(["--web-port", &web_port.to_string()])
        .arg("--no-simulator")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    println!(
        "run {run}: {} --data-dir {} --feed {} --mqtt-port {mqtt_port} --postgres-port {postgres_port} --grpc-port {grpc_port} --web-port {web_port} --no-simulator",
        args.city.display(),
        data_dir.display(),
        feed.display()
    );
    let started = Instant::now();
    let mut demo = cmd.spawn().context("starting the demo")?;
    let result = measure(args, &mut demo, steps, mqtt_port, grpc_port, started).await;
    // SIGTERM, then wait for a clean stop (it stops its PostgreSQL too).
    let pid = demo.id();
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let stop = Instant::now();
    let status = loop {
        if let Some(s) = demo.try_wait()? {
            break Some(s);
        }
        if stop.elapsed() > Duration::from_secs(60) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    match status {
        Some(s) => println!(
            "run {run}: SIGTERM -> exited {s} in {:.1} s",
            stop.elapsed().as_secs_f64()
        ),
        None => {
            println!("run {run}: did not stop within 60 s of SIGTERM; killing it");
            let _ = demo.kill();
            let _ = demo.wait();
        }
    }
    match &result {
        Ok(_) => {
            let _ = std::fs::remove_dir_all(&data_dir);
        }
        Err(_) => println!("run {run}: the log stays in {}", data_dir.display()),
    }
    result
}

async fn measure(
    args: &Args,
    demo: &mut Child,
    steps: &[usize],
    mqtt_port: u16,
    grpc_port: u16,
    started: Instant,
) -> anyhow::Result<Vec<Sample>> {
    let pid = demo.id();
    let health = format!("127.0.0.1:{}", grpc_port + 1001);
    loop {
        if let Some(s) = demo.try_wait()? {
            bail!("the demo exited during start-up: {s}");
        }
        if started.elapsed() > Duration::from_secs(240) {
            bail!("the demo was not healthy within 240 s");
        }
        if http_status(&health, "/healthz").await == Some(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("  healthy after {:.1} s", started.elapsed().as_secs_f64());
    let passenger = format!("http://127.0.0.1:{}", grpc_port + 1);
    let mut client = PassengerServiceClient::connect(passenger)
        .await?
        .max_decoding_message_size(512 << 20);
    let mut out = Vec::new();
    for &n in steps {
        let mut load_rate = 0.0;
        if n > 0 {
            let line = Command::new(&args.sim)
                .arg("load")
                .args(["--vehicles", &n.to_string()])
                .args(["--hz", &args.hz.to_string()])
                .args(["--duration", &args.duration.to_string()])
                .args(["--connections", &args.connections.to_string()])
                .args(["--mqtt", &format!("127.0.0.1:{mqtt_port}")])
                .output()
                .context("kagoshima-sim load")?;
            let text = String::from_utf8_lossy(&line.stdout);
            anyhow::ensure!(
                line.status.success(),
                "kagoshima-sim load failed: {}{}",
                text,
                String::from_utf8_lossy(&line.stderr)
            );
            println!("  {}", text.trim());
            load_rate = text
                .split(" msg/s (asked")
                .next()
                .and_then(|s| s.rsplit("= ").next())
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(f64::NAN);
        }
        tokio::time::sleep(Duration::from_secs(args.settle)).await;
        let (rss, hwm) = kagoshima_bench::status_kb(pid)?;
        let vehicles = client
            .list_vehicles(ListVehiclesRequest {
                route_id: String::new(),
                lang: "ja".into(),
            })
            .await?
            .into_inner()
            .vehicles;
        let sample = Sample {
            rss_mb: rss / 1024.0,
            hwm_mb: hwm / 1024.0,
            listed: vehicles.len(),
            on_trip: vehicles.iter().filter(|v| !v.trip_id.is_empty()).count(),
            load_rate,
        };
        println!(
            "  N={n}: VmRSS {:.0} MB, VmHWM {:.0} MB, location lists {} vehicles ({} on a trip)",
            sample.rss_mb, sample.hwm_mb, sample.listed, sample.on_trip
        );
        out.push(sample);
    }
    Ok(out)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A port p with p..=p+2 and p+1000..=p+1002 free (the demo's service ports).
fn free_base() -> anyhow::Result<u16> {
    for _ in 0..200 {
        let p = free_port()?;
        if p > 64_000 {
            continue;
        }
        let all = [p, p + 1, p + 2, p + 1000, p + 1001, p + 1002];
        if all
            .iter()
            .all(|q| std::net::TcpListener::bind(("127.0.0.1", *q)).is_ok())
        {
            return Ok(p);
        }
    }
    bail!("no free port range for the demo's services")
}

/// The status code of GET `path` on `addr`, if it answers.
async fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf))
        .await
        .ok()?
        .ok()?;
    String::from_utf8_lossy(&buf)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
