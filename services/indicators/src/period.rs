//! Report periods: a JST calendar month or a fiscal year (April–March JST).
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use kagoshima_domain::calendar::{FiscalYear, YearMonth, service_date};

use crate::error::IndicatorError;

/// A month (with its fiscal year to date) or a whole fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month(YearMonth),
    FiscalYear(FiscalYear),
}

impl Period {
    pub fn fiscal_year(self) -> FiscalYear {
        match self {
            Period::Month(m) => m.fiscal_year(),
            Period::FiscalYear(fy) => fy,
        }
    }

    /// First and last JST date of the period.
    pub fn dates(self) -> (NaiveDate, NaiveDate) {
        match self {
            Period::Month(m) => (m.first_day(), m.last_day()),
            Period::FiscalYear(fy) => (fy.start_date(), fy.end_date()),
        }
    }

    /// First and last date of the fiscal year up to the end of this period
    /// (a month: April to that month; a fiscal year: all of it).
    pub fn fiscal_year_to_date(self) -> (NaiveDate, NaiveDate) {
        let fy = self.fiscal_year();
        (fy.start_date(), self.dates().1)
    }

    /// 令和7年度 6月 / 令和7年度.
    pub fn label_ja(self) -> String {
        match self {
            Period::Month(m) => format!(
                "{} {}月 ({}年{}月)",
                m.fiscal_year().japanese_label(),
                m.month(),
                m.year(),
                m.month()
            ),
            Period::FiscalYear(fy) => fy.japanese_label(),
        }
    }

    /// File-name friendly: 2025-06 or FY2025.
    pub fn slug(self) -> String {
        self.to_string()
    }

    /// Refuses a period that starts after today (JST).
    pub fn check_not_future(self, now: DateTime<Utc>) -> Result<(), IndicatorError> {
        let today = service_date(now);
        let (start, _) = self.dates();
        if start > today {
            return Err(IndicatorError::FuturePeriod {
                period: self.to_string(),
                today,
            });
        }
        Ok(())
    }

    /// Parses `YYYY-MM` or a fiscal year (FY2024, 2024, R6, 令和6年度).
    pub fn parse(text: &str) -> Result<Period, IndicatorError> {
        let t = text.trim();
        if t.len() == 7 && t.as_bytes()[4] == b'-' {
            return parse_month(t).map(Period::Month);
        }
        parse_fiscal_year(t).map(Period::FiscalYear)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(m) => write!(f, "{m}"),
            Period::FiscalYear(fy) => write!(f, "{fy}"),
        }
    }
}

pub fn parse_month(text: &str) -> Result<YearMonth, IndicatorError> {
    YearMonth::from_str(text.trim()).map_err(|e| IndicatorError::BadPeriod(e.to_string()))
}

pub fn parse_fiscal_year(text: &str) -> Result<FiscalYear, IndicatorError> {
    FiscalYear::from_str(text.trim()).map_err(|e| IndicatorError::BadPeriod(e.to_string()))
}
