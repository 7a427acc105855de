//! What riders ask of the live state: arrivals at a stop and the vehicles
//! on the road, with names in the language asked for.
use super::*;

impl Live {
    /// Arrivals at a stop at `now`, soonest first, without the trips the
    /// service alerts in force cancel, and with those alerts.
    pub fn arrivals(
        &self,
        stop_id: &str,
        lang: &str,
        limit: u32,
        route_id: &str,
        now: f64,
        alerts: &Alerts,
    ) -> Result<GetArrivalsResponse, InfoError> {
        let lang = parse_lang(lang)?;
        let limit = parse_limit(limit)? as usize;
        if stop_id.trim().is_empty() {
            return Err(InfoError::InvalidArgument("stop_id is required".into()));
        }
        let board = self.board();
        let net = board.network().ok_or(InfoError::NoFeed)?;
        let stop = net.stop(stop_id).ok_or_else(|| {
            InfoError::NotFound(format!("no stop {stop_id:?} in the active feed"))
        })?;
        let route = match route_id.trim() {
            "" => None,
            r => Some(net.route(r).ok_or_else(|| {
                InfoError::NotFound(format!("no route {r:?} in the active feed"))
            })?),
        };
        let names = board.names();
        let at = chrono::DateTime::from_timestamp_millis((now * 1000.0) as i64).unwrap_or_default();
        let in_force = alerts.in_force(at, None);
        // The alerts about this stop, and those that take a row off it (the
        // stop's routes are only gathered when some alert is in force).
        let mut shown: Vec<&crate::alerts::Alert> = if in_force.is_empty() {
            Vec::new()
        } else {
            let subject = crate::alerts::Subject::of_stop(net, stop);
            in_force
                .iter()
                .filter(|a| crate::alerts::concerns(a, &subject))
                .collect()
        };
        // A row's own stop: the one asked for, or a platform of that station.
        let calling_at = |row: &Row| {
            let t = &net.trips[row.entry.trip as usize];
            net.stops[t.stops[usize::from(row.entry.j)].stop as usize]
                .id
                .as_str()
        };
        let mut cancelled = |trip: u32, at: &str| {
            let t = &net.trips[trip as usize];
            let r = &net.routes[t.route as usize];
            let by = in_force.iter().find(|a| {
                [stop_id, at]
                    .iter()
                    .any(|s| crate::alerts::cancels(a, s, &r.id, r.agency_id.as_deref(), &t.id))
            });
            if let Some(a) = by
                && !shown.iter().any(|s| s.id == a.id)
            {
                shown.push(a);
            }
            by.is_some()
        };
        // Rows a cancellation removes make room for the next ones.
        let arrivals: Vec<_> = board
            .rows_for_rider(stop, route, now, crate::static_info::MAX_LIMIT as usize)
            .into_iter()
            .filter(|row| !cancelled(row.entry.trip, calling_at(row)))
            .take(limit)
            .map(|row| {
                let mut a = arrival(net, names, &row, now, lang);
                let mode = &net.routes[net.trips[row.entry.trip as usize].route as usize].mode;
                if !a.vehicle_id.is_empty()
                    && let Some((o, _)) = self.occupancy(&a.vehicle_id, &a.trip_id, mode, now)
                {
                    a.occupancy = o.into();
                } else if let Some((o, _)) = self.usual_occupancy(&a.trip_id, &a.stop_id, mode) {
                    a.usual_occupancy = o.into();
                }
                a
            })
            .collect();
        let (l, text) = names.get("stop", stop_id, lang, &net.stops[stop as usize].name);
        Ok(GetArrivalsResponse {
            stop_id: stop_id.to_owned(),
            stop_name: Some(LocalizedName { lang: l, text }),
            generated_at: ts(now),
            arrivals,
            alerts: shown
                .iter()
                .map(|a| crate::alerts::to_proto(a, Some(lang)))
                .collect(),
        })
    }

    /// What a rider asking for alerts looks at: a stop (its routes and their
    /// agencies), a route, or a route at a stop; `None` for everything.
    pub fn alert_subject(
        &self,
        stop_id: &str,
        route_id: &str,
    ) -> Result<Option<crate::alerts::Subject>, InfoError> {
        let (stop_id, route_id) = (stop_id.trim(), route_id.trim());
        if stop_id.is_empty() && route_id.is_empty() {
            return Ok(None);
        }
        let board = self.board();
        let net = board.network().ok_or(InfoError::NoFeed)?;
        let stop =
            match stop_id {
                "" => None,
                s => Some(net.stop(s).ok_or_else(|| {
                    InfoError::NotFound(format!("no stop {s:?} in the active feed"))
                })?),
            };
        let route = match route_id {
            "" => None,
            r => Some(net.route(r).ok_or_else(|| {
                InfoError::NotFound(format!("no route {r:?} in the active feed"))
            })?),
        };
        Ok(match route {
            Some(route) => Some(crate::alerts::Subject::of_route(net, route, stop)),
            None => stop.map(|stop| crate::alerts::Subject::of_stop(net, stop)),
        })
    }

    /// Live vehicles, optionally of one route.
    pub fn vehicles(
        &self,
        route_id: &str,
        lang: &str,
        now: f64,
    ) -> Result<ListVehiclesResponse, InfoError> {
        let lang = parse_lang(lang)?;
        let s = self.lock();
        let tracker = s.tracker.as_ref().ok_or(InfoError::NoFeed)?;
        let net = tracker.network();
        let route = match route_id.trim() {
            "" => None,
            r => Some(net.route(r).ok_or_else(|| {
                InfoError::NotFound(format!("no route {r:?} in the active feed"))
            })?),
        };
        let mut vehicles = Vec::new();
        for v in tracker.vehicles(now) {
            let trip = v.trip.map(|t| &net.trips[t as usize]);
            if route.is_some() && trip.map(|t| t.route) != route {
                continue;
            }
            let mut out = Vehicle {
                vehicle_id: v.vehicle_id.clone(),
                lat: v.lat,
                lon: v.lon,
                bearing: v.bearing.map(|b| b as f32),
                recorded_at: ts(v.recorded_at),
                stale: v.stale,
                status: match v.status {
                    VehicleStatus::InTransitTo => PbStatus::InTransitTo,
                    VehicleStatus::StoppedAt => PbStatus::StoppedAt,
                    VehicleStatus::Layover => PbStatus::Layover,
                    VehicleStatus::OffRoute => PbStatus::OffRoute,
                    VehicleStatus::Unassigned => PbStatus::Unassigned,
                }
                .into(),
                delay_seconds: v.delay_s.map_or(0, |d| d.round() as i32),
                mode: TransitMode::Unspecified.into(),
                ..Vehicle::default()
            };
            if let Some(tr) = trip {
                let r = &net.routes[tr.route as usize];
                out.route_id = r.id.clone();
                out.trip_id = tr.id.clone();
                out.mode = mode_of(&r.mode).into();
                if let Some(on_board) = self.inner.loads.on_board(&v.vehicle_id, &tr.id, now) {
                    out.occupancy = self
                        .inner
                        .config
                        .capacity
                        .occupancy(&r.mode, on_board)
                        .0
                        .into();
                }
                let (hl, ht) = s.names.get("headsign", &tr.headsign, lang, &tr.headsign);
                out.headsign = Some(LocalizedName { lang: hl, text: ht });
                if let Some(j) = v.stop_index {
                    let st = &net.stops[tr.stops[j].stop as usize];
                    out.stop_id = st.id.clone();
                    let (sl, stx) = s.names.get("stop", &st.id, lang, &st.name);
                    out.stop_name = Some(LocalizedName {
                        lang: sl,
                        text: stx,
                    });
                }
            }
            vehicles.push(out);
        }
        Ok(ListVehiclesResponse {
            generated_at: ts(now),
            vehicles,
        })
    }
}

/// One row of an arrivals answer, with its names in `lang`.
pub(super) fn arrival(net: &Network, names: &Names, row: &Row, now: f64, lang: &str) -> Arrival {
    let e = &row.entry;
    let tr = &net.trips[e.trip as usize];
    let route = &net.routes[tr.route as usize];
    let st = tr.stops[usize::from(e.j)];
    let at = &net.stops[st.stop as usize];
    let first = e.j == 0;
    let sched = day_start(e.date) + f64::from(if first { st.dep } else { st.arr });
    let shown = e.predicted.unwrap_or(sched);
    let whole_minutes = |t: f64| ((t - now).max(0.0) / 60.0).floor() as i32;
    let minutes = whole_minutes(shown);
    let earliest = e.predicted.map(|p| p - f64::from(e.window.0));
    let latest = e.predicted.map(|p| p + f64::from(e.window.1));
    // The countdown as a range only where the window spans two minutes or more.
    let (minutes_low, minutes_high) = match (earliest, latest) {
        (Some(a), Some(b)) if whole_minutes(b) - whole_minutes(a) >= 2 => {
            (whole_minutes(a), whole_minutes(b))
        }
        _ => (minutes, minutes),
    };
    let (rl, rt) = names.get("route_short", &route.id, lang, &route.short_name);
    let (hl, ht) = names.get("headsign", &tr.headsign, lang, &tr.headsign);
    Arrival {
        trip_id: tr.id.clone(),
        route_id: route.id.clone(),
        route_short_name: Some(LocalizedName { lang: rl, text: rt }),
        headsign: Some(LocalizedName { lang: hl, text: ht }),
        mode: mode_of(&route.mode).into(),
        stop_sequence: st.seq,
        scheduled_time: ts(sched),
        predicted_time: e.predicted.and_then(ts),
        delay_seconds: e.predicted.map_or(0, |p| (p - sched).round() as i32),
        vehicle_id: row.vehicle.as_deref().unwrap_or_default().to_owned(),
        stops_away: e.stops_away,
        status: e.status.into(),
        minutes,
        earliest_time: earliest.and_then(ts),
        latest_time: latest.and_then(ts),
        minutes_low,
        minutes_high,
        occupancy: Occupancy::Unknown.into(),
        usual_occupancy: Occupancy::Unknown.into(),
        step_free: crate::static_info::step_free(tr.wheelchair_accessible.into()).into(),
        stop_id: at.id.clone(),
        platform_code: at.platform_code.clone().unwrap_or_default(),
        headway_seconds: tr
            .run
            .as_ref()
            .filter(|r| !r.exact_times)
            .map_or(0, |r| r.headway_s),
    }
}
