//! Arrivals at a stop, in minutes.
//!
//! From PassengerService.GetArrivals (live predictions, scheduled-only trips
//! marked `"realtime": false`), and for signage its StreamArrivals stream.
//! When the location service answers UNIMPLEMENTED (an older version), the
//! answer is the timetable: the next departures from GetStopTimetable, read
//! at most once per [`TIMETABLE_TTL`] and language, since GetStopTimetable
//! counts a lookup of the stop (plan indicator No. 56 ①) and signage
//! refreshing every few seconds must not inflate it.
use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::response::sse::Event;
use chrono::{DateTime, FixedOffset, NaiveDate, Timelike, Utc};
use futures::{Stream, StreamExt, stream};
use kagoshima_proto::{
    Timestamp,
    v1::{
        ArrivalStatus, Departure, GetArrivalsRequest, GetArrivalsResponse, GetStopTimetableRequest,
        Occupancy, StepFree, StreamArrivalsRequest,
    },
};
use serde::Serialize;

use crate::{
    app::AppState,
    error::ApiError,
    passenger::{Name, given, mode_name},
    upstream::ClientIp,
};

pub const TIMETABLE_TTL: Duration = Duration::from_secs(600);
/// Arrivals shown at most: the rows of a portrait sign (signage.css).
pub const MAX_ARRIVALS: usize = 10;
/// Departures up to this far ahead.
pub const HORIZON_MINUTES: i64 = 90;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Arrivals {
    pub stop_id: String,
    pub stop_name: Name,
    pub lang: String,
    /// `timetable` (scheduled times) or `live` (predictions).
    pub source: &'static str,
    /// When this answer was made (UTC, RFC 3339).
    pub generated_at: String,
    /// Japan time of `generated_at`, "HH:MM".
    pub local_time: String,
    pub arrivals: Vec<Arrival>,
    /// Service alerts in force about this stop or its routes (and those that
    /// took a trip off the list), in `lang` (else English, else Japanese).
    pub alerts: Vec<AlertNote>,
}

/// A service alert as a page shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertNote {
    pub id: String,
    /// GTFS-Realtime's effect in lower case: `no_service`, `detour`,
    /// `significant_delays`, …
    pub effect: String,
    /// GTFS-Realtime's cause in lower case: `weather`, `construction`, …
    pub cause: String,
    pub header: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl AlertNote {
    fn of(a: kagoshima_proto::v1::ServiceAlert) -> Option<AlertNote> {
        let d = a.alert?;
        let text = |t: &kagoshima_proto::v1::AlertText| Name {
            lang: t.lang.clone(),
            text: t.text.clone(),
        };
        Some(AlertNote {
            id: a.alert_id,
            effect: crate::alerts::effect_name(d.effect),
            cause: crate::alerts::cause_name(d.cause),
            header: d.header.first().map(text)?,
            description: d.description.first().map(text),
            url: Some(d.url).filter(|u| !u.is_empty()),
        })
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Arrival {
    pub trip_id: String,
    pub route_id: String,
    pub route_short_name: Name,
    pub headsign: Name,
    pub mode: &'static str,
    /// Whole minutes from now (0 = arriving).
    pub minutes: i64,
    /// Where the prediction's likely window spans two minutes or more, the
    /// countdown as a range, [low, high] whole minutes ("3-5 min").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes_range: Option<[i64; 2]>,
    /// Japan time, "HH:MM".
    pub time: String,
    /// Stops between the vehicle and this stop, when known (live only).
    pub stops_away: Option<u32>,
    pub vehicle_id: Option<String>,
    /// True when `minutes` is a prediction from a live vehicle.
    pub realtime: bool,
    /// `on_the_way`, `approaching`, `at_stop`, `not_started`,
    /// `scheduled_only`, `stale`, `detour` (ArrivalStatus).
    pub status: &'static str,
    /// Seconds behind the timetable (live only).
    pub delay_seconds: i32,
    /// How full its vehicle is: `empty`, `many_seats_available`,
    /// `few_seats_available`, `standing_room_only`,
    /// `crushed_standing_room_only`, `full`; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupancy: Option<&'static str>,
    /// How full this trip usually is here (same names), where the live
    /// load is unknown; absent without enough history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_occupancy: Option<&'static str>,
    /// Whether its vehicle is step-free; absent when the feed does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_free: Option<bool>,
    /// The platform it calls at ("B"), when the stop is a station whose
    /// platforms the feed codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Frequency-based service without exact times: about every this many
    /// minutes, the time an estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every_minutes: Option<u32>,
}

/// Whole minutes (at least 1) of a headway the API gives in seconds, 0 for none.
pub fn every_minutes(headway_seconds: u32) -> Option<u32> {
    (headway_seconds > 0).then(|| (headway_seconds.div_ceil(60)).max(1))
}

#[derive(Debug, Clone)]
struct Timetable {
    stop_name: Name,
    departures: Arc<Vec<Departure>>,
}

type TimetableKey = (String, NaiveDate, &'static str);

/// Timetables read recently, by (stop, service date, language).
#[derive(Debug, Clone, Default)]
pub struct TimetableCache {
    entries: Arc<Mutex<HashMap<TimetableKey, (Instant, Timetable)>>>,
}

impl TimetableCache {
    fn get(&self, key: &TimetableKey) -> Option<Timetable> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < TIMETABLE_TTL)
            .map(|(_, t)| t.clone())
    }

    fn put(&self, key: TimetableKey, t: Timetable) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 2_000 {
            entries.retain(|_, (at, _)| at.elapsed() < TIMETABLE_TTL);
        }
        entries.insert(key, (Instant::now(), t));
    }
}

fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("valid offset")
}

/// The arrivals at `stop_id` now, names in `lang`.
pub async fn fetch(
    s: &AppState,
    client: ClientIp,
    stop_id: &str,
    lang: &'static str,
) -> Result<Arrivals, ApiError> {
    let answer = s
        .upstream
        .passenger(client)
        .get_arrivals(GetArrivalsRequest {
            stop_id: stop_id.to_owned(),
            lang: lang.into(),
            limit: MAX_ARRIVALS as u32,
            route_id: String::new(),
        })
        .await;
    match answer {
        Ok(r) => Ok(from_live(r.into_inner(), lang, Utc::now())),
        Err(status) if status.code() == tonic::Code::Unimplemented => {
            from_timetable_cached(s, client, stop_id, lang).await
        }
        Err(status) => Err(status.into()),
    }
}

fn status_name(status: i32) -> &'static str {
    match ArrivalStatus::try_from(status).unwrap_or(ArrivalStatus::Unspecified) {
        ArrivalStatus::OnTheWay => "on_the_way",
        ArrivalStatus::Approaching => "approaching",
        ArrivalStatus::AtStop => "at_stop",
        ArrivalStatus::NotStarted => "not_started",
        ArrivalStatus::ScheduledOnly => "scheduled_only",
        ArrivalStatus::Stale => "stale",
        ArrivalStatus::Detour => "detour",
        ArrivalStatus::Unspecified => "unspecified",
    }
}

/// The JSON name of an occupancy; `None` when unknown.
pub fn occupancy_name(occupancy: i32) -> Option<&'static str> {
    match Occupancy::try_from(occupancy).unwrap_or(Occupancy::Unknown) {
        Occupancy::Unknown => None,
        Occupancy::Empty => Some("empty"),
        Occupancy::ManySeatsAvailable => Some("many_seats_available"),
        Occupancy::FewSeatsAvailable => Some("few_seats_available"),
        Occupancy::StandingRoomOnly => Some("standing_room_only"),
        Occupancy::CrushedStandingRoomOnly => Some("crushed_standing_room_only"),
        Occupancy::Full => Some("full"),
    }
}

fn to_utc(t: &Option<Timestamp>) -> Option<DateTime<Utc>> {
    let t = t.as_ref()?;
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
}

/// A GetArrivals answer as the pages' JSON.
pub fn from_live(r: GetArrivalsResponse, lang: &str, now: DateTime<Utc>) -> Arrivals {
    let generated = to_utc(&r.generated_at).unwrap_or(now);
    let arrivals = r
        .arrivals
        .into_iter()
        .map(|a| {
            let when = to_utc(&a.predicted_time).or_else(|| to_utc(&a.scheduled_time));
            Arrival {
                realtime: a.predicted_time.is_some(),
                time: when
                    .map(|w| w.with_timezone(&jst()).format("%H:%M").to_string())
                    .unwrap_or_default(),
                minutes: i64::from(a.minutes.max(0)),
                minutes_range: (a.predicted_time.is_some() && a.minutes_high > a.minutes_low)
                    .then(|| [i64::from(a.minutes_low.max(0)), i64::from(a.minutes_high)]),
                stops_away: u32::try_from(a.stops_away).ok(),
                vehicle_id: Some(a.vehicle_id).filter(|v| !v.is_empty()),
                status: status_name(a.status),
                occupancy: occupancy_name(a.occupancy),
                usual_occupancy: occupancy_name(a.usual_occupancy),
                step_free: match StepFree::try_from(a.step_free) {
                    Ok(StepFree::Yes) => Some(true),
                    Ok(StepFree::No) => Some(false),
                    _ => None,
                },
                delay_seconds: a.delay_seconds,
                platform: given(a.platform_code),
                every_minutes: every_minutes(a.headway_seconds),
                mode: mode_name(a.mode),
                route_short_name: a.route_short_name.into(),
                headsign: a.headsign.into(),
                trip_id: a.trip_id,
                route_id: a.route_id,
            }
        })
        .collect();
    Arrivals {
        stop_id: r.stop_id,
        stop_name: r.stop_name.into(),
        lang: lang.to_owned(),
        source: "live",
        generated_at: generated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        local_time: generated.with_timezone(&jst()).format("%H:%M").to_string(),
        arrivals,
        alerts: r.alerts.into_iter().filter_map(AlertNote::of).collect(),
    }
}

async fn from_timetable_cached(
    s: &AppState,
    client: ClientIp,
    stop_id: &str,
    lang: &'static str,
) -> Result<Arrivals, ApiError> {
    let now = Utc::now();
    let date = now.with_timezone(&jst()).date_naive();
    let key = (stop_id.to_owned(), date, lang);
    let timetable = match s.timetables.get(&key) {
        Some(t) => t,
        None => {
            let answer = s
                .upstream
                .passenger(client)
                .get_stop_timetable(GetStopTimetableRequest {
                    stop_id: stop_id.to_owned(),
                    date: date.format("%Y-%m-%d").to_string(),
                    route_id: String::new(),
                    lang: lang.into(),
                })
                .await?
                .into_inner();
            let t = Timetable {
                stop_name: answer.stop.and_then(|s| s.name).into(),
                departures: Arc::new(answer.departures),
            };
            s.timetables.put(key, t.clone());
            t
        }
    };
    Ok(from_timetable(
        stop_id,
        lang,
        &timetable.stop_name,
        &timetable.departures,
        now,
    ))
}

/// The next departures after `now` as arrivals.
pub fn from_timetable(
    stop_id: &str,
    lang: &str,
    stop_name: &Name,
    departures: &[Departure],
    now: DateTime<Utc>,
) -> Arrivals {
    let local = now.with_timezone(&jst());
    let now_secs = i64::from(local.num_seconds_from_midnight());
    let mut upcoming: Vec<(i64, &Departure)> = departures
        .iter()
        .map(|d| (i64::from(d.departure_seconds) - now_secs, d))
        .filter(|(ahead, _)| (0..=HORIZON_MINUTES * 60).contains(ahead))
        .collect();
    upcoming.sort_by_key(|(ahead, d)| (*ahead, d.trip_id.clone()));
    let arrivals = upcoming
        .into_iter()
        .take(MAX_ARRIVALS)
        .map(|(ahead, d)| Arrival {
            trip_id: d.trip_id.clone(),
            route_id: d.route_id.clone(),
            route_short_name: d.route_short_name.clone().into(),
            headsign: d.headsign.clone().into(),
            mode: mode_name(d.mode),
            minutes: ahead / 60,
            minutes_range: None,
            time: hhmm(d.departure_seconds),
            stops_away: None,
            vehicle_id: None,
            realtime: false,
            status: "scheduled_only",
            delay_seconds: 0,
            occupancy: None,
            usual_occupancy: None,
            step_free: None,
            platform: given(d.platform_code.clone()),
            every_minutes: every_minutes(d.headway_seconds),
        })
        .collect();
    Arrivals {
        stop_id: stop_id.to_owned(),
        stop_name: stop_name.clone(),
        lang: lang.to_owned(),
        source: "timetable",
        generated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        local_time: local.format("%H:%M").to_string(),
        arrivals,
        // An older location service: no alerts to show.
        alerts: Vec::new(),
    }
}

fn hhmm(seconds: u32) -> String {
    format!("{:02}:{:02}", (seconds / 3600) % 24, (seconds / 60) % 60)
}

fn arrivals_event(a: &Arrivals) -> Event {
    Event::default()
        .event("arrivals")
        .json_data(a)
        .unwrap_or_else(|_| Event::default().event("error"))
}

fn error_event(message: String) -> Event {
    Event::default()
        .event("error")
        .data(serde_json::json!({ "message": message }).to_string())
}

/// The arrivals as SSE events, one per language each time they change:
/// from StreamArrivals (one gRPC stream per language, merged); when the
/// location service does not offer it, from GetArrivals every `period`.
pub async fn live_stream(
    s: AppState,
    client: ClientIp,
    stop_id: String,
    langs: Vec<&'static str>,
    period: Duration,
) -> Result<stream::BoxStream<'static, Result<Event, Infallible>>, ApiError> {
    let mut streams = Vec::with_capacity(langs.len());
    for &lang in &langs {
        let opened = s
            .upstream
            .passenger(client)
            .stream_arrivals(StreamArrivalsRequest {
                stop_id: stop_id.clone(),
                lang: lang.into(),
                limit: MAX_ARRIVALS as u32,
                route_id: String::new(),
                refresh_seconds: period.as_secs().clamp(5, 300) as u32,
            })
            .await;
        match opened {
            Ok(r) => streams.push(r.into_inner().map(move |item| {
                Ok(match item {
                    Ok(answer) => arrivals_event(&from_live(answer, lang, Utc::now())),
                    Err(status) => error_event(status.message().to_owned()),
                })
            })),
            Err(status) if status.code() == tonic::Code::Unimplemented => {
                return Ok(poll_stream(s, client, stop_id, langs, period).boxed());
            }
            Err(status) => return Err(status.into()),
        }
    }
    Ok(stream::select_all(streams).boxed())
}

/// Arrivals read every `period`, as SSE events, one per language.
pub fn poll_stream(
    s: AppState,
    client: ClientIp,
    stop_id: String,
    langs: Vec<&'static str>,
    period: Duration,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(period));
    ticks
        .then(move |_| {
            let s = s.clone();
            let stop_id = stop_id.clone();
            let langs = langs.clone();
            async move {
                let mut events = Vec::with_capacity(langs.len());
                for lang in langs {
                    let event = match fetch(&s, client, &stop_id, lang).await {
                        Ok(a) => arrivals_event(&a),
                        Err(e) => error_event(e.to_string()),
                    };
                    events.push(Ok(event));
                }
                stream::iter(events)
            }
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagoshima_proto::v1::LocalizedName;

    fn dep(trip: &str, secs: u32) -> Departure {
        Departure {
            trip_id: trip.into(),
            route_id: "tram-1".into(),
            route_short_name: Some(LocalizedName {
                lang: "ja".into(),
                text: "1系統".into(),
            }),
            headsign: Some(LocalizedName {
                lang: "ja".into(),
                text: "谷山".into(),
            }),
            departure_time: String::new(),
            departure_seconds: secs,
            direction_id: 0,
            mode: 1,
            ..Departure::default()
        }
    }

    #[test]
    fn next_departures_in_minutes() {
        // 10:00:30 JST.
        let now = DateTime::parse_from_rfc3339("2025-06-02T01:00:30Z")
            .expect("time")
            .with_timezone(&Utc);
        let deps = [
            dep("past", 9 * 3600 + 59 * 60),
            dep("b", 10 * 3600 + 7 * 60),
            dep("a", 10 * 3600 + 60),
            dep("far", 12 * 3600),
        ];
        let name = Name {
            text: "天文館通".into(),
            lang: "ja".into(),
        };
        let a = from_timetable("tram_tenmonkan_dori", "ja", &name, &deps, now);
        let got: Vec<(&str, i64, &str)> = a
            .arrivals
            .iter()
            .map(|x| (x.trip_id.as_str(), x.minutes, x.time.as_str()))
            .collect();
        assert_eq!(got, [("a", 0, "10:01"), ("b", 6, "10:07")]);
        assert_eq!(a.local_time, "10:00");
        assert_eq!(a.arrivals[0].mode, "tram");
        assert!(!a.arrivals[0].realtime);
    }
}
