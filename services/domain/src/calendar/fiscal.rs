//! Fiscal years (年度, April to March) and calendar months, in Japan time.
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{jst_day_start, service_date};

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

pub(super) fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid calendar date")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{date, de, fy, instant, ym};
    use super::*;

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
}
