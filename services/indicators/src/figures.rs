//! The plan's indicators measured over a period, and their progress against
//! the fiscal year's target.
//!
//! Counting rules (README "Counting rules"):
//! * `tap_payment_uses` (No. 64, 延べ): Σ num_riders over rides that are not
//!   free transfers, i.e. every approved paid boarding counts once per rider.
//!   A free transfer at 郡元 / 高見馬場 continues the same use. Declined and
//!   deny-listed taps are not uses. Rides never tapped off count.
//! * distinct cards: distinct (card_hash, medium) with at least one ride.
//! * `kagorin_rides` (No. 58): かごりん trip records whose start is in the period (JST).
//! * `aibus_stop_searches` (No. 56①): Σ search_counts.searches with
//!   mode = 'community_bus' (one stop search whose results hold an あいばす
//!   stop is one 件; stop_search_counts would count a search once per stop).
//! * `mobile_one_day_ticket_share` (No. 65): mobile quantity ÷ all quantity of
//!   the configured 1-day ticket types sold in the period, in %.
//! * `location_system_service` (No. 66): share of service minutes in which at
//!   least 95 % of the scheduled vehicles had a position younger than 90 s.
//! * `signage_units_running` (No. 67): signage units with a heartbeat in the
//!   last 24 h of the period (or of now, for the current period).
//! * anything else: the survey_results row of the fiscal year, else the plan
//!   file's actual.
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kagoshima_domain::calendar::{FiscalYear, YearMonth, jst_day_start, service_date};
use kagoshima_network::read::schedule;
use sqlx::PgPool;

use crate::config::IndicatorsConfig;
use crate::daily_sums;
use crate::error::IndicatorError;
use crate::period::Period;
use crate::plan::{IndicatorKind, Plan};
use crate::progress::{Decimal, Progress, ProgressRate, policy_progress};
use crate::shared_measures::SharedMeasures;

/// A measured value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    pub value: Option<Decimal>,
    pub source: &'static str,
}

/// Every measured indicator of a period, and the figures behind them.
#[derive(Debug, Clone, Default)]
pub struct Measures {
    pub values: BTreeMap<String, Measured>,
    pub details: BTreeMap<String, String>,
}

/// One indicator's row in a report.
#[derive(Debug, Clone)]
pub struct IndicatorRow {
    pub id: String,
    pub policy: String,
    pub measure: String,
    pub measure_name: String,
    pub name_ja: String,
    pub name_en: String,
    pub unit: String,
    pub unit_en: String,
    pub definition_ja: String,
    pub definition_en: String,
    pub qualitative: bool,
    pub target: Option<Decimal>,
    /// The value over the period.
    pub value: Option<Decimal>,
    /// The fiscal year to the end of the period: what progress is judged on.
    pub fytd: Option<Decimal>,
    pub source: &'static str,
    pub progress: Option<Progress>,
}

#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub id: String,
    pub name_ja: String,
    pub progress: Option<Progress>,
}

/// Every indicator over a period.
#[derive(Debug, Clone)]
pub struct Report {
    pub period: Period,
    pub fiscal_year: FiscalYear,
    pub rows: Vec<IndicatorRow>,
    pub policies: Vec<PolicyRow>,
    pub details: BTreeMap<String, String>,
    /// Monthly tap-payment uses of the fiscal year (month, uses), for the trend chart.
    pub monthly_uses: Vec<(String, u64)>,
}

pub const MEASURED_IDS: [&str; 6] = [
    "tap_payment_uses",
    "kagorin_rides",
    "aibus_stop_searches",
    "mobile_one_day_ticket_share",
    "location_system_service",
    "signage_units_running",
];

/// Builds the report of `period` as of `now`; measures of the same period
/// asked together are computed once (`shared`).
pub async fn report(
    pool: &PgPool,
    config: &IndicatorsConfig,
    plan: &Plan,
    shared: &SharedMeasures,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Report, IndicatorError> {
    let fy = period.fiscal_year();
    let (from, to) = period.dates();
    let (fy_from, fy_to) = period.fiscal_year_to_date();
    let measure_of = |a: NaiveDate, b: NaiveDate| {
        shared.get_or_compute(a, b, move || measure(pool, config, a, b, fy, now))
    };
    // The period, its fiscal year to date and the trend chart's months at
    // once (boxed: side by side they make a large future).
    let (measured, fytd, monthly_uses) = tokio::try_join!(
        Box::pin(measure_of(from, to)),
        Box::pin(measure_of(fy_from, fy_to)),
        monthly_uses(pool, fy, service_date(now)),
    )?;
    let (values, fytd, details) = (measured.values, fytd.values, measured.details);
    let mut rows = Vec::new();
    let mut policies = Vec::new();
    for policy in &plan.policies {
        let mut rates: Vec<ProgressRate> = Vec::new();
        for i in plan.indicators_of(&policy.id) {
            let plan_actual = i.actual(fy);
            let m = values.get(&i.id).cloned().unwrap_or(Measured {
                value: None,
                source: "",
            });
            let f = fytd.get(&i.id).cloned().unwrap_or(Measured {
                value: None,
                source: "",
            });
            // The plan file's actual stands where nothing was measured.
            let (value, fytd_value, source) = match (m.value, f.value) {
                (None, None)
                    if plan_actual.is_some() && matches!(period, Period::FiscalYear(_)) =>
                {
                    (plan_actual, plan_actual, "plan_file")
                }
                _ => (
                    m.value,
                    f.value,
                    if m.value.is_some() {
                        m.source
                    } else {
                        f.source
                    },
                ),
            };
            let target = i.target(fy).map(|t| t.value);
            let qualitative = i.kind == IndicatorKind::Qualitative;
            let progress = if qualitative {
                i.reported_status(fy).map(|s| Progress {
                    rate: None,
                    status: s,
                })
            } else {
                match (target, fytd_value) {
                    (None, _) => Some(Progress::NO_TARGET),
                    (Some(_), None) => None,
                    (Some(t), Some(a)) => Some(crate::progress::assess(Some(t), a)?),
                }
            };
            if let Some(rate) = progress.and_then(|p| p.rate) {
                rates.push(rate);
            }
            rows.push(IndicatorRow {
                id: i.id.clone(),
                policy: policy.id.clone(),
                measure: i.measure_label(),
                measure_name: i.measure_en.clone(),
                name_ja: i.name_ja.clone(),
                name_en: i.name_en.clone(),
                unit: i.unit.clone(),
                unit_en: i.unit_en.clone(),
                definition_ja: i.definition_ja.clone(),
                definition_en: i.definition_en.clone(),
                qualitative,
                target,
                value,
                fytd: fytd_value,
                source,
                progress,
            });
        }
        policies.push(PolicyRow {
            id: policy.id.clone(),
            name_ja: policy.name_ja.clone(),
            progress: policy_progress(&rates)?,
        });
    }
    Ok(Report {
        period,
        fiscal_year: fy,
        rows,
        policies,
        details,
        monthly_uses,
    })
}

/// Tap-payment uses per month of the fiscal year (as of `today`).
pub async fn monthly_uses(
    pool: &PgPool,
    fy: FiscalYear,
    today: NaiveDate,
) -> Result<Vec<(String, u64)>, IndicatorError> {
    let days = daily_sums::by_date(pool, fy.start_date(), fy.end_date(), today).await?;
    let mut found: BTreeMap<YearMonth, i64> = BTreeMap::new();
    for (d, s) in days {
        *found.entry(YearMonth::of_date(d)).or_default() += s.uses;
    }
    Ok(fy
        .months()
        .map(|m| {
            (
                m.to_string(),
                found.get(&m).copied().unwrap_or(0).max(0) as u64,
            )
        })
        .collect())
}

/// `num × 100 ÷ den` as a decimal with two places, rounded half up.
pub fn percent(num: u128, den: u128) -> Option<Decimal> {
    if den == 0 {
        return None;
    }
    let scaled = (num * 100 * 100 * 2 + den) / (2 * den);
    Decimal::new(scaled, 2).ok()
}

fn count(v: i64) -> Option<Decimal> {
    Some(Decimal::from_u64(v.max(0) as u64))
}

/// Every measured indicator over `[from, to]` (JST dates).
pub async fn measure(
    pool: &PgPool,
    config: &IndicatorsConfig,
    from: NaiveDate,
    to: NaiveDate,
    fy: FiscalYear,
    now: DateTime<Utc>,
) -> Result<Measures, IndicatorError> {
    let mut out = BTreeMap::new();
    let mut details = BTreeMap::new();
    let start = jst_day_start(from);
    let end = jst_day_start(to) + Duration::days(1);
    let mut put = |k: &str, v: String| {
        details.insert(k.to_owned(), v);
    };

    // The sources are independent: asked at once, a fiscal year costs the
    // slowest of them rather than their sum (BENCHMARKS.md, "A fiscal year
    // of the city").
    // No. 64: uses and the other sums from the hourly rollups, a row a
    // settled day (daily_sums), distinct cards from rides. The plan's figures
    // take the JST calendar date of the boarding, the date the acquirer's
    // transactions carry and the bureau reconciles against (rides
    // themselves are dated by service day; the two differ 00:00-03:00).
    let sums = daily_sums::total(pool, from, to, service_date(now));
    let cards = distinct_cards(pool, from, to, service_date(now));
    // No. 58.
    // Bike-share trips and ticket sales from their daily sums (kept by the
    // imports, backoffice), by the JST date of the trip's start or the sale.
    let bikes = sqlx::query_as::<_, (i64, bool)>(
        "SELECT coalesce(sum(trips), 0)::bigint, EXISTS (SELECT 1 FROM bikeshare_daily)
           FROM bikeshare_daily WHERE jst_date BETWEEN $1 AND $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool);
    // No. 56 ①.
    let searched = kagoshima_storage::usage::searches(pool, "community_bus", from, to);
    // No. 65.
    let tickets = sqlx::query_as::<_, (i64, i64)>(
        "SELECT coalesce(sum(quantity) FILTER (WHERE channel = $4), 0)::bigint,
                coalesce(sum(quantity), 0)::bigint
         FROM ticket_sales_daily WHERE jst_date BETWEEN $1 AND $2 AND ticket_type = ANY($3)",
    )
    .bind(from)
    .bind(to)
    .bind(&config.tickets.one_day_types)
    .bind(&config.tickets.mobile_channel)
    .fetch_one(pool);
    // No. 66.
    let minutes = availability(pool, config, from, to, now);
    // No. 67: units alive at the end of the period (or now).
    let until = end.min(now);
    let units =
        kagoshima_storage::events::signage_units(pool, start, until, until - Duration::hours(24));
    let (sums, cards, (bikes, any_bikes), searched, (mobile, all), minutes, units) = tokio::try_join!(
        sums,
        cards,
        async { bikes.await.map_err(IndicatorError::from) },
        async { searched.await.map_err(IndicatorError::from) },
        async { tickets.await.map_err(IndicatorError::from) },
        minutes,
        async { units.await.map_err(IndicatorError::from) },
    )?;

    out.insert(
        "tap_payment_uses".to_owned(),
        Measured {
            value: if sums.rollup_rows > 0 {
                count(sums.uses)
            } else {
                None
            },
            source: "taps",
        },
    );
    put("distinct_cards", cards.to_string());
    put("tap_boardings", sums.boardings.to_string());
    put("free_transfers", sums.transfers.to_string());
    put("rides_not_tapped_off", sums.not_tapped_off.to_string());
    put("inbound_uses", sums.inbound_uses.to_string());

    out.insert(
        "kagorin_rides".to_owned(),
        Measured {
            value: if any_bikes { count(bikes) } else { None },
            source: "bikeshare_trips",
        },
    );

    out.insert(
        "aibus_stop_searches".to_owned(),
        Measured {
            value: if searched.ever_counted || searched.days > 0 {
                count(searched.searches)
            } else {
                None
            },
            source: "search_counts",
        },
    );

    put("one_day_tickets_mobile", mobile.to_string());
    put("one_day_tickets_all", all.to_string());
    out.insert(
        "mobile_one_day_ticket_share".to_owned(),
        Measured {
            value: percent(mobile.max(0) as u128, all.max(0) as u128),
            source: "ticket_sales",
        },
    );

    let (service, available) = minutes;
    put("service_minutes", service.to_string());
    put("available_minutes", available.to_string());
    out.insert(
        "location_system_service".to_owned(),
        Measured {
            value: percent(available as u128, service as u128),
            source: "vehicle_positions",
        },
    );

    let (alive, seen) = units;
    put("signage_units_seen_in_period", seen.to_string());
    out.insert(
        "signage_units_running".to_owned(),
        Measured {
            value: if seen > 0 { count(alive) } else { None },
            source: "device_status",
        },
    );

    // Surveys and other hand-entered figures (per fiscal year).
    let surveys: Vec<(String, String)> = sqlx::query_as(
        "SELECT indicator_id, value::text FROM survey_results WHERE fiscal_year = $1",
    )
    .bind(fy.year())
    .fetch_all(pool)
    .await?;
    for (id, value) in surveys {
        if MEASURED_IDS.contains(&id.as_str()) {
            continue;
        }
        out.insert(
            id,
            Measured {
                value: value.parse().ok(),
                source: "survey",
            },
        );
    }
    Ok(Measures {
        values: out,
        details,
    })
}

/// Distinct cards (card hash and medium) boarding on JST dates `[from,
/// to]`: the settled days' count from `distinct_cards_cache`, plus the cards
/// of the last two days not seen in them. Counting a fiscal year's rides
/// took seconds (3.1 s at 12 months, BENCHMARKS.md "A fiscal year of the
/// city"), so a count is computed whole only when nothing of it is cached:
/// when the settled days move on by a day, the count of the same start up to
/// an earlier day is extended by the cards new in the days after it. A
/// cached count is used only while no service date it covers has been
/// recomputed since (a late tap recomputes its date, and then the count of
/// that start is made whole again).
async fn distinct_cards(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<i64, IndicatorError> {
    let settled_to = to.min(daily_sums::settled_through(today));
    if settled_to < from {
        return Ok(cards_between(pool, from, to).await?);
    }
    // The longest valid count from `from` up to `settled_to`. Rides of JST
    // date d are on service dates d - 1 and d.
    let cached: Option<(NaiveDate, i64)> = sqlx::query_as(
        "SELECT c.to_date, c.cards FROM distinct_cards_cache c
          WHERE c.from_date = $1 AND c.to_date <= $2
            AND c.computed_at >= coalesce((SELECT max(r.recomputed_at) FROM rides_recomputed r
                                            WHERE r.service_date BETWEEN $1 - 1 AND c.to_date), '-infinity')
          ORDER BY c.to_date DESC LIMIT 1",
    )
    .bind(from)
    .bind(settled_to)
    .fetch_optional(pool)
    .await?;
    let settled = match cached {
        Some((cached_to, n)) if cached_to == settled_to => n,
        cached => {
            // Stamped before counting: a date recomputed meanwhile is newer.
            let started: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
                .fetch_one(pool)
                .await?;
            let n = match cached {
                Some((cached_to, n)) => n + cards_added(pool, from, cached_to, settled_to).await?,
                None => cards_between(pool, from, settled_to).await?,
            };
            sqlx::query(
                "INSERT INTO distinct_cards_cache (from_date, to_date, cards, computed_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (from_date, to_date) DO UPDATE
                    SET cards = EXCLUDED.cards, computed_at = EXCLUDED.computed_at",
            )
            .bind(from)
            .bind(settled_to)
            .bind(n)
            .bind(started)
            .execute(pool)
            .await?;
            n
        }
    };
    if settled_to == to {
        return Ok(settled);
    }
    Ok(settled + cards_added(pool, from, settled_to, to).await?)
}

/// Distinct cards boarding on JST dates `[from, to]`, counted whole (from
/// `ridership_card_days`, rebuilt with the rides).
async fn cards_between(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT DISTINCT card_hash, medium FROM ridership_card_days
                                WHERE jst_date BETWEEN $1 AND $2) cards",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
}

/// Cards boarding on JST dates `(seen_to, to]` that did not board on
/// `[from, seen_to]` (an index probe per card in `ridership_card_days`).
async fn cards_added(
    pool: &PgPool,
    from: NaiveDate,
    seen_to: NaiveDate,
    to: NaiveDate,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT DISTINCT card_hash, medium FROM ridership_card_days
                                WHERE jst_date > $2 AND jst_date <= $3) b
          WHERE NOT EXISTS (SELECT 1 FROM ridership_card_days a
                             WHERE a.card_hash = b.card_hash AND a.medium = b.medium
                               AND a.jst_date BETWEEN $1 AND $2)",
    )
    .bind(from)
    .bind(seen_to)
    .bind(to)
    .fetch_one(pool)
    .await
}

/// Service and available minutes over `[from, to]`, from the daily cache,
/// computing the days that are missing (days before today only are cached).
pub async fn availability(
    pool: &PgPool,
    config: &IndicatorsConfig,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(i64, i64), IndicatorError> {
    let today = service_date(now);
    let last = to.min(today);
    let mut date = from;
    let (mut service, mut available) = (0i64, 0i64);
    // Days without a single position need only their scheduled minutes,
    // and those depend only on which services run: a fiscal year has a
    // handful of such sets. Computing every day in full took about 80 ms a
    // day, 20 s for a fiscal year to date on an empty cache.
    let mut scheduled_by_services: HashMap<Vec<String>, i64> = HashMap::new();
    // The cached days in one query (one query a day was 70 ms a year).
    let cached: Vec<(NaiveDate, i32, i32, bool)> = sqlx::query_as(
        "SELECT service_date, service_minutes, available_minutes, had_positions
           FROM location_availability_daily
         WHERE service_date BETWEEN $1 AND $2",
    )
    .bind(from)
    .bind(last)
    .fetch_all(pool)
    .await?;
    let mut cache: HashMap<NaiveDate, (i32, i32)> = HashMap::with_capacity(cached.len());
    for (d, s, a, had_positions) in cached {
        // A day cached without positions is computed again once it has some.
        if had_positions || !has_positions(pool, config, d).await? {
            cache.insert(d, (s, a));
        }
    }
    while date <= last {
        let (s, a) = match cache.get(&date).copied() {
            Some(v) => v,
            None => {
                let without_positions = config.availability.vehicle_share > 0.0
                    && !has_positions(pool, config, date).await?;
                let v = if without_positions {
                    let services = services_running(pool, date).await?;
                    let minutes = match scheduled_by_services.get(&services) {
                        Some(m) => *m,
                        None => {
                            let m = scheduled_minutes(pool, config, &services).await?;
                            scheduled_by_services.insert(services, m);
                            m
                        }
                    };
                    (minutes as i32, 0)
                } else {
                    compute_availability(pool, config, date).await?
                };
                if date < today {
                    sqlx::query(
                        "INSERT INTO location_availability_daily
                                (service_date, service_minutes, available_minutes, had_positions)
                         VALUES ($1, $2, $3, $4) ON CONFLICT (service_date) DO UPDATE
                         SET service_minutes = EXCLUDED.service_minutes,
                             available_minutes = EXCLUDED.available_minutes,
                             had_positions = EXCLUDED.had_positions, computed_at = now()",
                    )
                    .bind(date)
                    .bind(v.0)
                    .bind(v.1)
                    .bind(!without_positions)
                    .execute(pool)
                    .await?;
                }
                v
            }
        };
        service += i64::from(s);
        available += i64::from(a);
        date += Duration::days(1);
    }
    Ok((service, available))
}

/// The services of the active feed running on `date`, sorted.
async fn services_running(pool: &PgPool, date: NaiveDate) -> Result<Vec<String>, IndicatorError> {
    let mut ids = schedule::services_on(pool, date).await?.service_ids;
    ids.sort();
    Ok(ids)
}

/// Whether any position of the counted modes falls in `date`'s window (the
/// same window [`compute_availability`] counts fresh vehicles in).
async fn has_positions(
    pool: &PgPool,
    config: &IndicatorsConfig,
    date: NaiveDate,
) -> Result<bool, IndicatorError> {
    let a = &config.availability;
    let start = jst_day_start(date);
    Ok(kagoshima_storage::events::any_position(
        pool,
        start - Duration::seconds(a.fresh_s),
        start + Duration::hours(36),
        &a.modes,
    )
    .await?)
}

/// For each minute of a service day with a vehicle scheduled, how many: the
/// distinct vehicles (blocks, or trips without a block) of `services` whose
/// trip spans that minute (minute m is m × 60 GTFS seconds).
async fn scheduled_by_minute(
    pool: &PgPool,
    config: &IndicatorsConfig,
    services: &[String],
) -> Result<BTreeMap<i64, usize>, IndicatorError> {
    let spans = schedule::vehicle_spans(pool, services, &config.availability.modes).await?;
    let mut vehicles: BTreeMap<i64, HashSet<&str>> = BTreeMap::new();
    for span in &spans {
        // Minutes whose start falls within the trip: ceil(first) to floor(last).
        let first = span.first_s.div_euclid(60) + i64::from(span.first_s.rem_euclid(60) != 0);
        for m in first..=span.last_s.div_euclid(60) {
            vehicles.entry(m).or_default().insert(span.vehicle.as_str());
        }
    }
    Ok(vehicles.into_iter().map(|(m, v)| (m, v.len())).collect())
}

/// Minutes with at least one vehicle scheduled when `services` run: the
/// service minutes of [`compute_availability`], without the positions.
async fn scheduled_minutes(
    pool: &PgPool,
    config: &IndicatorsConfig,
    services: &[String],
) -> Result<i64, IndicatorError> {
    Ok(scheduled_by_minute(pool, config, services).await?.len() as i64)
}

/// One service date's availability: for each minute of the service day,
/// the vehicles scheduled (distinct blocks, or trips without a block, of the
/// active feed whose trip spans that minute) and the vehicles with a position
/// younger than `fresh_s`; a minute with vehicles scheduled is available when
/// fresh ≥ share × scheduled.
pub async fn compute_availability(
    pool: &PgPool,
    config: &IndicatorsConfig,
    date: NaiveDate,
) -> Result<(i32, i32), IndicatorError> {
    let a = &config.availability;
    let services = services_running(pool, date).await?;
    let scheduled = scheduled_by_minute(pool, config, &services).await?;
    let fresh: HashMap<i64, i64> = kagoshima_storage::events::fresh_vehicles_by_minute(
        pool,
        jst_day_start(date),
        a.fresh_s as f64,
        &a.modes,
    )
    .await?
    .into_iter()
    .map(|(m, n)| (i64::from(m), n))
    .collect();
    let available = scheduled
        .iter()
        .filter(|(m, n)| fresh.get(m).copied().unwrap_or(0) as f64 >= **n as f64 * a.vehicle_share)
        .count();
    Ok((scheduled.len() as i32, available as i32))
}
