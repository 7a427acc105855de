//! GTFS-Realtime VehiclePositions and TripUpdates (the `gtfs-realtime`
//! crate's types), built from the live state on request and cached for at
//! most `gtfs_rt_cache_s` (15 s): a feed at most that old, never an entity
//! older than 90 s when served (entities are built only from vehicles heard
//! within 90 s minus the cache time). Last-Modified / If-Modified-Since.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use gtfs_realtime::{
    FeedEntity, FeedHeader, FeedMessage, Position, TripDescriptor, TripUpdate, VehicleDescriptor,
    VehiclePosition,
    trip_update::{StopTimeEvent, StopTimeUpdate},
    vehicle_position::VehicleStopStatus,
};
use kagoshima_tracker::VehicleStatus;

use crate::alerts::{Alerts, cancels_trip, closes_stop};
use crate::live::{Live, now};

/// Which feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    VehiclePositions,
    TripUpdates,
    Alerts,
}

/// Cached feeds: (built at, unix seconds) → message.
#[derive(Debug, Clone, Default)]
pub struct Cache(Arc<Mutex<HashMap<Kind, Cached>>>);

/// (header timestamp, message).
type Cached = (u64, Arc<FeedMessage>);

impl Cache {
    /// The feed and its header timestamp (whole seconds: Last-Modified).
    pub fn get(&self, live: &Live, alerts: &Alerts, kind: Kind) -> (u64, Arc<FeedMessage>) {
        let t = now();
        let max_age = live.config().gtfs_rt_cache_s;
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, m)) = cache.get(&kind)
            && (t as u64).saturating_sub(*at) < max_age
        {
            return (*at, m.clone());
        }
        let at = t as u64;
        let stamp = chrono::DateTime::from_timestamp(at as i64, 0).unwrap_or_default();
        let m = Arc::new(match kind {
            Kind::Alerts => alerts.feed(stamp),
            _ => build(
                live,
                kind,
                at as f64,
                90.0 - max_age as f64,
                &alerts.no_service(stamp),
            ),
        });
        cache.insert(kind, (at, m.clone()));
        (at, m)
    }
}

/// A fix this far from where the tracker places the vehicle on its trip is
/// a GPS outlier, not the vehicle's position.
const OUTLIER_M: f64 = 100.0;

/// The vehicle's place on its trip's shape when its newest fix lies more
/// than [`OUTLIER_M`] from it (the tracker rejected that fix): published
/// instead of the outlier, so that the position agrees with the trip
/// (gtfs-rt-validator E029). A vehicle off its route (a detour) keeps its
/// own position.
fn matched_if_outlier(
    net: &kagoshima_tracker::Network,
    v: &kagoshima_tracker::VehicleView,
    trip: u32,
) -> Option<(f64, f64)> {
    if v.status == VehicleStatus::OffRoute {
        return None;
    }
    let (on_shape, _) = net.shape_of(trip).at(v.distance_m?);
    let fix = net.projection.to_xy(v.lat, v.lon);
    (fix.dist(on_shape) > OUTLIER_M).then(|| net.projection.to_latlon(on_shape))
}

fn date_str(d: chrono::NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// Builds a feed at `now` from vehicles heard within `max_age_s`; trips the
/// NO_SERVICE alerts in force cancel are CANCELED, stops they close SKIPPED.
pub fn build(
    live: &Live,
    kind: Kind,
    now: f64,
    max_age_s: f64,
    no_service: &[crate::alerts::Alert],
) -> FeedMessage {
    let s = live.lock();
    let mut entity = Vec::new();
    if let Some(tracker) = s.tracker.as_ref() {
        let net = tracker.network();
        // The vehicle running each trip now (the freshest, should two claim
        // one): a trip is published once, for that vehicle, and never as
        // another vehicle's next trip of its block (validator E047).
        let mut running: HashMap<(u32, chrono::NaiveDate), (&str, f64)> = HashMap::new();
        let vehicles = tracker.vehicles(now);
        for v in &vehicles {
            if let (Some(trip), Some(date)) = (v.trip, v.service_date)
                && now - v.recorded_at <= max_age_s
            {
                let claim = running
                    .entry((trip, date))
                    .or_insert((&v.vehicle_id, v.recorded_at));
                if v.recorded_at > claim.1 {
                    *claim = (&v.vehicle_id, v.recorded_at);
                }
            }
        }
        // A trip no vehicle runs now may be the next block trip of two
        // vehicles: it is published once (validator S003).
        let mut published: HashSet<(u32, chrono::NaiveDate)> = HashSet::new();
        let ids = |trip: u32| {
            let t = &net.trips[trip as usize];
            (t.id.as_str(), net.routes[t.route as usize].id.as_str())
        };
        let cancelled_trip = |trip: u32| {
            let t = &net.trips[trip as usize];
            let r = &net.routes[t.route as usize];
            no_service
                .iter()
                .any(|a| cancels_trip(a, &r.id, r.agency_id.as_deref(), &t.id))
        };
        for v in &vehicles {
            if now - v.recorded_at > max_age_s {
                continue;
            }
            let descriptor = |trip: u32, date: chrono::NaiveDate| {
                let tr = &net.trips[trip as usize];
                let mut d = TripDescriptor {
                    trip_id: Some(tr.id.clone()),
                    route_id: Some(net.routes[tr.route as usize].id.clone()),
                    direction_id: tr.direction.map(u32::from),
                    start_date: Some(date_str(date)),
                    schedule_relationship: Some(0),
                    ..TripDescriptor::default()
                };
                // A run of a frequency-based trip is its template's trip_id
                // and its start_time; without exact times it is UNSCHEDULED.
                if let Some(run) = &tr.run {
                    d.trip_id = Some(run.template.clone());
                    d.start_time = Some(kagoshima_domain::calendar::gtfs_time(run.start_s));
                    if !run.exact_times {
                        d.schedule_relationship = Some(2);
                    }
                }
                d
            };
            let vehicle = Some(VehicleDescriptor {
                id: Some(v.vehicle_id.clone()),
                label: Some(v.vehicle_id.clone()),
                ..VehicleDescriptor::default()
            });
            let stamp = Some(v.recorded_at.max(0.0) as u64);
            match kind {
                Kind::VehiclePositions => {
                    let mut vp = VehiclePosition {
                        vehicle,
                        position: Some(Position {
                            latitude: v.lat as f32,
                            longitude: v.lon as f32,
                            bearing: v.bearing.map(|b| b as f32),
                            speed: v.speed.map(|s| s as f32),
                            ..Position::default()
                        }),
                        timestamp: stamp,
                        ..VehiclePosition::default()
                    };
                    if let (Some(trip), Some(date)) = (v.trip, v.service_date)
                        && running
                            .get(&(trip, date))
                            .is_some_and(|(id, _)| *id == v.vehicle_id)
                    {
                        vp.trip = Some(descriptor(trip, date));
                        if let (Some((lat, lon)), Some(position)) =
                            (matched_if_outlier(net, v, trip), vp.position.as_mut())
                        {
                            position.latitude = lat as f32;
                            position.longitude = lon as f32;
                        }
                        let tr = &net.trips[trip as usize];
                        let mode = &net.routes[tr.route as usize].mode;
                        if let Some((o, percent)) = live.occupancy(&v.vehicle_id, &tr.id, mode, now)
                        {
                            // GTFS-Realtime's OccupancyStatus is ours less one (no UNKNOWN).
                            vp.occupancy_status = Some(o as i32 - 1);
                            vp.occupancy_percentage = Some(percent);
                        }
                        if let Some(j) = v.stop_index {
                            let st = net.trips[trip as usize].stops[j];
                            vp.current_stop_sequence = Some(st.seq);
                            vp.stop_id = Some(net.stops[st.stop as usize].id.clone());
                            vp.current_status = Some(match v.status {
                                VehicleStatus::StoppedAt | VehicleStatus::Layover => {
                                    VehicleStopStatus::StoppedAt as i32
                                }
                                _ => VehicleStopStatus::InTransitTo as i32,
                            });
                        }
                    }
                    entity.push(FeedEntity {
                        id: format!("vehicle-{}", v.vehicle_id),
                        vehicle: Some(vp),
                        ..FeedEntity::default()
                    });
                }
                // Built from the alerts, never from the vehicles.
                Kind::Alerts => {}
                Kind::TripUpdates => {
                    let mut by_trip: Vec<(u32, chrono::NaiveDate, Vec<StopTimeUpdate>)> =
                        Vec::new();
                    for p in tracker.predict(&v.vehicle_id, now, 2.0 * 3600.0) {
                        let st = net.trips[p.trip as usize].stops[p.stop_index];
                        let (trip_id, route_id) = ids(p.trip);
                        // Runs without exact times have no schedule to be
                        // late against: times only (GTFS-Realtime's rule).
                        let timed = net.trips[p.trip as usize]
                            .run
                            .as_ref()
                            .is_none_or(|r| r.exact_times);
                        let stop_id = &net.stops[st.stop as usize].id;
                        if no_service
                            .iter()
                            .any(|a| closes_stop(a, stop_id, route_id, trip_id))
                        {
                            let update = StopTimeUpdate {
                                stop_sequence: Some(st.seq),
                                stop_id: Some(stop_id.clone()),
                                // SKIPPED: a service alert closed the stop.
                                schedule_relationship: Some(1),
                                ..StopTimeUpdate::default()
                            };
                            match by_trip.last_mut() {
                                Some(last) if last.0 == p.trip && last.1 == p.service_date => {
                                    last.2.push(update)
                                }
                                _ => by_trip.push((p.trip, p.service_date, vec![update])),
                            }
                            continue;
                        }
                        let update = StopTimeUpdate {
                            stop_sequence: Some(st.seq),
                            stop_id: Some(net.stops[st.stop as usize].id.clone()),
                            arrival: (p.stop_index > 0).then(|| StopTimeEvent {
                                time: Some(p.arrival.round() as i64),
                                delay: timed
                                    .then(|| (p.arrival - p.scheduled_arrival).round() as i32),
                                // Half the likely window, seconds (the spec
                                // leaves its exact meaning open; ours is in
                                // the README's predictions section).
                                uncertainty: Some(((p.early_s + p.late_s) / 2.0).round() as i32),
                                ..StopTimeEvent::default()
                            }),
                            departure: Some(StopTimeEvent {
                                time: Some(p.departure.round() as i64),
                                delay: timed
                                    .then(|| (p.departure - p.scheduled_departure).round() as i32),
                                ..StopTimeEvent::default()
                            }),
                            // SCHEDULED: the stop is served as planned (validator W009).
                            schedule_relationship: Some(0),
                            // How full the trip usually leaves the stop (GTFS-RT's
                            // experimental field, as GTFS-Occupancies proposes).
                            departure_occupancy_status: live
                                .usual_occupancy(
                                    trip_id,
                                    stop_id,
                                    &net.routes[net.trips[p.trip as usize].route as usize].mode,
                                )
                                .map(|(o, _)| o as i32 - 1),
                            ..StopTimeUpdate::default()
                        };
                        match by_trip.last_mut() {
                            Some(last) if last.0 == p.trip && last.1 == p.service_date => {
                                last.2.push(update)
                            }
                            _ => by_trip.push((p.trip, p.service_date, vec![update])),
                        }
                    }
                    for (trip, date, updates) in by_trip {
                        if running
                            .get(&(trip, date))
                            .is_some_and(|(other, _)| *other != v.vehicle_id)
                            || !published.insert((trip, date))
                        {
                            continue;
                        }
                        let cancelled = cancelled_trip(trip);
                        let mut descriptor = descriptor(trip, date);
                        if cancelled {
                            // CANCELED: a service alert took the trip off.
                            descriptor.schedule_relationship = Some(3);
                        }
                        entity.push(FeedEntity {
                            id: format!("trip-{}-{}", date_str(date), net.trips[trip as usize].id),
                            trip_update: Some(TripUpdate {
                                trip: descriptor,
                                vehicle: vehicle.clone(),
                                stop_time_update: if cancelled { Vec::new() } else { updates },
                                timestamp: stamp,
                                ..TripUpdate::default()
                            }),
                            ..FeedEntity::default()
                        });
                    }
                }
            }
        }
        // Trips an alert cancels that no vehicle has yet: CANCELED too, so
        // that apps drop them from their timetables.
        if kind == Kind::TripUpdates {
            let today = kagoshima_domain::calendar::transit_service_day(
                chrono::DateTime::from_timestamp(now as i64, 0).unwrap_or_default(),
            );
            let ids: std::collections::BTreeSet<&str> = no_service
                .iter()
                .flat_map(|a| &a.draft.entities)
                .filter(|e| e.stop_id.is_none())
                .filter_map(|e| e.trip_id.as_deref())
                .collect();
            for id in ids {
                let Some(trip) = net.trip(id) else { continue };
                if !published.insert((trip, today)) {
                    continue;
                }
                let tr = &net.trips[trip as usize];
                entity.push(FeedEntity {
                    id: format!("trip-{}-{}", date_str(today), tr.id),
                    trip_update: Some(TripUpdate {
                        trip: TripDescriptor {
                            trip_id: Some(tr.id.clone()),
                            route_id: Some(net.routes[tr.route as usize].id.clone()),
                            direction_id: tr.direction.map(u32::from),
                            start_date: Some(date_str(today)),
                            schedule_relationship: Some(3),
                            ..TripDescriptor::default()
                        },
                        timestamp: Some(now.max(0.0) as u64),
                        ..TripUpdate::default()
                    }),
                    ..FeedEntity::default()
                });
            }
        }
    }
    FeedMessage {
        header: FeedHeader {
            gtfs_realtime_version: "2.0".into(),
            incrementality: Some(0),
            timestamp: Some(now.max(0.0) as u64),
            ..FeedHeader::default()
        },
        entity,
    }
}

#[cfg(test)]
mod tests {
    use kagoshima_tracker::VehicleView;
    use kagoshima_tracker::geo::Xy;

    use super::*;

    fn view(lat: f64, lon: f64, status: VehicleStatus) -> VehicleView {
        VehicleView {
            vehicle_id: "tram-101".into(),
            lat,
            lon,
            bearing: None,
            speed: None,
            recorded_at: 0.0,
            stale: false,
            status,
            trip: Some(0),
            service_date: None,
            stop_index: Some(1),
            delay_s: None,
            distance_m: Some(500.0),
            logged_in: false,
        }
    }

    #[test]
    fn an_outlier_fix_is_published_where_the_tracker_places_the_vehicle() {
        let net = crate::board::tests::network();
        let (on_shape, _) = net.shape_of(0).at(500.0);
        let (lat, lon) = net.projection.to_latlon(on_shape);
        // A good fix stays as it is.
        assert_eq!(
            matched_if_outlier(&net, &view(lat, lon, VehicleStatus::InTransitTo), 0),
            None
        );
        // A fix 300 m off becomes the point on the shape.
        let far = net.projection.to_latlon(Xy {
            x: on_shape.x,
            y: on_shape.y + 300.0,
        });
        let (mlat, mlon) =
            matched_if_outlier(&net, &view(far.0, far.1, VehicleStatus::InTransitTo), 0)
                .expect("snapped");
        assert!(net.projection.to_xy(mlat, mlon).dist(on_shape) < 1.0);
        // A vehicle off its route keeps its own position.
        assert_eq!(
            matched_if_outlier(&net, &view(far.0, far.1, VehicleStatus::OffRoute), 0),
            None
        );
    }
}
