//! Japanese calendar rules: Japan time, fiscal years (年度), months, national
//! holidays (国民の祝日・休日) and the timetable day type.
//!
//! **The rule for days**, one for the whole platform:
//! - Anything joined to trips (stop visits, rides, loads, OD, ridership,
//!   timetable work, the tracker) is dated by the timetable's service day,
//!   [`transit_service_day`] (03:00 to 03:00 JST): a ride on the 00:40 tram
//!   belongs to the trip, and the day, that carried it.
//! - The DX plan's indicators and the monthly fare cap are counted by the
//!   JST calendar date, [`service_date`]: the date of the acquirer's
//!   transactions, which the bureau reconciles against.
//!
//! Everything here is pure and works without a network or a time-zone
//! database: Japan has had no daylight saving time since 1951, so Japan time
//! is the fixed offset [`JST`] (UTC+9).
//!
//! Holidays are computed from the rules of the 国民の祝日に関する法律 and the
//! special laws for 2019 (enthronement) and 2020/2021 (Olympic moves); no
//! list is downloaded. The rules are implemented for [`HOLIDAY_YEARS`]
//! (2000–2099). 春分の日 and 秋分の日 use the standard approximation formula;
//! the Cabinet Office fixes them formally each February for the next year,
//! and for 2000–2030 the formula gives the same days.
use std::fmt;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

mod fiscal;
mod holidays;

pub use fiscal::{FiscalYear, ParseFiscalYearError, ParseYearMonthError, YearMonth};
pub use holidays::{
    CITIZENS_HOLIDAY, HOLIDAY_YEARS, SUBSTITUTE_HOLIDAY, autumnal_equinox_day, holiday_name,
    holidays_in_year, is_holiday, vernal_equinox_day,
};

/// Japan Standard Time, UTC+9 all year (no daylight saving time).
pub const JST: FixedOffset = match FixedOffset::east_opt(9 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+9 is a valid offset"),
};

/// Local hour (JST) at which a transit service day starts. Trips running
/// after midnight (the last trams and night buses) belong to the service day
/// that began the previous morning, as in GTFS where such trips have times
/// like `25:10:00`.
pub const SERVICE_DAY_START_HOUR: u32 = 3;

/// The instant seen in Japan time.
pub fn to_jst(instant: DateTime<Utc>) -> DateTime<FixedOffset> {
    instant.with_timezone(&JST)
}

/// The calendar date in Japan at `instant` (midnight to midnight, JST).
pub fn service_date(instant: DateTime<Utc>) -> NaiveDate {
    to_jst(instant).date_naive()
}

/// The transit service day of `instant`: the JST calendar date, except that
/// times from 00:00 to 02:59:59 JST belong to the previous date (see
/// [`SERVICE_DAY_START_HOUR`]). A tap at 00:40 JST on 2 April is counted on
/// the service day of 1 April, with that day's timetable and day type.
pub fn transit_service_day(instant: DateTime<Utc>) -> NaiveDate {
    (to_jst(instant) - Duration::hours(i64::from(SERVICE_DAY_START_HOUR))).date_naive()
}

/// The instant (in UTC) at which `date` starts in Japan: 00:00 JST, which is
/// 15:00 UTC on the previous day.
pub fn jst_day_start(date: NaiveDate) -> DateTime<Utc> {
    (date.and_time(NaiveTime::MIN) - Duration::hours(9)).and_utc()
}

/// The instant (in UTC) at which the transit service day `date` starts:
/// 03:00 JST on that date. The service day ends where the next one starts.
pub fn transit_service_day_start(date: NaiveDate) -> DateTime<Utc> {
    jst_day_start(date) + Duration::hours(i64::from(SERVICE_DAY_START_HOUR))
}

/// A GTFS time, `HH:MM:SS`, of seconds after the service day's start
/// (noon minus 12 h); it passes 24:00:00 for trips after midnight.
pub fn gtfs_time(seconds: u32) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Seconds after the service day's start of a GTFS time `HH:MM:SS` (hours
/// may pass 24); `None` for anything else.
pub fn parse_gtfs_time(text: &str) -> Option<u32> {
    let mut parts = text.trim().split(':').map(|p| p.parse::<u32>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() {
        return None;
    }
    Some(h * 3600 + m * 60 + s)
}

// ---------------------------------------------------------------------------
// Day types
// ---------------------------------------------------------------------------

/// The timetable day type (平日 / 土曜 / 日祝).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayType {
    /// Monday to Friday that is not a holiday (平日).
    Weekday,
    /// A Saturday that is not a holiday (土曜).
    Saturday,
    /// A Sunday or a holiday of any kind (日祝), including a Saturday that
    /// is a holiday.
    Holiday,
}

impl DayType {
    /// `"weekday"`, `"saturday"` or `"holiday"`, as serialized.
    pub const fn as_str(self) -> &'static str {
        match self {
            DayType::Weekday => "weekday",
            DayType::Saturday => "saturday",
            DayType::Holiday => "holiday",
        }
    }
}

impl fmt::Display for DayType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The day type of a date: Sundays and holidays (see [`is_holiday`]) are
/// [`DayType::Holiday`], other Saturdays [`DayType::Saturday`], the rest
/// [`DayType::Weekday`].
pub fn day_type(date: NaiveDate) -> DayType {
    if date.weekday() == Weekday::Sun || is_holiday(date) {
        DayType::Holiday
    } else if date.weekday() == Weekday::Sat {
        DayType::Saturday
    } else {
        DayType::Weekday
    }
}

/// The day type of the transit service day of `instant` (see
/// [`transit_service_day`]): a trip at 01:00 JST on a Monday runs on
/// Sunday's timetable.
pub fn service_day_type(instant: DateTime<Utc>) -> DayType {
    day_type(transit_service_day(instant))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    pub(super) fn instant(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    pub(super) fn fy(year: i32) -> FiscalYear {
        FiscalYear::new(year).unwrap()
    }

    pub(super) fn ym(year: i32, month: u32) -> YearMonth {
        YearMonth::new(year, month).unwrap()
    }

    /// Deserializes `value` through serde's value deserializer (the crate
    /// has no format crate; the derive attributes are what is tested).
    pub(super) fn de<'a, T, V>(value: V) -> Result<T, serde::de::value::Error>
    where
        T: Deserialize<'a>,
        V: serde::de::IntoDeserializer<'a, serde::de::value::Error>,
    {
        T::deserialize(value.into_deserializer())
    }

    #[test]
    fn jst_is_utc_plus_nine() {
        assert_eq!(JST.local_minus_utc(), 9 * 3600);
        let t = instant("2024-06-30T15:00:00Z");
        assert_eq!(to_jst(t).to_rfc3339(), "2024-07-01T00:00:00+09:00");
    }

    #[test]
    fn service_date_is_the_jst_date() {
        assert_eq!(
            service_date(instant("2024-06-30T14:59:59Z")),
            date("2024-06-30")
        );
        assert_eq!(
            service_date(instant("2024-06-30T15:00:00Z")),
            date("2024-07-01")
        );
        assert_eq!(
            jst_day_start(date("2024-07-01")),
            instant("2024-06-30T15:00:00Z")
        );
    }

    #[test]
    fn transit_service_day_starts_at_three_jst() {
        let d = |s| transit_service_day(instant(s));
        assert_eq!(d("2024-04-02T00:40:00+09:00"), date("2024-04-01"));
        assert_eq!(d("2024-04-02T02:59:59+09:00"), date("2024-04-01"));
        assert_eq!(d("2024-04-02T03:00:00+09:00"), date("2024-04-02"));
        assert_eq!(d("2024-04-01T23:59:59+09:00"), date("2024-04-01"));
        assert_eq!(
            transit_service_day_start(date("2024-04-02")),
            instant("2024-04-02T03:00:00+09:00")
        );
        // 01:00 on Monday 2024-05-06 (a substitute holiday) runs on Sunday's
        // service day; 01:00 on Tuesday 7 May on the holiday's.
        assert_eq!(
            service_day_type(instant("2024-05-07T01:00:00+09:00")),
            DayType::Holiday
        );
        assert_eq!(
            service_day_type(instant("2024-05-07T03:00:00+09:00")),
            DayType::Weekday
        );
    }

    #[test]
    fn day_types() {
        assert_eq!(day_type(date("2024-04-01")), DayType::Weekday); // Monday
        assert_eq!(day_type(date("2024-04-06")), DayType::Saturday);
        assert_eq!(day_type(date("2024-04-07")), DayType::Holiday); // Sunday
        assert_eq!(day_type(date("2024-05-06")), DayType::Holiday); // 振替休日
        assert_eq!(day_type(date("2024-05-04")), DayType::Holiday); // holiday on a Saturday
        assert_eq!(day_type(date("2026-09-22")), DayType::Holiday); // 国民の休日
        assert_eq!(day_type(date("2024-12-31")), DayType::Weekday);
        for t in [DayType::Weekday, DayType::Saturday, DayType::Holiday] {
            assert_eq!(de::<DayType, _>(t.as_str()), Ok(t));
        }
        assert!(de::<DayType, _>("sunday").is_err());
        assert_eq!(DayType::Holiday.to_string(), "holiday");
    }
}
