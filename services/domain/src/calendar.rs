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
use std::ops::RangeInclusive;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

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

// ---------------------------------------------------------------------------
// Fiscal years
// ---------------------------------------------------------------------------

/// A Japanese fiscal year (年度): 1 April to 31 March (JST), named after the
/// calendar year in which it starts. `FiscalYear::new(2024)` is FY2024,
/// 令和6年度: 2024-04-01 to 2025-03-31.
///
/// Serialized as its starting year (a plain number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct FiscalYear(i32);

impl FiscalYear {
    /// The smallest year accepted by [`FiscalYear::new`].
    pub const MIN_YEAR: i32 = 1;
    /// The largest year accepted by [`FiscalYear::new`].
    pub const MAX_YEAR: i32 = 9999;

    /// The fiscal year starting in April of `start_year`; `None` outside
    /// [`MIN_YEAR`](Self::MIN_YEAR)..=[`MAX_YEAR`](Self::MAX_YEAR).
    pub const fn new(start_year: i32) -> Option<FiscalYear> {
        if start_year >= Self::MIN_YEAR && start_year <= Self::MAX_YEAR {
            Some(FiscalYear(start_year))
        } else {
            None
        }
    }

    /// The fiscal year a JST calendar date belongs to.
    ///
    /// # Panics
    /// If the date lies outside fiscal years 1..=9999.
    pub fn of_date(date: NaiveDate) -> FiscalYear {
        let year = if date.month() >= 4 {
            date.year()
        } else {
            date.year() - 1
        };
        FiscalYear::new(year).expect("date within fiscal years 1..=9999")
    }

    /// The fiscal year an instant belongs to, judged by its JST date.
    ///
    /// # Panics
    /// If the instant lies outside fiscal years 1..=9999.
    pub fn of_instant(instant: DateTime<Utc>) -> FiscalYear {
        FiscalYear::of_date(service_date(instant))
    }

    /// The calendar year in which this fiscal year starts (2024 for FY2024).
    pub const fn year(self) -> i32 {
        self.0
    }

    /// 1 April, the first day.
    pub fn start_date(self) -> NaiveDate {
        ymd(self.0, 4, 1)
    }

    /// 31 March of the next calendar year, the last day (inclusive).
    pub fn end_date(self) -> NaiveDate {
        ymd(self.0 + 1, 3, 31)
    }

    /// The first instant: 1 April 00:00 JST (31 March 15:00 UTC).
    pub fn start_utc(self) -> DateTime<Utc> {
        jst_day_start(self.start_date())
    }

    /// The end, exclusive: the first instant of the next fiscal year. The
    /// fiscal year is the half-open range `[start_utc, end_utc)`.
    pub fn end_utc(self) -> DateTime<Utc> {
        jst_day_start(ymd(self.0 + 1, 4, 1))
    }

    pub fn contains_date(self, date: NaiveDate) -> bool {
        self.start_date() <= date && date <= self.end_date()
    }

    pub fn contains_instant(self, instant: DateTime<Utc>) -> bool {
        self.start_utc() <= instant && instant < self.end_utc()
    }

    /// The next fiscal year (`None` after FY9999).
    pub const fn next(self) -> Option<FiscalYear> {
        FiscalYear::new(self.0 + 1)
    }

    /// The previous fiscal year (`None` before FY1).
    pub const fn prev(self) -> Option<FiscalYear> {
        FiscalYear::new(self.0 - 1)
    }

    /// The twelve months, April to March.
    pub fn months(self) -> impl Iterator<Item = YearMonth> {
        let first = YearMonth {
            year: self.0,
            month: 4,
        };
        std::iter::successors(Some(first), |m| m.next()).take(12)
    }

    /// `"FY2024"`; the same as `Display`.
    pub fn label(self) -> String {
        self.to_string()
    }

    /// The year of the Reiwa era used in the 年度 name (6 for FY2024, 1 for
    /// FY2019), `None` before FY2019.
    pub fn reiwa_year(self) -> Option<i32> {
        (self.0 >= REIWA_FIRST_FY).then(|| self.0 - REIWA_FIRST_FY + 1)
    }

    /// The Japanese name: `令和6年度` for FY2024, `令和元年度` for FY2019,
    /// `平成30年度` for FY2018, `昭和63年度` for FY1988. FY2019 is 令和元年度
    /// although it started under Heisei (the era changed on 1 May 2019), as
    /// the government names it. Before FY1927 the Western year is used
    /// (`1926年度`).
    pub fn japanese_label(self) -> String {
        let (era, first) = if self.0 >= REIWA_FIRST_FY {
            ("令和", REIWA_FIRST_FY)
        } else if self.0 >= HEISEI_FIRST_FY {
            ("平成", HEISEI_FIRST_FY)
        } else if self.0 >= SHOWA_FIRST_FY {
            ("昭和", SHOWA_FIRST_FY - 1)
        } else {
            return format!("{}年度", self.0);
        };
        let n = self.0 - first + 1;
        if n == 1 {
            format!("{era}元年度")
        } else {
            format!("{era}{n}年度")
        }
    }
}

/// 令和元年度 = FY2019.
const REIWA_FIRST_FY: i32 = 2019;
/// 平成元年度 = FY1989.
const HEISEI_FIRST_FY: i32 = 1989;
/// 昭和2年度 = FY1927 (FY1926 was 大正15年度).
const SHOWA_FIRST_FY: i32 = 1927;

impl fmt::Display for FiscalYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{}", self.0)
    }
}

impl TryFrom<i32> for FiscalYear {
    type Error = ParseFiscalYearError;

    fn try_from(year: i32) -> Result<Self, Self::Error> {
        FiscalYear::new(year).ok_or_else(|| ParseFiscalYearError(year.to_string()))
    }
}

impl From<FiscalYear> for i32 {
    fn from(fy: FiscalYear) -> i32 {
        fy.0
    }
}

/// A text that names no fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid fiscal year {0:?}: expected FY2024, 2024, 令和6年度, 令和元年度, R6 or 平成30年度 (years 1..=9999)"
)]
pub struct ParseFiscalYearError(String);

impl FromStr for FiscalYear {
    type Err = ParseFiscalYearError;

    /// Accepts `FY2024` (any case), `2024`, `2024年度`, `令和6年度`,
    /// `令和元年度`, `R6` (any case) and `平成30年度`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseFiscalYearError(s.to_owned());
        let t = s.trim();
        let era_year = |rest: &str, first: i32| -> Option<i32> {
            let n = rest.strip_suffix("年度").unwrap_or(rest);
            let n: i32 = if n == "元" { 1 } else { parse_digits(n)? };
            (n >= 1).then(|| first + n - 1)
        };
        let year = if let Some(rest) = t.strip_prefix("FY").or_else(|| t.strip_prefix("fy")) {
            parse_digits(rest)
        } else if let Some(rest) = t.strip_prefix('R').or_else(|| t.strip_prefix('r')) {
            era_year(rest, REIWA_FIRST_FY)
        } else if let Some(rest) = t.strip_prefix("令和") {
            era_year(rest, REIWA_FIRST_FY)
        } else if let Some(rest) = t.strip_prefix("平成") {
            era_year(rest, HEISEI_FIRST_FY).filter(|&y| y < REIWA_FIRST_FY)
        } else {
            parse_digits(t.strip_suffix("年度").unwrap_or(t))
        };
        year.and_then(FiscalYear::new).ok_or_else(err)
    }
}

/// ASCII digits only (no sign, no spaces), at most 9 of them.
fn parse_digits(s: &str) -> Option<i32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

// ---------------------------------------------------------------------------
// Months
// ---------------------------------------------------------------------------

/// A calendar month in Japan time. Serialized as `"2024-04"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct YearMonth {
    year: i32,
    month: u32,
}

impl YearMonth {
    /// `None` unless `month` is 1..=12 and `year` is 1..=9999.
    pub const fn new(year: i32, month: u32) -> Option<YearMonth> {
        if year >= 1 && year <= 9999 && month >= 1 && month <= 12 {
            Some(YearMonth { year, month })
        } else {
            None
        }
    }

    /// The month containing a JST date.
    ///
    /// # Panics
    /// If the date lies outside years 1..=9999.
    pub fn of_date(date: NaiveDate) -> YearMonth {
        YearMonth::new(date.year(), date.month()).expect("date within years 1..=9999")
    }

    /// The month containing an instant, judged by its JST date.
    ///
    /// # Panics
    /// If the instant lies outside years 1..=9999.
    pub fn of_instant(instant: DateTime<Utc>) -> YearMonth {
        YearMonth::of_date(service_date(instant))
    }

    pub const fn year(self) -> i32 {
        self.year
    }

    /// 1..=12.
    pub const fn month(self) -> u32 {
        self.month
    }

    pub fn first_day(self) -> NaiveDate {
        ymd(self.year, self.month, 1)
    }

    pub fn last_day(self) -> NaiveDate {
        self.next_first_day()
            .pred_opt()
            .expect("a month has a last day")
    }

    /// The days of the month, in order.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        let last = self.last_day();
        self.first_day().iter_days().take_while(move |d| *d <= last)
    }

    /// The first instant: the 1st at 00:00 JST.
    pub fn start_utc(self) -> DateTime<Utc> {
        jst_day_start(self.first_day())
    }

    /// The end, exclusive: the 1st of the next month at 00:00 JST.
    pub fn end_utc(self) -> DateTime<Utc> {
        jst_day_start(self.next_first_day())
    }

    pub fn contains_instant(self, instant: DateTime<Utc>) -> bool {
        self.start_utc() <= instant && instant < self.end_utc()
    }

    /// The next month (`None` after 9999-12).
    pub const fn next(self) -> Option<YearMonth> {
        if self.month == 12 {
            YearMonth::new(self.year + 1, 1)
        } else {
            YearMonth::new(self.year, self.month + 1)
        }
    }

    /// The previous month (`None` before 0001-01).
    pub const fn prev(self) -> Option<YearMonth> {
        if self.month == 1 {
            YearMonth::new(self.year - 1, 12)
        } else {
            YearMonth::new(self.year, self.month - 1)
        }
    }

    /// The fiscal year the month belongs to: January–March belong to the
    /// fiscal year that started the previous April. (0001-01..=0001-03 belong
    /// to FY0, which is out of range: the result is then FY1.)
    pub fn fiscal_year(self) -> FiscalYear {
        let year = if self.month >= 4 {
            self.year
        } else {
            self.year - 1
        };
        FiscalYear::new(year.max(FiscalYear::MIN_YEAR)).expect("year within range")
    }

    fn next_first_day(self) -> NaiveDate {
        if self.month == 12 {
            ymd(self.year + 1, 1, 1)
        } else {
            ymd(self.year, self.month + 1, 1)
        }
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A text that names no month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid month {0:?}: expected YYYY-MM, such as 2024-04")]
pub struct ParseYearMonthError(String);

impl FromStr for YearMonth {
    type Err = ParseYearMonthError;

    /// `YYYY-MM`, four-digit year and two-digit month.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parsed = s.split_once('-').and_then(|(y, m)| {
            if y.len() != 4 || m.len() != 2 {
                return None;
            }
            let month = u32::try_from(parse_digits(m)?).ok()?;
            YearMonth::new(parse_digits(y)?, month)
        });
        parsed.ok_or_else(|| ParseYearMonthError(s.to_owned()))
    }
}

impl TryFrom<String> for YearMonth {
    type Error = ParseYearMonthError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<YearMonth> for String {
    fn from(m: YearMonth) -> String {
        m.to_string()
    }
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid calendar date")
}

// ---------------------------------------------------------------------------
// National holidays
// ---------------------------------------------------------------------------

/// The years for which the holiday rules are implemented. Outside them
/// [`holiday_name`] returns `None`.
pub const HOLIDAY_YEARS: RangeInclusive<i32> = 2000..=2099;

/// Name of a substitute holiday (振替休日): when a national holiday falls on
/// a Sunday, the next day that is not a national holiday is a holiday.
pub const SUBSTITUTE_HOLIDAY: &str = "振替休日";
/// Name of a citizens' holiday (国民の休日): a day that is not a national
/// holiday but lies between two national holidays.
pub const CITIZENS_HOLIDAY: &str = "国民の休日";

/// The Japanese name of the holiday on `date`, `None` on other days.
///
/// National holidays carry their own name (`"元日"`, `"山の日"`, …); the two
/// kinds of 休日 the law adds are named [`SUBSTITUTE_HOLIDAY`] (`"振替休日"`)
/// and [`CITIZENS_HOLIDAY`] (`"国民の休日"`). (The Cabinet Office list calls
/// both just 休日.) The 2019 enthronement days are `"天皇の即位の日"` (1 May)
/// and `"即位礼正殿の儀の行われる日"` (22 October).
///
/// Only national holidays: the year-end days (12/29–1/3) and other days an
/// operator runs a holiday timetable are not holidays here.
pub fn holiday_name(date: NaiveDate) -> Option<&'static str> {
    if !HOLIDAY_YEARS.contains(&date.year()) {
        return None;
    }
    if let Some(name) = national_holiday(date) {
        Some(name)
    } else if is_substitute_holiday(date) {
        Some(SUBSTITUTE_HOLIDAY)
    } else if is_citizens_holiday(date) {
        Some(CITIZENS_HOLIDAY)
    } else {
        None
    }
}

/// Whether `date` is a national holiday, a substitute holiday or a citizens'
/// holiday (see [`holiday_name`]).
pub fn is_holiday(date: NaiveDate) -> bool {
    holiday_name(date).is_some()
}

/// Every holiday of a calendar year, in date order (empty outside
/// [`HOLIDAY_YEARS`]).
pub fn holidays_in_year(year: i32) -> Vec<(NaiveDate, &'static str)> {
    if !HOLIDAY_YEARS.contains(&year) {
        return Vec::new();
    }
    ymd(year, 1, 1)
        .iter_days()
        .take_while(|d| d.year() == year)
        .filter_map(|d| holiday_name(d).map(|name| (d, name)))
        .collect()
}

/// The day of March of 春分の日, by the standard approximation (valid
/// 1980–2099): floor(20.8431 + 0.242194 (Y − 1980) − floor((Y − 1980) / 4)).
/// Integer arithmetic in millionths, so no float rounding can move a day.
pub fn vernal_equinox_day(year: i32) -> u32 {
    equinox_day(year, 20_843_100)
}

/// The day of September of 秋分の日, by the standard approximation (valid
/// 1980–2099): floor(23.2488 + 0.242194 (Y − 1980) − floor((Y − 1980) / 4)).
pub fn autumnal_equinox_day(year: i32) -> u32 {
    equinox_day(year, 23_248_800)
}

fn equinox_day(year: i32, base_millionths: i64) -> u32 {
    let y = i64::from(year - 1980);
    let millionths = base_millionths + 242_194 * y - y.div_euclid(4) * 1_000_000;
    u32::try_from(millionths.div_euclid(1_000_000)).expect("an equinox day in range")
}

/// The date of substitute-holiday law change (2007): before it, only the
/// Monday after a Sunday holiday was a substitute, and a Sunday between two
/// holidays was not a citizens' holiday.
fn rules_of_2007(date: NaiveDate) -> bool {
    date.year() >= 2007
}

/// The days named by the 国民の祝日に関する法律 (and the special laws of
/// 2019–2021), without substitute and citizens' holidays.
fn national_holiday(date: NaiveDate) -> Option<&'static str> {
    let (y, m, d) = (date.year(), date.month(), date.day());
    let monday = |n: u8| NaiveDate::from_weekday_of_month_opt(y, m, Weekday::Mon, n) == Some(date);
    match m {
        1 if d == 1 => Some("元日"),
        1 if monday(2) => Some("成人の日"),
        2 if d == 11 => Some("建国記念の日"),
        2 if d == 23 && y >= 2020 => Some("天皇誕生日"),
        3 if d == vernal_equinox_day(y) => Some("春分の日"),
        4 if d == 29 && y >= 2007 => Some("昭和の日"),
        4 if d == 29 => Some("みどりの日"),
        5 if d == 1 && y == 2019 => Some("天皇の即位の日"),
        5 if d == 3 => Some("憲法記念日"),
        5 if d == 4 && y >= 2007 => Some("みどりの日"),
        5 if d == 5 => Some("こどもの日"),
        7 if marine_day(y) == Some(d) => Some("海の日"),
        7 if (y == 2020 && d == 24) || (y == 2021 && d == 23) => Some("スポーツの日"),
        8 if mountain_day(y) == Some(d) => Some("山の日"),
        9 if (y >= 2003 && monday(3)) || (y < 2003 && d == 15) => Some("敬老の日"),
        9 if d == autumnal_equinox_day(y) => Some("秋分の日"),
        10 if y == 2019 && d == 22 => Some("即位礼正殿の儀の行われる日"),
        10 if y < 2020 && monday(2) => Some("体育の日"),
        10 if y >= 2022 && monday(2) => Some("スポーツの日"),
        11 if d == 3 => Some("文化の日"),
        11 if d == 23 => Some("勤労感謝の日"),
        12 if d == 23 && (1989..=2018).contains(&y) => Some("天皇誕生日"),
        _ => None,
    }
}

/// 海の日: 20 July until 2002, the third Monday of July from 2003, moved to
/// 23 July in 2020 and 22 July in 2021 for the Olympic Games.
fn marine_day(year: i32) -> Option<u32> {
    match year {
        2020 => Some(23),
        2021 => Some(22),
        ..=2002 => Some(20),
        _ => NaiveDate::from_weekday_of_month_opt(year, 7, Weekday::Mon, 3).map(|d| d.day()),
    }
}

/// 山の日: from 2016, 11 August; 10 August in 2020 and 8 August in 2021.
fn mountain_day(year: i32) -> Option<u32> {
    match year {
        ..=2015 => None,
        2020 => Some(10),
        2021 => Some(8),
        _ => Some(11),
    }
}

fn is_substitute_holiday(date: NaiveDate) -> bool {
    if national_holiday(date).is_some() {
        return false;
    }
    if !rules_of_2007(date) {
        return date.weekday() == Weekday::Mon
            && date
                .pred_opt()
                .is_some_and(|p| national_holiday(p).is_some());
    }
    // Since 2007: the first non-holiday after a run of holidays that
    // contains a Sunday.
    let mut day = date.pred_opt();
    while let Some(d) = day.filter(|d| national_holiday(*d).is_some()) {
        if d.weekday() == Weekday::Sun {
            return true;
        }
        day = d.pred_opt();
    }
    false
}

fn is_citizens_holiday(date: NaiveDate) -> bool {
    let between = |d: Option<NaiveDate>| d.is_some_and(|d| national_holiday(d).is_some());
    national_holiday(date).is_none()
        && between(date.pred_opt())
        && between(date.succ_opt())
        && (rules_of_2007(date) || date.weekday() != Weekday::Sun)
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

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn instant(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
    }

    fn fy(year: i32) -> FiscalYear {
        FiscalYear::new(year).unwrap()
    }

    fn ym(year: i32, month: u32) -> YearMonth {
        YearMonth::new(year, month).unwrap()
    }

    /// Deserializes `value` through serde's value deserializer (the crate
    /// has no format crate; the derive attributes are what is tested).
    fn de<'a, T, V>(value: V) -> Result<T, serde::de::value::Error>
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
    fn fiscal_year_boundary_in_jst() {
        assert_eq!(
            FiscalYear::of_instant(instant("2024-03-31T23:59:59+09:00")),
            fy(2023)
        );
        assert_eq!(
            FiscalYear::of_instant(instant("2024-04-01T00:00:00+09:00")),
            fy(2024)
        );
        // The same boundary in UTC.
        assert_eq!(
            FiscalYear::of_instant(instant("2024-03-31T14:59:59Z")),
            fy(2023)
        );
        assert_eq!(
            FiscalYear::of_instant(instant("2024-03-31T15:00:00Z")),
            fy(2024)
        );
        assert!(fy(2024).contains_instant(instant("2024-03-31T15:00:00Z")));
        assert!(!fy(2024).contains_instant(instant("2025-03-31T15:00:00Z")));
        assert!(fy(2023).contains_date(date("2024-03-31")));
        assert!(!fy(2023).contains_date(date("2024-04-01")));
    }

    #[test]
    fn fiscal_year_span() {
        let f = fy(2024);
        assert_eq!(f.start_date(), date("2024-04-01"));
        assert_eq!(f.end_date(), date("2025-03-31"));
        assert_eq!(f.start_utc(), instant("2024-03-31T15:00:00Z"));
        assert_eq!(f.end_utc(), instant("2025-03-31T15:00:00Z"));
        assert_eq!(f.end_utc(), f.next().unwrap().start_utc());
        assert_eq!(f.prev(), Some(fy(2023)));
        assert_eq!(FiscalYear::of_date(date("2025-01-15")), fy(2024));
        let months: Vec<String> = f.months().map(|m| m.to_string()).collect();
        assert_eq!(months.len(), 12);
        assert_eq!(months[0], "2024-04");
        assert_eq!(months[8], "2024-12");
        assert_eq!(months[11], "2025-03");
        assert!(f.months().all(|m| m.fiscal_year() == f));
        assert_eq!(FiscalYear::new(0), None);
        assert_eq!(FiscalYear::new(10_000), None);
    }

    #[test]
    fn fiscal_year_labels() {
        assert_eq!(fy(2024).label(), "FY2024");
        assert_eq!(fy(2024).to_string(), "FY2024");
        assert_eq!(fy(2024).japanese_label(), "令和6年度");
        assert_eq!(fy(2022).japanese_label(), "令和4年度");
        assert_eq!(fy(2026).japanese_label(), "令和8年度");
        assert_eq!(fy(2019).japanese_label(), "令和元年度");
        assert_eq!(fy(2020).japanese_label(), "令和2年度");
        assert_eq!(fy(2018).japanese_label(), "平成30年度");
        assert_eq!(fy(1989).japanese_label(), "平成元年度");
        assert_eq!(fy(1988).japanese_label(), "昭和63年度");
        assert_eq!(fy(2019).reiwa_year(), Some(1));
        assert_eq!(fy(2026).reiwa_year(), Some(8));
        assert_eq!(fy(2018).reiwa_year(), None);
    }

    #[test]
    fn fiscal_year_parsing() {
        for (text, year) in [
            ("FY2024", 2024),
            ("fy2022", 2022),
            ("2024", 2024),
            ("2024年度", 2024),
            ("令和6年度", 2024),
            ("令和元年度", 2019),
            ("令和8年度", 2026),
            ("R4", 2022),
            ("r8", 2026),
            ("平成30年度", 2018),
            (" FY2023 ", 2023),
        ] {
            assert_eq!(text.parse::<FiscalYear>(), Ok(fy(year)), "{text}");
        }
        for bad in [
            "",
            "FY",
            "FY-1",
            "令和0年度",
            "平成31年度",
            "FY20x4",
            "2024-04",
            "R",
        ] {
            assert!(bad.parse::<FiscalYear>().is_err(), "{bad:?}");
        }
        assert_eq!(de::<FiscalYear, _>(2022_i32), Ok(fy(2022)));
        assert!(de::<FiscalYear, _>(0_i32).is_err());
        assert_eq!(i32::from(fy(2024)), 2024);
    }

    #[test]
    fn year_month_helpers() {
        let m = ym(2024, 2);
        assert_eq!(m.first_day(), date("2024-02-01"));
        assert_eq!(m.last_day(), date("2024-02-29"));
        assert_eq!(m.days().count(), 29);
        assert_eq!(m.start_utc(), instant("2024-01-31T15:00:00Z"));
        assert_eq!(m.end_utc(), instant("2024-02-29T15:00:00Z"));
        assert_eq!(m.fiscal_year(), fy(2023));
        assert_eq!(ym(2024, 4).fiscal_year(), fy(2024));
        assert_eq!(ym(2024, 3).fiscal_year(), fy(2023));
        assert_eq!(ym(2024, 12).next(), Some(ym(2025, 1)));
        assert_eq!(ym(2025, 1).prev(), Some(ym(2024, 12)));
        assert_eq!(ym(2024, 12).end_utc(), instant("2025-01-01T00:00:00+09:00"));
        assert_eq!(ym(2023, 2).last_day(), date("2023-02-28"));
        assert_eq!(
            YearMonth::of_instant(instant("2024-03-31T15:00:00Z")),
            ym(2024, 4)
        );
        assert!(ym(2024, 4).contains_instant(instant("2024-04-30T23:59:59+09:00")));
        assert!(!ym(2024, 4).contains_instant(instant("2024-05-01T00:00:00+09:00")));
        assert_eq!("2024-04".parse::<YearMonth>(), Ok(ym(2024, 4)));
        for bad in ["2024-4", "2024-13", "2024-00", "24-04", "2024/04", ""] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad:?}");
        }
        assert_eq!(YearMonth::new(2024, 0), None);
        assert_eq!(String::from(ym(2024, 4)), "2024-04");
        assert_eq!(de::<YearMonth, _>("2025-03".to_owned()), Ok(ym(2025, 3)));
        assert!(de::<YearMonth, _>("2025-3".to_owned()).is_err());
    }

    #[test]
    fn equinoxes() {
        // (year, 春分 in March, 秋分 in September), as announced.
        let known = [
            (2016, 20, 22),
            (2017, 20, 23),
            (2018, 21, 23),
            (2019, 21, 23),
            (2020, 20, 22),
            (2021, 20, 23),
            (2022, 21, 23),
            (2023, 21, 23),
            (2024, 20, 22),
            (2025, 20, 23),
            (2026, 20, 23),
            (2027, 21, 23),
            (2028, 20, 22),
            (2029, 20, 23),
            (2030, 20, 23),
        ];
        for (year, spring, autumn) in known {
            assert_eq!(vernal_equinox_day(year), spring, "春分 {year}");
            assert_eq!(autumnal_equinox_day(year), autumn, "秋分 {year}");
        }
    }

    fn assert_year(year: i32, expected: &[(&str, &str)]) {
        let got: Vec<(String, &str)> = holidays_in_year(year)
            .into_iter()
            .map(|(d, n)| (d.to_string(), n))
            .collect();
        let want: Vec<(String, &str)> = expected
            .iter()
            .map(|(d, n)| (format!("{year}-{d}"), *n))
            .collect();
        assert_eq!(got, want, "holidays of {year}");
    }

    #[test]
    fn holidays_2024_in_full() {
        assert_year(
            2024,
            &[
                ("01-01", "元日"),
                ("01-08", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-12", "振替休日"),
                ("02-23", "天皇誕生日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-15", "海の日"),
                ("08-11", "山の日"),
                ("08-12", "振替休日"),
                ("09-16", "敬老の日"),
                ("09-22", "秋分の日"),
                ("09-23", "振替休日"),
                ("10-14", "スポーツの日"),
                ("11-03", "文化の日"),
                ("11-04", "振替休日"),
                ("11-23", "勤労感謝の日"),
            ],
        );
    }

    #[test]
    fn holidays_2026_in_full() {
        assert_year(
            2026,
            &[
                ("01-01", "元日"),
                ("01-12", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-20", "海の日"),
                ("08-11", "山の日"),
                ("09-21", "敬老の日"),
                ("09-22", "国民の休日"),
                ("09-23", "秋分の日"),
                ("10-12", "スポーツの日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
            ],
        );
    }

    #[test]
    fn holidays_2019_enthronement_year_in_full() {
        assert_year(
            2019,
            &[
                ("01-01", "元日"),
                ("01-14", "成人の日"),
                ("02-11", "建国記念の日"),
                ("03-21", "春分の日"),
                ("04-29", "昭和の日"),
                ("04-30", "国民の休日"),
                ("05-01", "天皇の即位の日"),
                ("05-02", "国民の休日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-15", "海の日"),
                ("08-11", "山の日"),
                ("08-12", "振替休日"),
                ("09-16", "敬老の日"),
                ("09-23", "秋分の日"),
                ("10-14", "体育の日"),
                ("10-22", "即位礼正殿の儀の行われる日"),
                ("11-03", "文化の日"),
                ("11-04", "振替休日"),
                ("11-23", "勤労感謝の日"),
            ],
        );
    }

    #[test]
    fn holidays_2020_olympic_moves_in_full() {
        assert_year(
            2020,
            &[
                ("01-01", "元日"),
                ("01-13", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("02-24", "振替休日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-23", "海の日"),
                ("07-24", "スポーツの日"),
                ("08-10", "山の日"),
                ("09-21", "敬老の日"),
                ("09-22", "秋分の日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
            ],
        );
    }

    #[test]
    fn holidays_2021_olympic_moves_in_full() {
        assert_year(
            2021,
            &[
                ("01-01", "元日"),
                ("01-11", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("07-22", "海の日"),
                ("07-23", "スポーツの日"),
                ("08-08", "山の日"),
                ("08-09", "振替休日"),
                ("09-20", "敬老の日"),
                ("09-23", "秋分の日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
            ],
        );
    }

    #[test]
    fn holidays_2025_in_full() {
        assert_year(
            2025,
            &[
                ("01-01", "元日"),
                ("01-13", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("02-24", "振替休日"),
                ("03-20", "春分の日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("05-06", "振替休日"),
                ("07-21", "海の日"),
                ("08-11", "山の日"),
                ("09-15", "敬老の日"),
                ("09-23", "秋分の日"),
                ("10-13", "スポーツの日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
                ("11-24", "振替休日"),
            ],
        );
    }

    #[test]
    fn holidays_2027_in_full() {
        assert_year(
            2027,
            &[
                ("01-01", "元日"),
                ("01-11", "成人の日"),
                ("02-11", "建国記念の日"),
                ("02-23", "天皇誕生日"),
                ("03-21", "春分の日"),
                ("03-22", "振替休日"),
                ("04-29", "昭和の日"),
                ("05-03", "憲法記念日"),
                ("05-04", "みどりの日"),
                ("05-05", "こどもの日"),
                ("07-19", "海の日"),
                ("08-11", "山の日"),
                ("09-20", "敬老の日"),
                ("09-23", "秋分の日"),
                ("10-11", "スポーツの日"),
                ("11-03", "文化の日"),
                ("11-23", "勤労感謝の日"),
            ],
        );
    }

    #[test]
    fn holiday_counts_2016_to_2030() {
        // Number of holidays (祝日 and 休日) per year in the Cabinet Office list.
        let counts = [
            (2016, 17),
            (2017, 17),
            (2018, 20),
            (2019, 22),
            (2020, 18),
            (2021, 17),
            (2022, 16),
            (2023, 17),
            (2024, 21),
            (2025, 19),
            (2026, 18),
            (2027, 17),
            (2028, 16),
            (2029, 19),
            (2030, 19),
        ];
        for (year, n) in counts {
            assert_eq!(
                holidays_in_year(year).len(),
                n,
                "{year}: {:?}",
                holidays_in_year(year)
            );
        }
    }

    #[test]
    fn sample_holidays_and_substitutes() {
        for (d, name) in [
            ("2024-02-12", SUBSTITUTE_HOLIDAY),
            ("2024-05-06", SUBSTITUTE_HOLIDAY),
            ("2024-08-12", SUBSTITUTE_HOLIDAY),
            ("2024-09-23", SUBSTITUTE_HOLIDAY),
            ("2024-11-04", SUBSTITUTE_HOLIDAY),
            ("2025-02-24", SUBSTITUTE_HOLIDAY),
            ("2025-05-06", SUBSTITUTE_HOLIDAY),
            ("2025-11-24", SUBSTITUTE_HOLIDAY),
            ("2026-05-06", SUBSTITUTE_HOLIDAY),
            ("2023-01-02", SUBSTITUTE_HOLIDAY),
            ("2019-04-30", CITIZENS_HOLIDAY),
            ("2019-05-02", CITIZENS_HOLIDAY),
            ("2026-09-22", CITIZENS_HOLIDAY),
            ("2015-09-22", CITIZENS_HOLIDAY),
            ("2009-09-22", CITIZENS_HOLIDAY),
            ("2016-08-11", "山の日"),
            ("2018-12-23", "天皇誕生日"),
            ("2018-12-24", SUBSTITUTE_HOLIDAY),
            ("2020-02-23", "天皇誕生日"),
            ("2019-10-14", "体育の日"),
            ("2022-10-10", "スポーツの日"),
            ("2023-07-17", "海の日"),
            ("2022-01-10", "成人の日"),
            ("2030-03-20", "春分の日"),
            ("2028-09-22", "秋分の日"),
            ("2029-04-30", SUBSTITUTE_HOLIDAY),
            ("2006-05-04", CITIZENS_HOLIDAY),
            ("2006-04-29", "みどりの日"),
        ] {
            assert_eq!(holiday_name(date(d)), Some(name), "{d}");
            assert!(is_holiday(date(d)), "{d}");
        }
    }

    #[test]
    fn not_holidays() {
        for d in [
            "2019-12-23", // no emperor's birthday in 2019
            "2019-02-23",
            "2020-12-23",
            "2015-08-11", // before 山の日
            "2020-07-20", // the third Monday, not 海の日 that year
            "2020-08-11",
            "2020-10-12", // スポーツの日 moved to July
            "2021-07-19",
            "2021-08-11",
            "2021-10-11",
            "2021-03-22", // 春分 2021 was a Saturday: no substitute
            "2024-12-31",
            "2024-01-02",
            "2024-05-07",
            "2024-09-24",
            "2025-09-22", // between 敬老 (15th) and 秋分 (23rd): not sandwiched
            "2026-05-07",
            "2026-09-24",
            "2027-05-06",
            "2025-03-21",
            "2024-03-21",
            "2027-03-20",
            "2022-05-06",
        ] {
            assert_eq!(holiday_name(date(d)), None, "{d}");
            assert!(!is_holiday(date(d)), "{d}");
        }
        assert_eq!(
            holiday_name(date("1999-01-01")),
            None,
            "outside HOLIDAY_YEARS"
        );
        assert!(holidays_in_year(2100).is_empty());
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
