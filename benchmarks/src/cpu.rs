//! CPU time spent by the processes of a run, from `/proc`: what each
//! consumer costs per message, with its PostgreSQL sessions, and how busy the
//! broker was. Throughput alone cannot tell consumers apart when the broker
//! bounds them all; CPU seconds per message can.
use std::{collections::HashMap, time::Duration};

use sqlx::PgPool;

/// The `application_name` a consumer's database sessions carry, so that
/// their server processes can be told from the harness's own.
pub const CONSUMER_APPLICATION: &str = "bench-consumer";

/// Linux reports `utime` and `stime` in USER_HZ ticks, fixed at 100 on every
/// architecture for the user-space ABI.
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time of all threads of process `pid` so far, or
/// `None` once it has gone.
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&stat)
}

/// `utime` + `stime` (fields 14 and 15) from a `/proc/<pid>/stat` line. The
/// command name (field 2) is in parentheses and may hold spaces, so fields
/// are counted from its closing parenthesis.
fn parse_stat_cpu(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

/// The server processes of the consumer's database sessions.
pub async fn consumer_backends(pool: &PgPool) -> anyhow::Result<Vec<u32>> {
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
          WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(CONSUMER_APPLICATION)
    .fetch_all(pool)
    .await?;
    Ok(pids
        .into_iter()
        .filter_map(|p| u32::try_from(p).ok())
        .collect())
}

/// `url` with the consumer's `application_name` added.
pub fn consumer_url(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={CONSUMER_APPLICATION}")
}

/// CPU time of a set of processes at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot(HashMap<u32, Duration>);

impl Snapshot {
    pub fn take(pids: impl IntoIterator<Item = u32>) -> Snapshot {
        Snapshot(
            pids.into_iter()
                .filter_map(|pid| Some((pid, process_cpu(pid)?)))
                .collect(),
        )
    }

    /// CPU spent between `earlier` and this snapshot by the processes of
    /// this one (a process absent earlier counts from its start).
    pub fn since(&self, earlier: &Snapshot) -> Duration {
        self.0
            .iter()
            .map(|(pid, now)| now.saturating_sub(earlier.0.get(pid).copied().unwrap_or_default()))
            .sum()
    }
}

/// Where a run's CPU went while the messages flowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// The consumer's own process.
    pub consumer: Duration,
    /// The PostgreSQL server processes of its sessions.
    pub database: Duration,
    /// The broker.
    pub broker: Duration,
    /// This harness: the load generator and the pollers (and, in the
    /// broker-alone runs, the plain subscriber).
    pub harness: Duration,
}

impl CpuUse {
    /// Consumer plus its database sessions: the cost of ingesting.
    pub fn ingesting(&self) -> Duration {
        self.consumer + self.database
    }

    /// Everything measured: the share of the machine's cores it used over
    /// `elapsed` tells whether the run was bound by the machine as a whole.
    pub fn total(&self) -> Duration {
        self.consumer + self.database + self.broker + self.harness
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_past_a_command_name_with_spaces() {
        let line = "4242 (node red) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 37 0 0 20 0 11 0";
        assert_eq!(parse_stat_cpu(line), Some(Duration::from_millis(2_870)));
        assert_eq!(parse_stat_cpu("4242 (x) S 1"), None);
    }

    #[test]
    fn this_process_has_spent_some_cpu() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(0u64);
        }
        let cpu = process_cpu(std::process::id()).expect("own /proc entry");
        assert!(cpu >= Duration::from_millis(10), "{cpu:?}");
    }

    #[test]
    fn snapshots_count_only_what_was_spent_in_between() {
        let a = Snapshot(HashMap::from([(1, Duration::from_secs(5))]));
        let b = Snapshot(HashMap::from([
            (1, Duration::from_secs(7)),
            (2, Duration::from_secs(1)),
        ]));
        assert_eq!(b.since(&a), Duration::from_secs(3));
        assert_eq!(
            consumer_url("postgres://h/db"),
            "postgres://h/db?application_name=bench-consumer"
        );
        assert_eq!(
            consumer_url("postgres://h/db?x=1"),
            "postgres://h/db?x=1&application_name=bench-consumer"
        );
    }
}
