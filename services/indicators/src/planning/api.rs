//! The planning analysis as IndicatorService's `PlanningReport`, and the
//! checks of a request from outside (dates, the longest period).
use chrono::NaiveDate;
use kagoshima_proto::v1 as pb;

use super::analysis::{Analysis, PlanningRequest};
use crate::error::IndicatorError;

/// The longest period one request analyses (about a quarter).
pub const MAX_DAYS: i64 = 92;

/// A request from its text fields ("YYYY-MM-DD", `until` empty = `from`).
pub fn request(
    from: &str,
    until: &str,
    route_id: &str,
    capacity: &kagoshima_domain::capacity::Capacity,
) -> Result<PlanningRequest, IndicatorError> {
    let date = |field: &str, text: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
            IndicatorError::Invalid(format!("{field} {text:?} is not a date: use YYYY-MM-DD"))
        })
    };
    let from = date("from", from)?;
    let until = match until.trim() {
        "" => from,
        u => date("until", u)?,
    };
    if until < from {
        return Err(IndicatorError::Invalid(format!(
            "until {until} is before from {from}"
        )));
    }
    let days = (until - from).num_days() + 1;
    if days > MAX_DAYS {
        return Err(IndicatorError::Invalid(format!(
            "{days} days asked: at most {MAX_DAYS} at a time (a quarter)"
        )));
    }
    Ok(PlanningRequest {
        from,
        until,
        route_id: Some(route_id.trim().to_owned()).filter(|r| !r.is_empty()),
        capacity: capacity.clone(),
    })
}

/// The analysis as the API gives it (crowded trips only, not every trip).
pub fn to_proto(a: &Analysis) -> pb::PlanningReport {
    pb::PlanningReport {
        from: a.from.to_string(),
        until: a.until.to_string(),
        route_id: a.route_id.clone().unwrap_or_default(),
        days_observed: a.days_observed,
        empty_reason: a.empty_reason.clone().unwrap_or_default(),
        trips_with_riders: a.trips.len() as i64,
        trip_times: a
            .trip_times
            .iter()
            .map(|t| pb::PlanningTripTime {
                route_id: t.route_id.clone(),
                direction_id: i32::from(t.direction_id),
                first_stop_id: t.first_stop.clone(),
                last_stop_id: t.last_stop.clone(),
                band: t.band.name().into(),
                runs: t.runs,
                scheduled_s: t.scheduled_s,
                p50_s: t.p50_s,
                p85_s: t.p85_s,
                p95_s: t.p95_s,
                recommended_s: t.recommended_s,
            })
            .collect(),
        segments: a
            .segments
            .iter()
            .map(|s| pb::PlanningSegmentTime {
                route_id: s.route_id.clone(),
                direction_id: i32::from(s.direction_id),
                from_stop_id: s.from_stop.clone(),
                to_stop_id: s.to_stop.clone(),
                band: s.band.name().into(),
                runs: s.runs,
                scheduled_s: s.scheduled_s,
                p10_s: s.p10_s,
                p50_s: s.p50_s,
                p85_s: s.p85_s,
                p95_s: s.p95_s,
            })
            .collect(),
        adherence: a
            .adherence
            .iter()
            .map(|x| pb::PlanningAdherence {
                route_id: x.route_id.clone(),
                band: x.band.name().into(),
                departures: x.departures,
                early_share: x.early_share,
                on_time_share: x.on_time_share,
                late_share: x.late_share,
            })
            .collect(),
        headways: a
            .headways
            .iter()
            .map(|h| pb::PlanningHeadways {
                route_id: h.route_id.clone(),
                direction_id: i32::from(h.direction_id),
                band: h.band.name().into(),
                intervals: h.intervals,
                scheduled_mean_s: h.scheduled_mean_s,
                actual_mean_s: h.actual_mean_s,
                cv: h.cv,
                bunched_share: h.bunched_share,
            })
            .collect(),
        crowded_trips: a
            .crowded()
            .map(|t| pb::PlanningTripLoad {
                service_date: t.service_date.to_string(),
                trip_id: t.trip_id.clone(),
                route_id: t.route_id.clone(),
                band: t.band.name().into(),
                boardings: t.boardings,
                peak_load: t.peak_load,
                peak_stop_id: t.peak_stop_id.clone(),
                capacity: t.capacity,
                source: t.source.into(),
                profile: t
                    .profile
                    .iter()
                    .map(|p| pb::PlanningLoadPoint {
                        stop_sequence: p.stop_sequence,
                        stop_id: p.stop_id.clone(),
                        boardings: p.boardings,
                        alightings: p.alightings,
                        load: p.load,
                    })
                    .collect(),
            })
            .collect(),
        od: a
            .od
            .iter()
            .map(|c| pb::PlanningOdCell {
                band: c.band.name().into(),
                from_stop_id: c.from_stop.clone(),
                to_stop_id: c.to_stop.clone(),
                rides: c.rides,
            })
            .collect(),
        load_profiles: a
            .load_profiles
            .iter()
            .map(|p| pb::PlanningLoadProfile {
                route_id: p.route_id.clone(),
                direction_id: i32::from(p.direction_id),
                band: p.band.name().into(),
                trips: p.trips,
                capacity: p.capacity,
                peak_stop_id: p.peak_stop_id.clone(),
                stops: p
                    .stops
                    .iter()
                    .map(|x| pb::PlanningProfilePoint {
                        stop_id: x.stop_id.clone(),
                        stop_sequence: x.stop_sequence,
                        trips: x.trips,
                        mean_boardings: x.mean_boardings,
                        mean_alightings: x.mean_alightings,
                        mean_load: x.mean_load,
                        p85_load: x.p85_load,
                        max_load: x.max_load,
                    })
                    .collect(),
            })
            .collect(),
        suggestions: a
            .suggestions
            .iter()
            .map(|x| {
                let at = |s: i32| kagoshima_domain::calendar::gtfs_time(s.max(0) as u32);
                pb::PlanningSuggestion {
                    route_id: x.route_id.clone(),
                    direction_id: i32::from(x.direction_id),
                    trip_id: x.trip_id.clone(),
                    departure: at(x.departure_s),
                    days: x.days,
                    crowded_days: x.crowded_days,
                    mean_peak_load: x.mean_peak_load,
                    design_load: x.design_load,
                    capacity: x.capacity,
                    action: x.action.name().into(),
                    moved_trip_id: x.moved_trip_id.clone().unwrap_or_default(),
                    new_departure: at(x.new_departure_s),
                    expected_load: x.expected_load,
                    text: x.text(),
                }
            })
            .collect(),
        stop_names: a.stop_names.clone().into_iter().collect(),
        route_names: a.route_names.clone().into_iter().collect(),
        inbound: a
            .inbound
            .iter()
            .map(|i| pb::PlanningInbound {
                route_id: i.route_id.clone(),
                stop_id: i.stop_id.clone().unwrap_or_default(),
                rides: i.rides,
                inbound: i.inbound,
                share: i.share,
            })
            .collect(),
    }
}
