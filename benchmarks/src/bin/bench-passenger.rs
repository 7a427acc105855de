//! Passenger queries under load (issue #8 a): the location service started
//! in-process against a fresh database with the sample feed, rate limit off,
//! N live vehicles fed through the library path (`Live::ingest`, as the
//! integration tests and the accuracy report do) and kept fresh at 1 Hz,
//! then GetArrivals over gRPC and the passenger JSON API's
//! `/api/stops/{id}/arrivals` over HTTP (the web service, in-process, which
//! asks the location service over gRPC: one hop more than gRPC),
//! closed loop (K clients, each waiting for its answer) and paced (a fixed
//! rate offered, latency counted from the scheduled send time).
//!
//! The load generator runs in the same process and on the same cores as
//! the server: the figures are a floor of what the service does alone.
/// The allocator of the server binaries, for the service running in here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use kagoshima_bench::{median, quantile};
use kagoshima_city::demo_clock::{DemoClock, shifted_feed};
use kagoshima_location::{
    Application, LocationConfig,
    live::{Live, now},
};
use kagoshima_network::{ImportOptions, ImportOutcome, feed, import::Quiet};
use kagoshima_proto::v1::{
    GetArrivalsRequest, ListVehiclesRequest, passenger_service_client::PassengerServiceClient,
};
use kagoshima_runtime::{rate_limit::RateLimitConfig, secret::Secret, shutdown::Shutdown};
use kagoshima_tests::TestDb;
use kagoshima_tracker::{Report, network::day_start};
use tonic::transport::Channel;

/// Passenger queries (arrivals) over gRPC and HTTP with N live vehicles.
#[derive(Debug, Parser)]
struct Args {
    /// Live vehicles fed to the tracker.
    #[arg(long, default_value_t = 2000)]
    vehicles: usize,
    /// Stop asked for: one stop id, or `all` to go round every stop of the
    /// feed (each client starts at a different one).
    #[arg(long, default_value = "tram_tenmonkan_dori")]
    stop: String,
    #[arg(long, default_value = "ja")]
    lang: String,
    /// Clients in flight (closed loop), workers (paced).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// gRPC connections the clients share (HTTP/2 multiplexes the rest).
    #[arg(long, default_value_t = 4)]
    grpc_connections: usize,
    /// Seconds per scenario and run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Requests per second offered in the paced scenarios.
    #[arg(long, default_value_t = 10_000.0)]
    paced_rps: f64,
    /// Position reports per vehicle per second during the runs (0: none).
    #[arg(long, default_value_t = 1.0)]
    feed_hz: f64,
    /// Scenarios, in order: grpc, http, grpc-paced, http-paced.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "grpc,http,grpc-paced,http-paced"
    )]
    scenarios: Vec<String>,
    /// The GTFS feed (default: the sample network).
    #[arg(long)]
    feed: Option<PathBuf>,
}

/// A trip and its stops: (arrival, departure, lat, lon), times in unix seconds.
#[derive(Debug, Clone)]
struct Trip {
    id: String,
    stops: Vec<(f64, f64, f64, f64)>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_runtime::memory::avoid_transparent_huge_pages();
    let args = Args::parse();
    let feed_path = args.feed.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../simulators/feed/kagoshima")
    });

    // Outside service hours the timetable is shifted the way the demo does
    // it, so that the network is as busy as in the day at any hour.
    let clock = DemoClock::at(chrono::Utc::now());
    let shifted_dir =
        std::env::temp_dir().join(format!("bench-passenger-feed-{}", std::process::id()));
    let feed_path = if clock.is_shifted() && args.feed.is_none() {
        println!(
            "the sample network sleeps now: its timetable is shifted by {} min",
            clock.shift.num_minutes()
        );
        shifted_feed(&feed_path, &shifted_dir, clock.shift)?
    } else {
        feed_path
    };

    // A fresh database with the sample feed.
    let t0 = Instant::now();
    let db = TestDb::new().await;
    let feed = feed::load(&feed_path).with_context(|| format!("feed {}", feed_path.display()))?;
    let _ = std::fs::remove_dir_all(&shifted_dir);
    let outcome = kagoshima_network::import(db.pool(), &feed, &ImportOptions::default(), &Quiet)
        .await
        .context("import")?;
    anyhow::ensure!(
        matches!(outcome, ImportOutcome::Imported(_)),
        "feed not imported"
    );
    println!(
        "feed read, checked and imported into database {} in {:.1} s ({} stops, {} trips, {} stop times)",
        db.name,
        t0.elapsed().as_secs_f64(),
        feed.stops.len(),
        feed.trips.len(),
        feed.stop_times.len()
    );
    drop(feed);
    let (rss_before, _) = kagoshima_bench::status_kb(std::process::id())?;
    let t_load = Instant::now();

    let mut config = LocationConfig::default();
    config.database.url = Secret::new(db.url.clone());
    config.database.max_connections = 4;
    config.grpc.listen = "127.0.0.1:0".into();
    config.http.listen = "127.0.0.1:0".into();
    config.rate_limit = RateLimitConfig {
        enabled: false,
        ..RateLimitConfig::default()
    };
    config.mqtt.enabled = false;
    let app = Application::build(config).await?;
    let grpc_addr = app.grpc_addr();
    let handle = app.live_handle();
    let shutdown = Shutdown::new();
    let server = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { app.run_until_stopped(shutdown).await }
    });
    let mut web = kagoshima_web::WebConfig::default();
    web.http.listen = "127.0.0.1:0".into();
    web.passenger_grpc = format!("http://{grpc_addr}");
    web.rate_limit = RateLimitConfig {
        enabled: false,
        ..RateLimitConfig::default()
    };
    let web = kagoshima_web::Application::build(web).await?;
    let http_addr = web.addr();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move { web.run_until_stopped(shutdown).await }
    });
    let live = loop {
        if let Some(l) = handle.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            break l;
        }
        if server.is_finished() {
            bail!("location stopped before serving");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (rss_after, hwm) = kagoshima_bench::status_kb(std::process::id())?;
    println!(
        "location service serving in {:.1} s; resident size {:.0} MB, {:+.0} MB for the network and its boards (peak so far {:.0} MB)",
        t_load.elapsed().as_secs_f64(),
        rss_after / 1024.0,
        (rss_after - rss_before) / 1024.0,
        hwm / 1024.0
    );

    // Live vehicles along the trips running now.
    let trips = running_trips(db.pool()).await?;
    if trips.is_empty() {
        bail!("no trip of the feed runs now: with your own --feed, run during its service hours");
    }
    let fleet: Vec<(String, usize, f64)> = (0..args.vehicles)
        .map(|i| {
            let lag = ((i / trips.len()) as f64 * 7.0) % 180.0;
            (format!("bench-{i:05}"), i % trips.len(), lag)
        })
        .collect();
    let t = now();
    for back in [40.0, 30.0, 20.0, 10.0, 0.0] {
        for (id, trip, lag) in &fleet {
            live.ingest(&report(id, &trips[*trip], t - back, *lag));
        }
    }
    let feeder = (args.feed_hz > 0.0).then(|| {
        tokio::spawn(feed_positions(
            live.clone(),
            trips.clone(),
            fleet.clone(),
            args.feed_hz,
        ))
    });

    let grpc_url = format!("http://{grpc_addr}");
    let mut channels = Vec::new();
    for _ in 0..args.grpc_connections.max(1) {
        channels.push(Channel::from_shared(grpc_url.clone())?.connect().await?);
    }
    let stops: Vec<String> = if args.stop == "all" {
        let network = kagoshima_network::read::snapshot::active(db.pool())
            .await?
            .context("no active feed")?;
        let mut ids: Vec<String> = network.input.stops.into_iter().map(|s| s.stop_id).collect();
        ids.sort();
        ids
    } else {
        vec![args.stop.clone()]
    };
    anyhow::ensure!(!stops.is_empty(), "no stops in the active feed");
    let requests: Vec<GetArrivalsRequest> = stops
        .iter()
        .map(|stop| GetArrivalsRequest {
            stop_id: stop.clone(),
            lang: args.lang.clone(),
            limit: 0,
            route_id: String::new(),
        })
        .collect();
    let paths: Vec<String> = stops
        .iter()
        .map(|stop| format!("/api/stops/{stop}/arrivals?lang={}", args.lang))
        .collect();
    if stops.len() > 1 {
        println!("requests go round {} stops", stops.len());
    }

    // What the answer holds.
    let mut client =
        PassengerServiceClient::new(channels[0].clone()).max_decoding_message_size(256 << 20);
    let listed = client
        .list_vehicles(ListVehiclesRequest {
            route_id: String::new(),
            lang: args.lang.clone(),
        })
        .await?
        .into_inner()
        .vehicles;
    let on_trip = listed
        .iter()
        .filter(|v| !v.stale && !v.trip_id.is_empty())
        .count();
    // What the answers hold: every stop asked once.
    let (mut rows, mut live_rows, mut grpc_bytes, mut http_bytes) = (0, 0, 0, 0);
    for (r, path) in requests.iter().zip(&paths) {
        let answer = client.get_arrivals(r.clone()).await?.into_inner();
        rows += answer.arrivals.len();
        live_rows += answer
            .arrivals
            .iter()
            .filter(|a| !a.vehicle_id.is_empty())
            .count();
        grpc_bytes += prost_len(&answer);
        let (code, body) = http_get_once(http_addr, path).await?;
        anyhow::ensure!(code == 200, "HTTP {code} for {path}");
        http_bytes += body;
    }
    let n = requests.len();
    println!(
        "live state: {} vehicles ({} fresh and on a trip) over {} trips running now; feed {} Hz",
        listed.len(),
        on_trip,
        trips.len(),
        args.feed_hz
    );
    println!(
        "answers for {} ({}), per stop: {:.1} arrivals, {:.1} from live vehicles; gRPC {} bytes, HTTP {} bytes",
        args.stop,
        args.lang,
        rows as f64 / n as f64,
        live_rows as f64 / n as f64,
        grpc_bytes / n,
        http_bytes / n
    );

    // The computation alone, one caller, no transport.
    let per_call = seconds_per_call({
        let live = live.clone();
        let (stops, lang) = (stops.clone(), args.lang.clone());
        // No alert in force: the cost of checking for them is in.
        let alerts = kagoshima_location::alerts::Alerts::default();
        move |n| {
            let _ = live.arrivals(&stops[n % stops.len()], &lang, 0, "", now(), &alerts);
        }
    })
    .await?;
    println!(
        "Live::arrivals in-process: {:.0} µs per call ({:.0} calls/s on one core)",
        per_call * 1e6,
        1.0 / per_call
    );

    // What one position report costs the tracker and the board.
    let per_report = seconds_per_call({
        let (live, trips, fleet) = (live.clone(), trips.clone(), fleet.clone());
        move |n| {
            let (id, trip, lag) = &fleet[n % fleet.len()];
            live.ingest(&report(id, &trips[*trip], now(), *lag));
        }
    })
    .await?;
    println!(
        "Live::ingest in-process: {:.0} µs per report ({:.0} reports/s on one core)",
        per_report * 1e6,
        1.0 / per_report
    );

    let dur = Duration::from_secs(args.seconds);
    let mut results: Vec<(String, Vec<Stats>)> = args
        .scenarios
        .iter()
        .map(|s| (s.clone(), Vec::new()))
        .collect();
    for run in 1..=args.runs {
        for (name, out) in &mut results {
            let paced = name.ends_with("-paced");
            let mut clients = Vec::new();
            for k in 0..args.concurrency {
                clients.push(if name.starts_with("grpc") {
                    Client::Grpc(
                        PassengerServiceClient::new(channels[k % channels.len()].clone()),
                        requests.clone(),
                        k,
                    )
                } else {
                    Client::Http(http_conn(http_addr).await?, paths.clone(), k)
                });
            }
            let stats = drive(clients, dur, paced.then_some(args.paced_rps)).await;
            println!(
                "run {run} {name:<10} c={:<3} {:>8.0} rps  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.1} ms  errors {}",
                args.concurrency, stats.rps, stats.p50, stats.p99, stats.max, stats.errors
            );
            out.push(stats);
        }
    }
    println!();
    println!(
        "| scenario | clients | offered rps | achieved rps | p50 ms | p99 ms | errors | runs |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, runs) in &results {
        let m = |f: fn(&Stats) -> f64| median(runs.iter().map(f).collect());
        let offered = if name.ends_with("-paced") {
            format!("{:.0}", args.paced_rps)
        } else {
            "closed loop".into()
        };
        println!(
            "| {name} | {} | {offered} | {:.0} | {:.2} | {:.2} | {} | {} |",
            args.concurrency,
            m(|s| s.rps),
            m(|s| s.p50),
            m(|s| s.p99),
            runs.iter().map(|s| s.errors).sum::<u64>(),
            runs.len()
        );
    }

    if let Some(f) = feeder {
        f.abort();
    }
    shutdown.cancel();
    drop(channels);
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    drop(db);
    // TestDb drops its database on a thread of its own.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

/// Seconds per call of `call(n)` (n = 0, 1, ...) from one thread of the
/// blocking pool, over 2 s.
async fn seconds_per_call(mut call: impl FnMut(usize) + Send + 'static) -> anyhow::Result<f64> {
    let seconds = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < Duration::from_secs(2) {
            call(n);
            n += 1;
        }
        start.elapsed().as_secs_f64() / n as f64
    })
    .await?;
    Ok(seconds)
}

fn prost_len(m: &kagoshima_proto::v1::GetArrivalsResponse) -> usize {
    use kagoshima_proto::Message as _;
    m.encoded_len()
}

/// Trips of today's services between their first departure and last arrival now.
async fn running_trips(pool: &sqlx::PgPool) -> anyhow::Result<Vec<Trip>> {
    let network = kagoshima_network::read::snapshot::active(pool)
        .await?
        .context("no active feed")?;
    let date = kagoshima_domain::calendar::transit_service_day(chrono::Utc::now());
    let services = kagoshima_network::services_on(pool, network.version, date).await?;
    let input = network.input;
    let running: std::collections::HashSet<&str> = input
        .trips
        .iter()
        .filter(|t| services.service_ids.contains(&t.service_id))
        .map(|t| t.trip_id.as_str())
        .collect();
    let places: std::collections::HashMap<&str, (f64, f64)> = input
        .stops
        .iter()
        .filter(|s| (s.lat, s.lon) != (0.0, 0.0))
        .map(|s| (s.stop_id.as_str(), (s.lat, s.lon)))
        .collect();
    let mut calls: Vec<_> = input
        .stop_times
        .iter()
        .filter(|st| running.contains(st.trip_id.as_str()))
        .collect();
    calls.sort_by(|a, b| (&a.trip_id, a.stop_sequence).cmp(&(&b.trip_id, b.stop_sequence)));
    let rows = calls.into_iter().map(|st| {
        let place = places.get(st.stop_id.as_str());
        (
            st.trip_id.clone(),
            st.arrival_s,
            st.departure_s,
            place.map(|p| p.0),
            place.map(|p| p.1),
        )
    });
    let base = day_start(date);
    let mut trips: Vec<Trip> = Vec::new();
    for (trip, arr, dep, lat, lon) in rows {
        let (Some(lat), Some(lon)) = (lat, lon) else {
            continue;
        };
        let (Some(arr), Some(dep)) = (arr.or(dep), dep.or(arr)) else {
            continue;
        };
        let stop = (base + f64::from(arr), base + f64::from(dep), lat, lon);
        match trips.last_mut() {
            Some(t) if t.id == trip => t.stops.push(stop),
            _ => trips.push(Trip {
                id: trip,
                stops: vec![stop],
            }),
        }
    }
    let t = now();
    Ok(trips
        .into_iter()
        .filter(|tr| {
            let s = &tr.stops;
            s.len() > 1 && s[0].1 <= t && t <= s[s.len() - 1].0
        })
        .collect())
}

/// The report of vehicle `id` at `t`, running `lag` seconds behind `trip`'s timetable.
fn report(id: &str, trip: &Trip, t: f64, lag: f64) -> Report {
    let s = t - lag;
    let stops = &trip.stops;
    let mut at = (stops[stops.len() - 1].2, stops[stops.len() - 1].3);
    if s <= stops[0].1 {
        at = (stops[0].2, stops[0].3);
    } else {
        for w in stops.windows(2) {
            let (a, b) = (w[0], w[1]);
            if s <= a.1 {
                at = (a.2, a.3);
                break;
            }
            if s < b.0 {
                let u = (s - a.1) / (b.0 - a.1).max(1.0);
                at = (a.2 + (b.2 - a.2) * u, a.3 + (b.3 - a.3) * u);
                break;
            }
        }
    }
    Report {
        vehicle_id: id.to_owned(),
        recorded_at: t,
        received_at: t,
        lat: at.0,
        lon: at.1,
        bearing: None,
        speed: Some(6.0),
        trip_id: Some(trip.id.clone()),
        route_id: None,
    }
}

/// Every vehicle reports `hz` times a second, spread evenly over 20 slices.
async fn feed_positions(live: Live, trips: Vec<Trip>, fleet: Vec<(String, usize, f64)>, hz: f64) {
    const SLICES: usize = 20;
    let period = Duration::from_secs_f64(1.0 / hz / SLICES as f64);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut k = 0usize;
    loop {
        tick.tick().await;
        let t = now();
        for (id, trip, lag) in fleet.iter().skip(k % SLICES).step_by(SLICES) {
            live.ingest(&report(id, &trips[*trip], t, *lag));
            // As the MQTT consumer does between messages.
            tokio::task::yield_now().await;
        }
        k += 1;
    }
}

#[derive(Debug, Clone, Copy)]
struct Stats {
    rps: f64,
    p50: f64,
    p99: f64,
    max: f64,
    errors: u64,
}

/// A client with the requests it goes round and where it is in them.
enum Client {
    Grpc(
        PassengerServiceClient<Channel>,
        Vec<GetArrivalsRequest>,
        usize,
    ),
    Http(SendRequest<Empty<Bytes>>, Vec<String>, usize),
}

impl Client {
    async fn call(&mut self) -> bool {
        match self {
            Client::Grpc(c, requests, k) => {
                *k += 1;
                let r = requests[*k % requests.len()].clone();
                c.get_arrivals(r).await.is_ok()
            }
            Client::Http(s, paths, k) => {
                *k += 1;
                http_get(s, &paths[*k % paths.len()]).await.is_ok()
            }
        }
    }
}

/// Runs the clients for `dur`: closed loop, or paced at `rate` requests per
/// second over all of them (latency from each request's scheduled time).
async fn drive(clients: Vec<Client>, dur: Duration, rate: Option<f64>) -> Stats {
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + dur;
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let next = next.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0u64;
                tokio::time::sleep_until(start.into()).await;
                loop {
                    let t0 = match rate {
                        None => Instant::now(),
                        Some(rate) => {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let at = start + Duration::from_secs_f64(i as f64 / rate);
                            tokio::time::sleep_until(at.into()).await;
                            at
                        }
                    };
                    // Nothing is sent after the window (a backlog is not worked off).
                    if t0 >= end || Instant::now() >= end {
                        break;
                    }
                    if client.call().await {
                        lat.push(t0.elapsed().as_secs_f64() * 1e3);
                    } else {
                        errors += 1;
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Stats {
        rps: all.len() as f64 / elapsed,
        p50: quantile(&all, 0.5),
        p99: quantile(&all, 0.99),
        max: all.last().copied().unwrap_or(f64::NAN),
        errors,
    }
}

async fn http_conn(addr: SocketAddr) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// One GET on a keep-alive connection: the body's length, or an error unless 200.
async fn http_get(sender: &mut SendRequest<Empty<Bytes>>, path: &str) -> anyhow::Result<usize> {
    sender.ready().await?;
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, "127.0.0.1")
        .body(Empty::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    anyhow::ensure!(status == hyper::StatusCode::OK, "HTTP {status}");
    Ok(body.len())
}

async fn http_get_once(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, usize)> {
    let mut s = http_conn(addr).await?;
    s.ready().await?;
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, "127.0.0.1")
        .body(Empty::new())?;
    let response = s.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body.len()))
}
