//! Ridership of a period for the bureau: uses and boardings by JST hour of
//! day, by route (with the active feed's names), by day type, and shares of
//! uses by medium, brand and card origin (domestic = issuer_country JP,
//! inbound = any other or unknown issuer, as `inbound_uses` in
//! [`crate::figures`]).
//!
//! Read from the rollups only (`ridership_route_hour`, `ridership_shares`),
//! which are continuous aggregates on TimescaleDB and plain tables elsewhere
//! with the same columns, so these queries serve both. Nothing here reads a
//! card hash: the rollups hold none.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kagoshima_domain::calendar::{DayType, day_type, service_date};
use sqlx::PgPool;

use crate::error::IndicatorError;
use crate::figures::percent;
use crate::period::Period;

/// Uses and boardings of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub uses: i64,
    pub boardings: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteCounts {
    pub route_id: String,
    pub short_name: String,
    pub long_name: String,
    pub mode: String,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTypeCounts {
    pub day_type: DayType,
    /// Dates of this type in the period, up to today (JST).
    pub days: i64,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub key: String,
    pub uses: i64,
    /// Two decimals, `None` when the period has no uses.
    pub pct: Option<String>,
}

/// The ridership of a period (optionally one route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ridership {
    pub period: Period,
    pub route_id: Option<String>,
    pub total: Counts,
    /// 24 entries, index = JST hour.
    pub by_hour: [Counts; 24],
    /// Most uses first, then route id.
    pub by_route: Vec<RouteCounts>,
    /// Weekday, Saturday, holiday.
    pub by_day_type: Vec<DayTypeCounts>,
    pub by_medium: Vec<Share>,
    pub by_brand: Vec<Share>,
    /// "domestic", "inbound".
    pub by_origin: Vec<Share>,
}

const DAY_TYPES: [DayType; 3] = [DayType::Weekday, DayType::Saturday, DayType::Holiday];

/// The ridership of `period` from the rollups (refresh dirty dates first).
pub async fn ridership(
    pool: &PgPool,
    period: Period,
    route_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Ridership, IndicatorError> {
    let (from, to) = period.dates();
    let route = route_id.map(str::trim).filter(|r| !r.is_empty());

    // One read of the route-hour rollup, folded three ways.
    let rows: Vec<(i32, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT extract(hour FROM hour_start AT TIME ZONE 'Asia/Tokyo')::int,
                route_id, day_type, min(mode),
                coalesce(sum(uses), 0)::bigint, coalesce(sum(boardings), 0)::bigint
         FROM ridership_route_hour
         WHERE service_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR route_id = $3)
         GROUP BY 1, 2, 3",
    )
    .bind(from)
    .bind(to)
    .bind(route)
    .fetch_all(pool)
    .await?;

    if let Some(r) = route
        && rows.is_empty()
    {
        let known = kagoshima_network::read::schedule::active_route_exists(pool, r).await?;
        if !known {
            return Err(IndicatorError::UnknownRoute(r.to_owned()));
        }
    }

    let mut total = Counts::default();
    let mut by_hour = [Counts::default(); 24];
    let mut routes: BTreeMap<String, (String, Counts)> = BTreeMap::new();
    let mut days: BTreeMap<&'static str, Counts> = BTreeMap::new();
    for (hour, route_id, dt, mode, uses, boardings) in rows {
        let add = |c: &mut Counts| {
            c.uses += uses;
            c.boardings += boardings;
        };
        add(&mut total);
        if let Some(h) = usize::try_from(hour).ok().and_then(|h| by_hour.get_mut(h)) {
            add(h);
        }
        add(&mut routes
            .entry(route_id)
            .or_insert((mode, Counts::default()))
            .1);
        if let Some(t) = DAY_TYPES.iter().find(|t| t.as_str() == dt) {
            add(days.entry(t.as_str()).or_default());
        }
    }

    let route_ids: Vec<String> = routes.keys().cloned().collect();
    let names = kagoshima_network::read::schedule::route_names(pool, &route_ids).await?;
    let names: BTreeMap<String, (String, String)> =
        names.into_iter().map(|(id, s, l)| (id, (s, l))).collect();
    let mut by_route: Vec<RouteCounts> = routes
        .into_iter()
        .map(|(route_id, (mode, counts))| {
            let (short_name, long_name) = names.get(&route_id).cloned().unwrap_or_default();
            RouteCounts {
                route_id,
                short_name,
                long_name,
                mode,
                counts,
            }
        })
        .collect();
    by_route.sort_by(|a, b| {
        b.counts
            .uses
            .cmp(&a.counts.uses)
            .then_with(|| a.route_id.cmp(&b.route_id))
    });

    let dates = count_day_types(from, to.min(service_date(now)));
    let by_day_type = DAY_TYPES
        .iter()
        .map(|t| DayTypeCounts {
            day_type: *t,
            days: dates.get(t.as_str()).copied().unwrap_or(0),
            counts: days.get(t.as_str()).copied().unwrap_or_default(),
        })
        .collect();

    // Shares: the shares rollup has no route column, so these cover every route.
    let shares: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT medium, brand, issuer_country, coalesce(sum(uses), 0)::bigint
         FROM ridership_shares WHERE service_date BETWEEN $1 AND $2
         GROUP BY 1, 2, 3",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let mut medium: BTreeMap<String, i64> = BTreeMap::new();
    let mut brand: BTreeMap<String, i64> = BTreeMap::new();
    let mut origin: BTreeMap<String, i64> =
        [("domestic".to_owned(), 0), ("inbound".to_owned(), 0)].into();
    for (m, b, country, uses) in shares {
        *medium.entry(m).or_default() += uses;
        *brand.entry(b).or_default() += uses;
        let o = if country == "JP" {
            "domestic"
        } else {
            "inbound"
        };
        *origin.entry(o.to_owned()).or_default() += uses;
    }

    Ok(Ridership {
        period,
        route_id: route.map(str::to_owned),
        total,
        by_hour,
        by_route,
        by_day_type,
        by_medium: share_list(medium),
        by_brand: share_list(brand),
        by_origin: share_list(origin),
    })
}

/// Dates of each day type in `[from, to]` (none when `to < from`).
fn count_day_types(from: NaiveDate, to: NaiveDate) -> BTreeMap<&'static str, i64> {
    let mut out = BTreeMap::new();
    let mut d = from;
    while d <= to {
        *out.entry(day_type(d).as_str()).or_default() += 1;
        d += Duration::days(1);
    }
    out
}

/// Most uses first; percentages of the list's own total.
fn share_list(counts: BTreeMap<String, i64>) -> Vec<Share> {
    let all: i64 = counts.values().sum();
    let mut out: Vec<Share> = counts
        .into_iter()
        .map(|(key, uses)| Share {
            pct: percent(uses.max(0) as u128, all.max(0) as u128).map(|p| p.to_string()),
            key,
            uses,
        })
        .collect();
    out.sort_by(|a, b| b.uses.cmp(&a.uses).then_with(|| a.key.cmp(&b.key)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_types_of_june_2025() {
        let d = count_day_types(
            "2025-06-01".parse().expect("date"),
            "2025-06-30".parse().expect("date"),
        );
        // June 2025: 5 Sundays (no holidays), 4 Saturdays, 21 weekdays.
        assert_eq!(d["weekday"], 21);
        assert_eq!(d["saturday"], 4);
        assert_eq!(d["holiday"], 5);
        assert!(
            count_day_types(
                "2025-06-02".parse().expect("date"),
                "2025-06-01".parse().expect("date")
            )
            .is_empty()
        );
    }

    #[test]
    fn shares_sum_to_about_a_hundred_and_sort_by_uses() {
        let s = share_list([("a".to_owned(), 1), ("b".to_owned(), 3)].into());
        assert_eq!(s[0].key, "b");
        assert_eq!(s[0].pct.as_deref(), Some("75.00"));
        assert_eq!(s[1].pct.as_deref(), Some("25.00"));
        assert!(share_list([("a".to_owned(), 0)].into())[0].pct.is_none());
    }
}
