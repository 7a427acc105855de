//! The arrival board: every tracked vehicle's coming stop times, indexed by
//! stop and kept current as its reports arrive, so that an arrivals query
//! reads the first few entries of one stop instead of predicting every
//! vehicle under the tracker's lock (issue #8: that took 15.7 ms a query
//! with 2,000 live vehicles).
//!
//! A vehicle's entries are recomputed when it reports and, for vehicles
//! that fall silent, by [`Live::refresh_board`](crate::live::Live) once a
//! second, so a vehicle that turns stale moves from predicted to flagged
//! timetable rows within about a second of the stale threshold.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use kagoshima_proto::v1::ArrivalStatus;
use kagoshima_tracker::{Network, Tracker, VehicleStatus, network::day_start};

use crate::network_load::Names;

/// How far ahead a live vehicle's predictions go (its next trips included).
pub const PREDICTION_HORIZON_S: f64 = 3.0 * 3600.0;
/// Timetable rows for trips no vehicle has taken: from a minute ago to this far ahead.
pub const TIMETABLE_AHEAD_S: f64 = 2.0 * 3600.0;
/// A vehicle's entries are recomputed at least this often while it is tracked.
pub const RECOMPUTE_AFTER_S: f64 = 5.0;

/// One coming stop time at a stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub trip: u32,
    /// Index of the stop in its trip.
    pub j: u16,
    pub date: NaiveDate,
    /// The predicted time; `None` for a timetable row of a stale or
    /// off-route vehicle.
    pub predicted: Option<f64>,
    pub stops_away: i32,
    /// For live rows `OnTheWay` may still become `Approaching` at read time.
    pub status: ArrivalStatus,
    /// The time the row is ordered by (unix seconds).
    pub t: f64,
}

/// What one vehicle contributes: its rows by stop and the trips it covers
/// (so that the timetable does not list them a second time).
#[derive(Debug, Default)]
pub struct Plan {
    pub rows: Vec<(u32, Entry)>,
    pub covered: Vec<(u32, NaiveDate)>,
    /// Whether the rows are predictions of a fresh, on-route vehicle.
    pub live: bool,
    /// Unix seconds of the vehicle's newest report.
    pub last_t: f64,
}

/// The plan of vehicle `id` at `now`: what `Live::arrivals` used to work
/// out for every vehicle on every query.
pub fn plan(tracker: &Tracker, id: &str, now: f64) -> Plan {
    let Some(v) = tracker.vehicle(id, now) else {
        return Plan::default();
    };
    let (Some(trip), Some(date)) = (v.trip, v.service_date) else {
        return Plan::default();
    };
    let net = tracker.network();
    let mut plan = Plan {
        covered: vec![(trip, date)],
        live: !v.stale && v.status != VehicleStatus::OffRoute,
        last_t: v.recorded_at,
        ..Plan::default()
    };
    if !plan.live {
        // Timetable only, flagged, for stops still ahead of it.
        let tr = &net.trips[trip as usize];
        let status = if v.stale {
            ArrivalStatus::Stale
        } else {
            ArrivalStatus::Detour
        };
        let from = v.stop_index.unwrap_or(0);
        for (j, st) in tr.stops.iter().enumerate().skip(from) {
            if j + 1 < tr.stops.len() {
                plan.rows.push((
                    st.stop,
                    Entry {
                        trip,
                        j: j as u16,
                        date,
                        predicted: None,
                        stops_away: -1,
                        status,
                        t: day_start(date) + f64::from(st.arr),
                    },
                ));
            }
        }
        return plan;
    }
    for p in tracker.predict(id, now, PREDICTION_HORIZON_S) {
        if !plan.covered.contains(&(p.trip, p.service_date)) {
            plan.covered.push((p.trip, p.service_date));
        }
        let tr = &net.trips[p.trip as usize];
        if p.stop_index + 1 == tr.stops.len() {
            continue;
        }
        let status = if p.at_stop && p.trips_ahead == 0 && p.stop_index > 0 {
            ArrivalStatus::AtStop
        } else if p.trips_ahead > 0 || p.stop_index == 0 {
            ArrivalStatus::NotStarted
        } else {
            ArrivalStatus::OnTheWay
        };
        let t = if p.stop_index == 0 {
            p.departure
        } else {
            p.arrival
        };
        plan.rows.push((
            tr.stops[p.stop_index].stop,
            Entry {
                trip: p.trip,
                j: p.stop_index as u16,
                date: p.service_date,
                predicted: Some(t),
                stops_away: p.stops_away as i32,
                status,
                t,
            },
        ));
    }
    plan
}

/// Order of entries at a stop: time (ms), then vehicle, trip, index, date.
type Key = (i64, u32, u32, u16, NaiveDate);

/// Where a vehicle's entries are, to take them out again.
#[derive(Debug)]
struct Placed {
    slot: u32,
    keys: Vec<(u32, Key)>,
    covered: Vec<(u32, NaiveDate)>,
    live: bool,
    last_t: f64,
    computed_at: f64,
}

/// A row of an arrivals answer, before names are looked up.
#[derive(Debug, Clone)]
pub struct Row {
    pub entry: Entry,
    /// The vehicle, or `None` for a timetable row no vehicle has taken.
    pub vehicle: Option<Arc<str>>,
}

/// The board of the active network.
#[derive(Debug, Default)]
pub struct Board {
    net: Option<Arc<Network>>,
    names: Arc<Names>,
    by_stop: Vec<BTreeMap<Key, Entry>>,
    /// Each stop's scheduled departures (GTFS seconds, trip, index), by time.
    timetable: Vec<Vec<(i32, u32, u16)>>,
    vehicles: HashMap<Arc<str>, Placed>,
    slots: Vec<Arc<str>>,
    free: Vec<u32>,
    covered: HashMap<(u32, NaiveDate), u32>,
    services: Mutex<HashMap<NaiveDate, Arc<Vec<bool>>>>,
}

impl Board {
    /// An empty board for `net` (a new feed: vehicles are placed again as they report).
    pub fn new(net: Arc<Network>, names: Arc<Names>) -> Board {
        let mut timetable = vec![Vec::new(); net.stops.len()];
        for (stop, trips) in net.stop_trips.iter().enumerate() {
            let list: &mut Vec<(i32, u32, u16)> = &mut timetable[stop];
            for &(trip, j) in trips {
                let tr = &net.trips[trip as usize];
                if usize::from(j) + 1 < tr.stops.len() {
                    list.push((tr.stops[usize::from(j)].dep, trip, j));
                }
            }
            list.sort_unstable();
        }
        Board {
            by_stop: vec![BTreeMap::new(); net.stops.len()],
            timetable,
            net: Some(net),
            names,
            ..Board::default()
        }
    }

    pub fn network(&self) -> Option<&Arc<Network>> {
        self.net.as_ref()
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Vehicles with entries on the board.
    pub fn vehicle_count(&self) -> usize {
        self.vehicles.len()
    }

    /// Replaces vehicle `id`'s entries with `plan` (computed at `now`).
    pub fn place(&mut self, id: &str, plan: Plan, now: f64) {
        let slot = self.take_out(id);
        if plan.rows.is_empty() && plan.covered.is_empty() {
            if let Some(slot) = slot {
                self.free.push(slot);
            }
            return;
        }
        let name: Arc<str> = Arc::from(id);
        let slot = slot.unwrap_or_else(|| match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(name.clone());
                (self.slots.len() - 1) as u32
            }
        });
        self.slots[slot as usize] = name.clone();
        let mut keys = Vec::with_capacity(plan.rows.len());
        for (stop, e) in plan.rows {
            let key = ((e.t * 1000.0).round() as i64, slot, e.trip, e.j, e.date);
            if let Some(list) = self.by_stop.get_mut(stop as usize) {
                list.insert(key, e);
                keys.push((stop, key));
            }
        }
        for c in &plan.covered {
            *self.covered.entry(*c).or_default() += 1;
        }
        self.vehicles.insert(
            name,
            Placed {
                slot,
                keys,
                covered: plan.covered,
                live: plan.live,
                last_t: plan.last_t,
                computed_at: now,
            },
        );
    }

    /// Removes vehicle `id`'s entries; returns the slot it had.
    fn take_out(&mut self, id: &str) -> Option<u32> {
        let placed = self.vehicles.remove(id)?;
        for (stop, key) in &placed.keys {
            self.by_stop[*stop as usize].remove(key);
        }
        for c in &placed.covered {
            if let Some(n) = self.covered.get_mut(c) {
                *n -= 1;
                if *n == 0 {
                    self.covered.remove(c);
                }
            }
        }
        Some(placed.slot)
    }

    /// Vehicles whose entries are due: computed more than
    /// [`RECOMPUTE_AFTER_S`] ago, or live then and silent too long now.
    pub fn due(&self, now: f64, stale_after_s: f64) -> Vec<Arc<str>> {
        self.vehicles
            .iter()
            .filter(|(_, p)| {
                now - p.computed_at >= RECOMPUTE_AFTER_S
                    || (p.live && now - p.last_t > stale_after_s)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The first `limit` rows at `stop` (of `route`, if given) at `now`:
    /// vehicles' rows, then the timetable for trips no vehicle covers.
    pub fn rows(&self, stop: u32, route: Option<u32>, now: f64, limit: usize) -> Vec<Row> {
        let Some(net) = &self.net else {
            return Vec::new();
        };
        let of_route = |trip: u32| route.is_none_or(|r| net.trips[trip as usize].route == r);
        let mut rows: Vec<Row> = self.by_stop[stop as usize]
            .iter()
            .filter(|(_, e)| of_route(e.trip))
            .take(limit)
            .map(|(key, e)| {
                let mut entry = *e;
                if entry.status == ArrivalStatus::OnTheWay
                    && entry.stops_away == 0
                    && entry.t - now <= 120.0
                {
                    entry.status = ArrivalStatus::Approaching;
                }
                Row {
                    entry,
                    vehicle: Some(self.slots[key.1 as usize].clone()),
                }
            })
            .collect();
        let today = kagoshima_domain::calendar::transit_service_day(
            chrono::DateTime::from_timestamp(now as i64, 0).unwrap_or_default(),
        );
        for date in [today - chrono::Duration::days(1), today] {
            let services = self.services_on(net, date);
            let ds = day_start(date);
            let list = &self.timetable[stop as usize];
            let lo = (now - 60.0 - ds).ceil();
            let hi = now + TIMETABLE_AHEAD_S - ds;
            let first = list.partition_point(|&(dep, _, _)| f64::from(dep) < lo);
            for &(dep, trip, j) in &list[first..] {
                if f64::from(dep) > hi {
                    break;
                }
                let tr = &net.trips[trip as usize];
                if !services.get(tr.service as usize).copied().unwrap_or(false)
                    || self.covered.contains_key(&(trip, date))
                    || !of_route(trip)
                {
                    continue;
                }
                rows.push(Row {
                    entry: Entry {
                        trip,
                        j,
                        date,
                        predicted: None,
                        stops_away: -1,
                        status: ArrivalStatus::ScheduledOnly,
                        t: ds + f64::from(dep),
                    },
                    vehicle: None,
                });
            }
        }
        rows.sort_by(|a, b| a.entry.t.total_cmp(&b.entry.t));
        rows.truncate(limit);
        rows
    }

    fn services_on(&self, net: &Network, date: NaiveDate) -> Arc<Vec<bool>> {
        let mut cache = self.services.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cache.get(&date) {
            return s.clone();
        }
        if cache.len() > 8 {
            cache.clear();
        }
        let s = Arc::new(net.services_on(date));
        cache.insert(date, s.clone());
        s
    }
}
