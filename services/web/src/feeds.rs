//! The data feeds' health, read from the ingest service's Prometheus
//! endpoint over HTTP (IndicatorService has no method for it): messages
//! received and stored by kind, dead letters by reason, the mean delay from
//! a device's clock to the stored row, messages waiting, broker connection.
use std::{collections::BTreeMap, time::Duration};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, body::Bytes};
use hyper_util::rt::TokioIo;
use serde::Serialize;

const TIMEOUT: Duration = Duration::from_secs(3);
const MAX_BODY: usize = 4 << 20;

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct FeedHealth {
    /// Always `ingest_metrics`.
    pub source: &'static str,
    pub url: String,
    pub reachable: bool,
    /// Why the endpoint could not be read.
    pub error: Option<String>,
    pub received: BTreeMap<String, f64>,
    pub stored: BTreeMap<String, f64>,
    pub dead_letters: BTreeMap<String, f64>,
    pub dead_letters_total: f64,
    /// Mean seconds from a device's timestamp to the commit of its row, since start.
    pub ingest_lag_seconds: Option<f64>,
    pub pending: Option<f64>,
    pub mqtt_connected: Option<bool>,
    pub write_errors: Option<f64>,
    /// TimescaleDB background jobs whose last run failed, as
    /// `proc_name on hypertable (job id)`.
    pub failing_jobs: Vec<String>,
}

/// Reads and summarises `url`; never fails (an unreachable endpoint is a finding).
pub async fn read(url: &str) -> FeedHealth {
    let mut health = FeedHealth {
        source: "ingest_metrics",
        url: url.to_owned(),
        ..FeedHealth::default()
    };
    match tokio::time::timeout(TIMEOUT, get(url)).await {
        Ok(Ok(body)) => {
            health.reachable = true;
            summarise(&body, &mut health);
        }
        Ok(Err(e)) => health.error = Some(e),
        Err(_) => health.error = Some(format!("no answer within {}s", TIMEOUT.as_secs())),
    }
    health
}

async fn get(url: &str) -> Result<String, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("invalid url: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// metrics urls are supported".into());
    }
    let host = uri.host().ok_or("url without a host")?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("http handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or(host);
    let request = Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(hyper::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_bytes();
    String::from_utf8(body.to_vec()).map_err(|_| "the body is not UTF-8".into())
}

/// One sample line: name, labels, value.
fn parse_line(line: &str) -> Option<(&str, BTreeMap<&str, &str>, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (series, rest) = match line.find('{') {
        Some(_) => {
            let close = line.rfind('}')?;
            (&line[..close + 1], &line[close + 1..])
        }
        None => line.split_at(line.find(' ')?),
    };
    let value: f64 = rest.split_whitespace().next()?.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, labels)) => {
            let labels = labels.trim_end_matches('}');
            let map = labels
                .split(',')
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    Some((k.trim(), v.trim().trim_matches('"')))
                })
                .collect();
            (name, map)
        }
        None => (series, BTreeMap::new()),
    };
    Some((name, labels, value))
}

pub fn summarise(text: &str, h: &mut FeedHealth) {
    let (mut lag_sum, mut lag_count) = (None, None);
    for (name, labels, value) in text.lines().filter_map(parse_line) {
        let label = |k: &str| labels.get(k).map(|v| (*v).to_owned()).unwrap_or_default();
        match name {
            "kagoshima_ingest_received_total" => {
                *h.received.entry(label("kind")).or_default() += value;
            }
            "kagoshima_ingest_stored_total" => {
                *h.stored.entry(label("kind")).or_default() += value;
            }
            "kagoshima_ingest_dead_lettered_total" => {
                *h.dead_letters.entry(label("reason")).or_default() += value;
                h.dead_letters_total += value;
            }
            "kagoshima_ingest_store_lag_seconds_sum" => lag_sum = Some(value),
            "kagoshima_ingest_store_lag_seconds_count" => lag_count = Some(value),
            "kagoshima_ingest_pending" => h.pending = Some(value),
            "kagoshima_ingest_mqtt_connected" => h.mqtt_connected = Some(value >= 1.0),
            "kagoshima_ingest_write_errors_total" => h.write_errors = Some(value),
            "kagoshima_database_job_failing" if value >= 1.0 => {
                let table = label("hypertable");
                h.failing_jobs.push(format!(
                    "{} on {} (job {})",
                    label("proc_name"),
                    if table.is_empty() {
                        "the database".into()
                    } else {
                        table
                    },
                    label("job_id")
                ));
            }
            _ => {}
        }
    }
    if let (Some(sum), Some(count)) = (lag_sum, lag_count)
        && count > 0.0
    {
        h.ingest_lag_seconds = Some((sum / count * 1000.0).round() / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ingest_metrics() {
        let text = r#"# HELP kagoshima_ingest_received Messages received, by kind.
# TYPE kagoshima_ingest_received counter
kagoshima_ingest_received_total{kind="position"} 120
kagoshima_ingest_received_total{kind="tap"} 30
kagoshima_ingest_stored_total{kind="position"} 118
kagoshima_ingest_dead_lettered_total{reason="card_number"} 1
kagoshima_ingest_dead_lettered_total{reason="bad_topic"} 2
kagoshima_ingest_store_lag_seconds_sum 30.0
kagoshima_ingest_store_lag_seconds_count 120
kagoshima_ingest_store_lag_seconds_bucket{le="0.01"} 3
kagoshima_ingest_pending 4
kagoshima_ingest_mqtt_connected 1
kagoshima_database_job_failing{job_id="1000",proc_name="policy_compression",hypertable="vehicle_positions"} 1
kagoshima_database_job_failing{job_id="1002",proc_name="policy_retention",hypertable="vehicle_positions"} 0
# EOF
"#;
        let mut h = FeedHealth::default();
        summarise(text, &mut h);
        assert_eq!(h.received.get("position"), Some(&120.0));
        assert_eq!(h.stored.get("position"), Some(&118.0));
        assert_eq!(h.dead_letters_total, 3.0);
        assert_eq!(h.ingest_lag_seconds, Some(0.25));
        assert_eq!(h.pending, Some(4.0));
        assert_eq!(h.mqtt_connected, Some(true));
        assert_eq!(
            h.failing_jobs,
            ["policy_compression on vehicle_positions (job 1000)"]
        );
    }
}
