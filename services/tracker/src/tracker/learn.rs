//! Learning running and dwell times from stop visits (live, and the stored
//! history at start-up).
use super::*;

impl Tracker {
    /// Learns from a stored stop visit (history at start-up): the running
    /// time from the previous stop needs that stop's visit too, so pass the
    /// visits of a trip in stop order.
    pub fn learn_history(&mut self, visits: &[StopVisit]) {
        for w in visits.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if a.trip_id == b.trip_id && a.service_date == b.service_date {
                self.learn_pair(a, b);
            }
        }
        for v in visits {
            self.learn_dwell(v);
        }
    }

    pub(super) fn learn_pair(&mut self, a: &StopVisit, b: &StopVisit) {
        if !(a.observed && b.observed) {
            return;
        }
        let Some(dep) = a.departure else { return };
        let ds = day_start(a.service_date);
        let dt = day_type(a.service_date);
        self.model.learn_run(
            &a.stop_id,
            &b.stop_id,
            dt,
            dep - ds,
            b.arrival - dep,
            b.arrival,
        );
    }

    pub(super) fn learn_dwell(&mut self, v: &StopVisit) {
        let Some(dep) = v.departure else { return };
        if !v.observed || v.stop_sequence == 0 {
            return;
        }
        // First stops are layovers, not dwells: skipped by the caller's data
        // (scheduled departure equals the first stop's) — detect by the trip.
        if let Some(t) = self.net.trip(&v.trip_id) {
            let trip = &self.net.trips[t as usize];
            if trip.stops.first().map(|s| s.seq) == Some(v.stop_sequence)
                || trip.stops.last().map(|s| s.seq) == Some(v.stop_sequence)
            {
                return;
            }
        }
        let ds = day_start(v.service_date);
        self.model.learn_dwell(
            &v.stop_id,
            day_type(v.service_date),
            v.arrival - ds,
            dep - v.arrival,
            dep,
        );
    }
}
