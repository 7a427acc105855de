//! `GET /api/stops/{id}/timetable?date=YYYY-MM-DD&route=&lang=`: a stop's
//! departures on a service date (today in Japan when no date is given), from
//! GetStopTimetable; with the date's service ids and whether it is a
//! national holiday.
use axum::{
    Json,
    extract::{Path, Query, State},
};
use chrono::NaiveDate;
use kagoshima_proto::v1::{Departure, GetStopTimetableRequest};
use serde::{Deserialize, Serialize};

use crate::{
    app::AppState,
    error::ApiError,
    passenger::{Name, StopJson, mode_name, parse_lang},
    upstream::ClientIp,
};

#[derive(Debug, Deserialize)]
pub struct TimetableQuery {
    #[serde(default)]
    date: String,
    #[serde(default)]
    route: String,
    #[serde(default)]
    lang: String,
}

#[derive(Debug, Serialize)]
pub struct TimetableJson {
    pub lang: &'static str,
    pub stop: Option<StopJson>,
    pub date: String,
    pub holiday: bool,
    pub service_ids: Vec<String>,
    pub departures: Vec<DepartureJson>,
}

#[derive(Debug, Serialize)]
pub struct DepartureJson {
    pub trip_id: String,
    pub route_id: String,
    pub mode: &'static str,
    pub route_short_name: Name,
    pub headsign: Name,
    /// `HH:MM:SS` on the service date; past 24:00:00 after midnight.
    pub departure_time: String,
    /// 0 or 1; -1 when the feed gives none.
    pub direction_id: i32,
    /// Where it leaves from: the stop asked for, or a platform of that station.
    pub stop_id: String,
    /// That platform's code ("B"), when the feed gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Frequency-based service without exact times: about every this many
    /// minutes, the time an estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every_minutes: Option<u32>,
}

impl From<Departure> for DepartureJson {
    fn from(d: Departure) -> Self {
        DepartureJson {
            mode: mode_name(d.mode),
            trip_id: d.trip_id,
            route_id: d.route_id,
            route_short_name: d.route_short_name.into(),
            headsign: d.headsign.into(),
            departure_time: d.departure_time,
            direction_id: d.direction_id,
            stop_id: d.stop_id,
            platform: crate::passenger::given(d.platform_code),
            every_minutes: crate::arrivals::every_minutes(d.headway_seconds),
        }
    }
}

pub async fn timetable(
    State(s): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<TimetableQuery>,
) -> Result<Json<TimetableJson>, ApiError> {
    let lang = parse_lang(&q.lang)?;
    let date = q.date.trim();
    if !date.is_empty() && NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
        return Err(ApiError::BadRequest(format!(
            "date {date:?} is not a date: use YYYY-MM-DD, or leave it out for today"
        )));
    }
    let answer = s
        .upstream
        .passenger(client)
        .get_stop_timetable(GetStopTimetableRequest {
            stop_id: id,
            date: date.to_owned(),
            route_id: q.route.trim().to_owned(),
            lang: lang.into(),
        })
        .await?
        .into_inner();
    Ok(Json(TimetableJson {
        lang,
        stop: answer.stop.map(StopJson::from),
        date: answer.date,
        holiday: answer.holiday,
        service_ids: answer.service_ids,
        departures: answer
            .departures
            .into_iter()
            .map(DepartureJson::from)
            .collect(),
    }))
}
