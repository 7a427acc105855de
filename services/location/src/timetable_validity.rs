//! Whether the active timetable covers today. A feed that has expired (or
//! not yet started) leaves every board empty without an error anywhere, so
//! the service says so: a warning on `/healthz` (the service stays ready:
//! live vehicles and alerts still work), the gauge
//! `kagoshima_timetable_days_left` for an alert before it happens, and a
//! warning in the log when it changes.
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use kagoshima_network::read::{Catalog, ServicePeriod};
use kagoshima_runtime::{host::Host, shutdown::Shutdown};
use prometheus_client::metrics::gauge::Gauge;
use sqlx::PgPool;

const CHECK_EVERY: Duration = Duration::from_secs(600);
const COMPONENT: &str = "timetable";

/// What to say about `period` on `today`; `None` when all is well.
pub fn warning(period: Option<ServicePeriod>, today: NaiveDate) -> Option<String> {
    let Some(period) = period else {
        return Some("the active feed runs no service on any date".into());
    };
    if let Some(why) = period.outside(today) {
        return Some(why);
    }
    period.ending_soon(today).then(|| {
        format!(
            "the timetable in force ends on {} ({} days left): publish the next one",
            period.last,
            period.days_left(today)
        )
    })
}

/// Checks at start and every ten minutes until `stop`.
pub fn watch(pool: PgPool, host: &mut Host, stop: Shutdown) {
    let days_left = Gauge::<i64>::default();
    host.registry()
        .sub_registry_with_prefix("kagoshima_timetable")
        .register(
            "days_left",
            "Days from today's service day to the last date the active timetable covers (negative once it has ended)",
            days_left.clone(),
        );
    let health = host.health();
    tokio::spawn(async move {
        let mut said: Option<String> = None;
        loop {
            let today = kagoshima_domain::calendar::transit_service_day(Utc::now());
            let checked = async {
                let Some(catalog) = Catalog::active(&pool).await? else {
                    return Ok::<_, sqlx::Error>(None);
                };
                Ok(Some(catalog.service_period().await?))
            }
            .await;
            match checked {
                // No feed yet: readiness already says so.
                Ok(None) => {}
                Ok(Some(period)) => {
                    if let Some(p) = period {
                        days_left.set(p.days_left(today));
                    }
                    let now = warning(period, today);
                    match &now {
                        Some(w) => {
                            if said.as_ref() != Some(w) {
                                tracing::warn!(warning = %w, "timetable");
                            }
                            health.warn(COMPONENT, w.clone());
                        }
                        None => health.clear_warning(COMPONENT),
                    }
                    said = now;
                }
                Err(e) => tracing::debug!(error = %e, "cannot check the timetable's period yet"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(CHECK_EVERY) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn an_expired_a_future_and_an_ending_timetable_are_told_apart() {
        let period = Some(ServicePeriod {
            first: d("2026-04-01"),
            last: d("2027-03-31"),
        });
        assert_eq!(warning(period, d("2026-12-02")), None);
        let ended = warning(period, d("2027-04-01")).unwrap();
        assert!(ended.contains("ended on 2027-03-31"), "{ended}");
        let early = warning(period, d("2026-03-31")).unwrap();
        assert!(early.contains("starts on 2026-04-01"), "{early}");
        let ending = warning(period, d("2027-03-28")).unwrap();
        assert!(ending.contains("3 days left"), "{ending}");
        assert!(warning(None, d("2026-12-02")).is_some());
    }
}
