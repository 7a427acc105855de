//! Service alerts: the bureau writes them ([`grpc::AlertApi`], with a
//! bureau token), riders read them (`PassengerService.ListAlerts` and the
//! GTFS-Realtime ServiceAlerts feed, `/gtfs-rt/alerts`).
//!
//! The alerts not ended are held in memory ([`Alerts`]) for the feeds and
//! pages, reloaded after every change and periodically (another instance
//! may have written one).
pub mod draft;
pub mod grpc;
pub mod store;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use gtfs_realtime::{
    Alert as RtAlert, EntitySelector, FeedEntity, FeedHeader, FeedMessage, TimeRange,
    TranslatedString, TripDescriptor, translated_string::Translation,
};
use kagoshima_proto::v1::{AlertCause, AlertEffect, ServiceAlert};
use sqlx::PgPool;

pub use store::Alert;

/// The alerts not ended, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Alerts(Arc<RwLock<Arc<Vec<Alert>>>>);

/// Reloads the alerts every 10 s until shutdown (another instance may have
/// changed them; this one reloads at once after its own changes).
pub async fn reloader(
    alerts: Alerts,
    pool: PgPool,
    shutdown: kagoshima_runtime::shutdown::Shutdown,
) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(e) = alerts.reload(&pool).await {
            tracing::warn!(error = %e, "could not reload the service alerts");
        }
    }
}

/// What a rider asks about: a stop (with the routes serving it and their
/// agencies) or a route (with its agency).
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub stop_id: Option<String>,
    /// The platforms of that stop when it is a station: an alert about one
    /// of them concerns the station's rider too.
    pub platforms: HashSet<String>,
    pub route_ids: HashSet<String>,
    pub agency_ids: HashSet<String>,
    /// A route without agency_id: the feed has one agency (GTFS requires
    /// the field otherwise), which every agency-wide alert names.
    pub sole_agency: bool,
}

impl Alerts {
    /// Reads the alerts not ended from the database.
    pub async fn reload(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let list = store::list(pool, None).await?;
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(list);
        Ok(())
    }

    fn all(&self) -> Arc<Vec<Alert>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The alerts in force at `now` about `subject` (all of them without one).
    pub fn in_force(&self, now: DateTime<Utc>, subject: Option<&Subject>) -> Vec<Alert> {
        self.all()
            .iter()
            .filter(|a| a.ended_at.is_none() && a.draft.applies_at(now))
            .filter(|a| subject.is_none_or(|s| concerns(a, s)))
            .cloned()
            .collect()
    }

    /// The NO_SERVICE alerts in force at `now` (cancellations, closures,
    /// suspensions), for TripUpdates.
    pub fn no_service(&self, now: DateTime<Utc>) -> Vec<Alert> {
        self.in_force(now, None)
            .into_iter()
            .filter(|a| a.draft.effect() == AlertEffect::NoService)
            .collect()
    }

    /// The ServiceAlerts feed: every alert not ended whose periods are not
    /// all over, texts in every language written.
    pub fn feed(&self, now: DateTime<Utc>) -> FeedMessage {
        let entity = self
            .all()
            .iter()
            .filter(|a| a.ended_at.is_none())
            .filter(|a| {
                a.draft.periods.is_empty()
                    || a.draft
                        .periods
                        .iter()
                        .any(|p| p.end.is_none_or(|e| e > now))
            })
            .map(|a| FeedEntity {
                id: a.id.clone(),
                alert: Some(rt_alert(a)),
                ..FeedEntity::default()
            })
            .collect();
        FeedMessage {
            header: FeedHeader {
                gtfs_realtime_version: "2.0".into(),
                incrementality: Some(0),
                timestamp: Some(now.timestamp().max(0) as u64),
                ..FeedHeader::default()
            },
            entity,
        }
    }
}

impl Subject {
    /// A stop of the live network: the routes with a trip calling there.
    pub fn of_stop(net: &kagoshima_tracker::Network, stop: u32) -> Subject {
        let mut subject = Subject {
            stop_id: Some(net.stops[stop as usize].id.clone()),
            ..Subject::default()
        };
        for point in net.calling_points(stop) {
            if point != stop {
                subject
                    .platforms
                    .insert(net.stops[point as usize].id.clone());
            }
            for (trip, _) in &net.stop_trips[point as usize] {
                subject.add_route(&net.routes[net.trips[*trip as usize].route as usize]);
            }
        }
        subject
    }

    /// One route of the live network, anywhere or at one stop.
    pub fn of_route(net: &kagoshima_tracker::Network, route: u32, stop: Option<u32>) -> Subject {
        let mut subject = Subject {
            stop_id: stop.map(|s| net.stops[s as usize].id.clone()),
            ..Subject::default()
        };
        subject.add_route(&net.routes[route as usize]);
        subject
    }

    fn add_route(&mut self, route: &kagoshima_tracker::network::Route) {
        if self.route_ids.insert(route.id.clone()) {
            match &route.agency_id {
                Some(agency) => {
                    self.agency_ids.insert(agency.clone());
                }
                None => self.sole_agency = true,
            }
        }
    }
}

/// Whether an alert in force cancels a whole trip: NO_SERVICE on the trip,
/// on its route, or on its whole agency (a suspension).
pub fn cancels_trip(a: &Alert, route_id: &str, agency_id: Option<&str>, trip_id: &str) -> bool {
    a.draft.effect() == AlertEffect::NoService
        && a.draft.entities.iter().any(|e| {
            if e.stop_id.is_some() {
                return false;
            }
            match (&e.trip_id, &e.route_id) {
                (Some(t), _) => t == trip_id,
                (None, Some(r)) => r == route_id,
                // A route without agency_id belongs to the feed's only agency.
                (None, None) => {
                    e.agency_id.is_some()
                        && agency_id.is_none_or(|a| e.agency_id.as_deref() == Some(a))
                }
            }
        })
}

/// Whether an alert in force closes a stop to a trip: NO_SERVICE on the stop
/// (for every route, the trip's route, or the trip).
pub fn closes_stop(a: &Alert, stop_id: &str, route_id: &str, trip_id: &str) -> bool {
    a.draft.effect() == AlertEffect::NoService
        && a.draft.entities.iter().any(|e| {
            e.stop_id.as_deref() == Some(stop_id)
                && e.route_id.as_deref().is_none_or(|r| r == route_id)
                && e.trip_id.as_deref().is_none_or(|t| t == trip_id)
        })
}

/// Whether an alert in force takes a trip off a stop's arrivals.
pub fn cancels(
    a: &Alert,
    stop_id: &str,
    route_id: &str,
    agency_id: Option<&str>,
    trip_id: &str,
) -> bool {
    cancels_trip(a, route_id, agency_id, trip_id) || closes_stop(a, stop_id, route_id, trip_id)
}

/// Whether an alert is about what a rider looks at: the whole agency of one
/// of its routes, the stop itself (with no route, or one of its routes), or
/// one of its routes anywhere.
pub fn concerns(a: &Alert, s: &Subject) -> bool {
    a.draft.entities.iter().any(|e| {
        if e.trip_id.is_some() {
            return false;
        }
        if e.is_agency_wide() {
            return s.sole_agency
                || e.agency_id
                    .as_ref()
                    .is_some_and(|id| s.agency_ids.contains(id));
        }
        let route_ok = e.route_id.as_ref().is_none_or(|r| s.route_ids.contains(r));
        match (&e.stop_id, &s.stop_id) {
            (Some(stop), Some(asked)) => (stop == asked || s.platforms.contains(stop)) && route_ok,
            (Some(_), None) => false,
            (None, _) => e.route_id.is_some() && route_ok,
        }
    })
}

/// An alert as the API gives it: every language, or one for a rider.
pub fn to_proto(a: &Alert, lang: Option<&str>) -> ServiceAlert {
    ServiceAlert {
        alert_id: a.id.clone(),
        alert: Some(a.draft.to_proto(lang)),
        created_at: Some(draft::timestamp(a.created_at)),
        updated_at: Some(draft::timestamp(a.updated_at)),
        ended_at: a.ended_at.map(draft::timestamp),
    }
}

fn translated(texts: &std::collections::BTreeMap<String, String>) -> Option<TranslatedString> {
    (!texts.is_empty()).then(|| TranslatedString {
        translation: texts
            .iter()
            .map(|(lang, text)| Translation {
                text: text.clone(),
                language: Some(lang.clone()),
            })
            .collect(),
    })
}

fn rt_alert(a: &Alert) -> RtAlert {
    let d = &a.draft;
    RtAlert {
        active_period: d
            .periods
            .iter()
            .map(|p| TimeRange {
                start: p.start.map(|t| t.timestamp().max(0) as u64),
                end: p.end.map(|t| t.timestamp().max(0) as u64),
            })
            .collect(),
        informed_entity: d
            .entities
            .iter()
            .map(|e| EntitySelector {
                agency_id: e.agency_id.clone(),
                route_id: e.route_id.clone(),
                stop_id: e.stop_id.clone(),
                trip: e.trip_id.as_ref().map(|t| TripDescriptor {
                    trip_id: Some(t.clone()),
                    // The trip as scheduled: the selector names it
                    // (gtfs-rt-validator W009 wants the field set).
                    schedule_relationship: Some(0),
                    ..TripDescriptor::default()
                }),
                ..EntitySelector::default()
            })
            .collect(),
        cause: Some(rt_cause(d.cause())),
        effect: Some(rt_effect(d.effect())),
        url: d.url.as_ref().map(|u| TranslatedString {
            translation: vec![Translation {
                text: u.clone(),
                language: None,
            }],
        }),
        header_text: translated(&d.header),
        description_text: translated(&d.description),
        ..RtAlert::default()
    }
}

/// GTFS-Realtime's Cause number.
fn rt_cause(c: AlertCause) -> i32 {
    match c {
        AlertCause::Unspecified => 1, // UNKNOWN_CAUSE
        other => other as i32 + 1,    // OTHER_CAUSE = 2 … MEDICAL_EMERGENCY = 12
    }
}

/// GTFS-Realtime's Effect number.
fn rt_effect(e: AlertEffect) -> i32 {
    match e {
        AlertEffect::Unspecified => 8, // UNKNOWN_EFFECT
        AlertEffect::StopMoved => 9,
        AlertEffect::NoEffect => 10,
        AlertEffect::AccessibilityIssue => 11,
        other => other as i32, // NO_SERVICE = 1 … OTHER_EFFECT = 7
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::draft::{Draft, Entity};
    use super::*;

    fn alert(entities: Vec<Entity>) -> Alert {
        let t = Utc::now();
        Alert {
            id: "a".into(),
            draft: Draft {
                cause: AlertCause::Weather.as_str_name().into(),
                effect: AlertEffect::NoService.as_str_name().into(),
                header: BTreeMap::from([
                    ("ja".into(), "運休".into()),
                    ("en".into(), "Suspended".into()),
                ]),
                description: BTreeMap::new(),
                entities,
                periods: Vec::new(),
                url: None,
            },
            created_at: t,
            updated_at: t,
            ended_at: None,
        }
    }

    fn entity(agency: Option<&str>, route: Option<&str>, stop: Option<&str>) -> Entity {
        Entity {
            agency_id: agency.map(Into::into),
            route_id: route.map(Into::into),
            stop_id: stop.map(Into::into),
            trip_id: None,
        }
    }

    fn at_stop(stop: &str, routes: &[&str], agency: &str) -> Subject {
        Subject {
            stop_id: Some(stop.into()),
            route_ids: routes.iter().map(|r| (*r).to_owned()).collect(),
            agency_ids: HashSet::from([agency.to_owned()]),
            sole_agency: false,
            platforms: HashSet::new(),
        }
    }

    #[test]
    fn an_alert_concerns_its_agency_its_stops_and_its_routes_only() {
        let tenmonkan = at_stop("tram_tenmonkan", &["tram-1", "tram-2"], "kagoshima-kotsu");
        let aibus_stop = at_stop("aibus_1", &["aibus-east"], "kagoshima-aibus");
        let one_agency_feed = Subject {
            sole_agency: true,
            ..at_stop("s1", &["r1"], "")
        };
        let suspension = alert(vec![entity(Some("kagoshima-kotsu"), None, None)]);
        assert!(concerns(&suspension, &tenmonkan));
        assert!(!concerns(&suspension, &aibus_stop));
        assert!(concerns(&suspension, &one_agency_feed));
        let closed_stop = alert(vec![entity(None, None, Some("tram_tenmonkan"))]);
        assert!(concerns(&closed_stop, &tenmonkan));
        assert!(!concerns(&closed_stop, &aibus_stop));
        let line = alert(vec![entity(None, Some("tram-2"), None)]);
        assert!(concerns(&line, &tenmonkan));
        let other_line_here = alert(vec![entity(None, Some("tram-9"), Some("tram_tenmonkan"))]);
        assert!(!concerns(&other_line_here, &tenmonkan));
    }

    #[test]
    fn no_service_cancels_by_trip_route_agency_and_closes_stops() {
        let trip = Entity {
            trip_id: Some("t1".into()),
            ..entity(None, None, None)
        };
        let a = alert(vec![trip]);
        assert!(cancels_trip(&a, "tram-1", Some("kagoshima-kotsu"), "t1"));
        assert!(!cancels_trip(&a, "tram-1", Some("kagoshima-kotsu"), "t2"));
        let suspension = alert(vec![entity(Some("kagoshima-kotsu"), None, None)]);
        assert!(cancels_trip(
            &suspension,
            "tram-2",
            Some("kagoshima-kotsu"),
            "t9"
        ));
        assert!(!cancels_trip(
            &suspension,
            "aibus-1",
            Some("kagoshima-aibus"),
            "t9"
        ));
        let closed = alert(vec![entity(None, None, Some("tram_tenmonkan"))]);
        assert!(!cancels_trip(&closed, "tram-2", None, "t1"));
        assert!(closes_stop(&closed, "tram_tenmonkan", "tram-2", "t1"));
        assert!(!closes_stop(&closed, "tram_izuro", "tram-2", "t1"));
        let mut detour = alert(vec![entity(None, None, Some("tram_tenmonkan"))]);
        detour.draft.effect = AlertEffect::Detour.as_str_name().into();
        assert!(!cancels(&detour, "tram_tenmonkan", "tram-2", None, "t1"));
    }

    #[test]
    fn causes_and_effects_take_gtfs_realtime_numbers() {
        assert_eq!(rt_cause(AlertCause::Unspecified), 1);
        assert_eq!(rt_cause(AlertCause::Weather), 8);
        assert_eq!(rt_cause(AlertCause::MedicalEmergency), 12);
        assert_eq!(rt_effect(AlertEffect::NoService), 1);
        assert_eq!(rt_effect(AlertEffect::Detour), 4);
        assert_eq!(rt_effect(AlertEffect::Unspecified), 8);
        assert_eq!(rt_effect(AlertEffect::StopMoved), 9);
        assert_eq!(rt_effect(AlertEffect::AccessibilityIssue), 11);
    }
}
