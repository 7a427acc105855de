//! Which services run on a date: GTFS `calendar` + `calendar_dates`, with the
//! Japanese national-holiday rule.
//!
//! **The holiday rule.** Japanese operators run their Sunday/holiday timetable
//! (日祝ダイヤ, 土休日ダイヤ) on national holidays (国民の祝日・休日, as computed by
//! `kagoshima_domain::calendar::is_holiday`). A feed made to GTFS-JP says so
//! with `calendar_dates.txt` (remove the weekday service, add the holiday one),
//! and then the feed is followed exactly. When a feed has **no
//! `calendar_dates` row at all for a national holiday that falls on Monday to
//! Friday**, the services of that date are those whose `calendar` runs on
//! Sundays (and is valid on that date) instead of those that run on that
//! weekday. A feed that mentions the date in any way is trusted as it is.
use chrono::{Datelike, NaiveDate, Weekday};
use kagoshima_domain::calendar::is_holiday;
use sqlx::PgExecutor;

/// The services of one date in one feed version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceDay {
    pub service_ids: Vec<String>,
    /// The date is a national holiday.
    pub holiday: bool,
    /// The holiday rule replaced the weekday services by the Sunday ones.
    pub holiday_fallback: bool,
}

fn weekday_column(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// The services running on `date` in feed version `feed_version_id`.
pub async fn services_on<'c, E>(
    db: E,
    feed_version_id: i64,
    date: NaiveDate,
) -> Result<ServiceDay, sqlx::Error>
where
    E: PgExecutor<'c> + Copy,
{
    let holiday = is_holiday(date);
    let weekday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    let mentioned: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM network_calendar_dates WHERE feed_version_id = $1 AND date = $2)",
    )
    .bind(feed_version_id)
    .bind(date)
    .fetch_one(db)
    .await?;
    let holiday_fallback = holiday && weekday && !mentioned;
    let column = if holiday_fallback {
        "sunday"
    } else {
        weekday_column(date.weekday())
    };
    // `column` is one of seven fixed names, never user input.
    let sql = format!(
        "SELECT service_id FROM network_calendars
          WHERE feed_version_id = $1 AND {column} AND start_date <= $2 AND end_date >= $2
         UNION
         SELECT service_id FROM network_calendar_dates
          WHERE feed_version_id = $1 AND date = $2 AND exception_type = 1
         EXCEPT
         SELECT service_id FROM network_calendar_dates
          WHERE feed_version_id = $1 AND date = $2 AND exception_type = 2
         ORDER BY 1"
    );
    let service_ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(feed_version_id)
        .bind(date)
        .fetch_all(db)
        .await?;
    Ok(ServiceDay {
        service_ids,
        holiday,
        holiday_fallback,
    })
}

/// The services running on `date` in any of the feed versions `versions`
/// (their service IDs are apart: see [`crate::namespace`]), each version
/// under the holiday rule on its own.
pub async fn services_on_all<'c, E>(
    db: E,
    versions: &[i64],
    date: NaiveDate,
) -> Result<ServiceDay, sqlx::Error>
where
    E: PgExecutor<'c> + Copy,
{
    let mut all = ServiceDay {
        holiday: is_holiday(date),
        ..ServiceDay::default()
    };
    for &version in versions {
        let day = services_on(db, version, date).await?;
        all.service_ids.extend(day.service_ids);
        all.holiday_fallback |= day.holiday_fallback;
    }
    all.service_ids.sort();
    Ok(all)
}

/// The id of the primary feed's active version (else of the first other
/// feed's), if any feed was imported.
pub async fn active_version<'c, E: PgExecutor<'c>>(db: E) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM feed_versions WHERE active ORDER BY feed_id LIMIT 1")
        .fetch_optional(db)
        .await
}

/// The active version of every feed (the primary feed's first); empty
/// before the first import.
pub async fn active_versions<'c, E: PgExecutor<'c>>(db: E) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM feed_versions WHERE active ORDER BY feed_id")
        .fetch_all(db)
        .await
}
