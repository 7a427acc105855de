//! The demo's clock. Trams sleep from about 23:00 to 06:00; a demo started
//! then would show an empty city. So the demo may run the sample timetable
//! shifted in time, consistently for every part (the imported feed and the
//! simulated fleet read the same shifted copy): at 03:00 the city looks as it
//! does at 09:00. During service hours the shift is zero.
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kagoshima_domain::calendar::{JST, transit_service_day};

/// Service hours the demo wants to show (since the service day's midnight).
const AWAKE_FROM: i64 = 6 * 3600 + 30 * 60;
const AWAKE_UNTIL: i64 = 22 * 3600;
/// What a sleeping city is shifted to look like.
const SHOW_AS: i64 = 9 * 3600;

/// The service day running now and how far its timetable is shifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoClock {
    pub service_date: NaiveDate,
    /// Added to every timetable time (whole minutes).
    pub shift: Duration,
}

impl DemoClock {
    pub fn at(now: DateTime<Utc>) -> DemoClock {
        let service_date = transit_service_day(now);
        let midnight = service_date
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(JST).single())
            .map_or(now, |t| t.with_timezone(&Utc));
        let seconds = (now - midnight).num_seconds();
        let shift = if (AWAKE_FROM..=AWAKE_UNTIL).contains(&seconds) {
            0
        } else {
            (seconds - SHOW_AS) / 60 * 60
        };
        DemoClock {
            service_date,
            shift: Duration::seconds(shift),
        }
    }

    pub fn is_shifted(&self) -> bool {
        !self.shift.is_zero()
    }
}

/// Copies the GTFS feed at `from` into `to` with every stop time moved by
/// `shift`; returns `to`. Times past midnight stay valid GTFS (`25:10:00`).
pub fn shifted_feed(from: &Path, to: &Path, shift: Duration) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let name = path.file_name().map(PathBuf::from).unwrap_or_default();
        // Frequency-based trips run when frequencies.txt says, their own
        // stop times only giving running times: both files move.
        let columns: &[&str] = match name.to_str() {
            Some("stop_times.txt") => &["arrival_time", "departure_time"],
            Some("frequencies.txt") => &["start_time", "end_time"],
            _ => &[],
        };
        if !columns.is_empty() && !shift.is_zero() {
            shift_times(&path, &to.join(&name), columns, shift)?;
        } else {
            std::fs::copy(&path, to.join(&name))?;
        }
    }
    Ok(to.to_path_buf())
}

/// Copies a CSV file with the times in `columns` moved by `shift`.
fn shift_times(from: &Path, to: &Path, columns: &[&str], shift: Duration) -> anyhow::Result<()> {
    let mut reader = csv::Reader::from_path(from)?;
    let headers = reader.headers()?.clone();
    let time_columns: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| columns.contains(&h.trim_start_matches('\u{feff}')))
        .map(|(i, _)| i)
        .collect();
    let mut writer = csv::Writer::from_path(to)?;
    writer.write_record(&headers)?;
    for record in reader.records() {
        let record = record?;
        let fields: Vec<String> = record
            .iter()
            .enumerate()
            .map(|(i, field)| {
                if time_columns.contains(&i) && !field.is_empty() {
                    shift_time(field, shift)
                } else {
                    Ok(field.to_owned())
                }
            })
            .collect::<anyhow::Result<_>>()?;
        writer.write_record(&fields)?;
    }
    writer.flush()?;
    Ok(())
}

/// `HH:MM:SS` (hours may pass 24) moved by `shift`.
fn shift_time(time: &str, shift: Duration) -> anyhow::Result<String> {
    let seconds = kagoshima_domain::calendar::parse_gtfs_time(time)
        .ok_or_else(|| anyhow::anyhow!("stop time {time:?} is not HH:MM:SS"))?;
    let total = (i64::from(seconds) + shift.num_seconds()).max(0);
    Ok(kagoshima_domain::calendar::gtfs_time(
        u32::try_from(total).unwrap_or(u32::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn no_shift_while_the_city_is_awake() {
        let clock = DemoClock::at(at("2026-11-24T19:10:00+09:00"));
        assert_eq!(
            clock.service_date,
            NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")
        );
        assert!(!clock.is_shifted());
    }

    #[test]
    fn at_night_the_timetable_moves_to_nine_in_the_morning() {
        // 02:00 belongs to the previous service day, 26 h after its midnight.
        let clock = DemoClock::at(at("2026-11-25T02:00:00+09:00"));
        assert_eq!(
            clock.service_date,
            NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")
        );
        assert_eq!(clock.shift, Duration::hours(17));
        assert_eq!(
            shift_time("09:00:00", clock.shift).expect("time"),
            "26:00:00"
        );
    }

    #[test]
    fn a_shifted_feed_moves_stop_times_and_frequencies_alike() {
        let dir = std::env::temp_dir().join(format!("shift-test-{}", std::process::id()));
        let (from, to) = (dir.join("from"), dir.join("to"));
        std::fs::create_dir_all(&from).expect("dir");
        std::fs::write(
            from.join("stop_times.txt"),
            "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nt,07:00:00,07:00:00,a,1\n",
        )
        .expect("write");
        std::fs::write(
            from.join("frequencies.txt"),
            "trip_id,start_time,end_time,headway_secs\nt,06:00:00,09:00:00,600\n",
        )
        .expect("write");
        std::fs::write(from.join("stops.txt"), "stop_id\na\n").expect("write");
        shifted_feed(&from, &to, Duration::hours(2)).expect("shifted");
        let read = |name: &str| std::fs::read_to_string(to.join(name)).expect("read");
        assert!(read("stop_times.txt").contains("t,09:00:00,09:00:00,a,1"));
        assert!(read("frequencies.txt").contains("t,08:00:00,11:00:00,600"));
        assert_eq!(read("stops.txt"), "stop_id\na\n");
        std::fs::remove_dir_all(&dir).ok();
    }
}
