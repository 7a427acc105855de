//! DX-plan progress: the progress rate (進捗率) and status (進捗状況).
//!
//! * Rate = actual / target of the same fiscal year × 100, kept as an exact
//!   fraction ([`ProgressRate`]). Numbers are read as exact decimals
//!   ([`Decimal`], rust_decimal underneath), never as binary floats, so `1961 / 2000 = 98.05 %` is
//!   exactly 98.05 and displays as `98.1`.
//! * Display: one decimal, rounded half up on the exact value
//!   ([`ProgressRate::tenths`]).
//! * Status ([`Status`]): ◎ rate ≥ 90 %, ○ 70 % ≤ rate < 90 %, △ rate < 70 %,
//!   − no target. The thresholds are applied to the **unrounded** rate, as
//!   the plan states them on the rate itself and rounds only for display: a
//!   rate of 89.96 % shows as `90.0` with status ○.
//! * A policy's rate is the mean of its indicators' unrounded rates
//!   ([`ProgressRate::mean`]), then rounded for display and judged like an
//!   indicator's: 48.75 % and 92.72 % average to 70.735 %, shown `70.7`, ○.
use std::fmt;
use std::str::FromStr;

use num_rational::Ratio;
use num_traits::{CheckedAdd, CheckedDiv, ToPrimitive};
use serde::{Deserialize, Serialize};

pub mod table;

/// A non-negative decimal number, read exactly from its text (`1340`,
/// `34.3`, `30.0`). Keeps the number of decimals written, for display;
/// comparison is by value (`30.0 == 30`). The arithmetic is rust_decimal's;
/// this type adds the plan files' grammar and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal(rust_decimal::Decimal);

impl Decimal {
    /// Most digits after the decimal point.
    pub const MAX_SCALE: u32 = 9;
    /// Most significant digits (leading zeros not counted).
    pub const MAX_DIGITS: u32 = 24;

    /// `units × 10^-scale`.
    pub fn new(units: u128, scale: u32) -> Result<Decimal, DecimalError> {
        if scale > Self::MAX_SCALE || units >= 10u128.pow(Self::MAX_DIGITS) {
            return Err(DecimalError::TooLarge(format!("{units}e-{scale}")));
        }
        // Below 10^24, so within rust_decimal's 96-bit mantissa.
        Ok(Decimal(rust_decimal::Decimal::from_i128_with_scale(
            units as i128,
            scale,
        )))
    }

    pub fn from_u64(value: u64) -> Decimal {
        Decimal(rust_decimal::Decimal::from(value))
    }

    /// The decimal a float was written as: the shortest text that reads back
    /// as the same float (`34.3_f64` is `34.3`, not 34.29999…). For numbers
    /// that come from a TOML or JSON file.
    pub fn from_f64_shortest(value: f64) -> Result<Decimal, DecimalError> {
        if !value.is_finite() {
            return Err(DecimalError::Invalid(value.to_string()));
        }
        // `Display` for f64 prints the shortest round-trip digits, never in
        // exponent form.
        value.to_string().parse()
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// The nearest float, for charts; not for computing rates.
    pub fn to_f64(self) -> f64 {
        self.0.to_f64().unwrap_or(f64::NAN)
    }

    /// The exact value as a fraction.
    fn ratio(self) -> Ratio<u128> {
        // Never negative (refused on parsing), scale at most MAX_SCALE.
        Ratio::new(self.0.mantissa() as u128, 10u128.pow(self.0.scale()))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;

    /// Digits with an optional decimal point and digits after it: `1340`,
    /// `34.3`, `0.5`. Surrounding spaces are ignored. No sign, exponent or
    /// thousands separator; negative numbers are refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(DecimalError::Empty);
        }
        if t.starts_with('-') || t.starts_with('−') {
            return Err(DecimalError::Negative(s.to_owned()));
        }
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || (t.contains('.') && frac.is_empty()) {
            return Err(DecimalError::Invalid(s.to_owned()));
        }
        let significant = format!("{int}{frac}").trim_start_matches('0').len();
        if frac.len() as u32 > Self::MAX_SCALE || significant > Self::MAX_DIGITS as usize {
            return Err(DecimalError::TooLarge(s.to_owned()));
        }
        rust_decimal::Decimal::from_str_exact(t)
            .map(Decimal)
            .map_err(|_| DecimalError::Invalid(s.to_owned()))
    }
}

/// Why a text is not a [`Decimal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("empty value")]
    Empty,
    #[error("negative value {0:?}: targets and actuals are counts or shares, never negative")]
    Negative(String),
    #[error(
        "not a number: {0:?} (expected digits with an optional decimal point, such as 1340 or 34.3; no thousands separators)"
    )]
    Invalid(String),
    #[error("{0:?} has too many digits (at most 24 significant digits, 9 after the decimal point)")]
    TooLarge(String),
}

/// Why a rate cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgressError {
    #[error("the target is zero: a progress rate needs a positive target")]
    ZeroTarget,
    #[error("the numbers are too large to compute an exact rate")]
    Overflow,
}

/// An exact progress rate in percent, kept unrounded as a reduced fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgressRate(
    // Numerator and denominator at most `LIMIT`, so that `tenths` and
    // `status` cannot overflow.
    Ratio<u128>,
);

const LIMIT: u128 = 10u128.pow(36);

impl ProgressRate {
    /// actual / target × 100 (%).
    pub fn of(actual: Decimal, target: Decimal) -> Result<ProgressRate, ProgressError> {
        if target.is_zero() {
            return Err(ProgressError::ZeroTarget);
        }
        // At most 10^24 · 10^9 · 100 = 10^35 either way: within `LIMIT`.
        let (a, t) = (actual.ratio(), target.ratio());
        ProgressRate::from_fraction(a.numer() * t.denom() * 100, a.denom() * t.numer())
    }

    /// A rate of `num / den` percent (reduced; `den` must not be zero).
    pub fn from_fraction(num: u128, den: u128) -> Result<ProgressRate, ProgressError> {
        if den == 0 {
            return Err(ProgressError::ZeroTarget);
        }
        ProgressRate::bounded(Ratio::new(num, den))
    }

    fn bounded(r: Ratio<u128>) -> Result<ProgressRate, ProgressError> {
        if *r.numer() > LIMIT || *r.denom() > LIMIT {
            return Err(ProgressError::Overflow);
        }
        Ok(ProgressRate(r))
    }

    /// The mean of unrounded rates (a policy's rate); `None` for no rates.
    pub fn mean(rates: &[ProgressRate]) -> Result<Option<ProgressRate>, ProgressError> {
        let Some((first, rest)) = rates.split_first() else {
            return Ok(None);
        };
        let sum = rest.iter().try_fold(first.0, |acc, r| {
            acc.checked_add(&r.0).ok_or(ProgressError::Overflow)
        })?;
        let n = u128::try_from(rates.len()).map_err(|_| ProgressError::Overflow)?;
        let mean = sum
            .checked_div(&Ratio::from_integer(n))
            .ok_or(ProgressError::Overflow)?;
        ProgressRate::bounded(mean).map(Some)
    }

    /// The rate in tenths of a percent, rounded half up on the exact value:
    /// 98.05 % → 981, 98.0487… % → 980.
    pub fn tenths(self) -> u128 {
        // floor(rate × 10 + 1/2) = floor((20·num + den) / (2·den)).
        let (num, den) = (self.0.numer(), self.0.denom());
        (20 * num + den) / (2 * den)
    }

    /// The rate for display: one decimal, rounded half up (`"98.0"`).
    /// The same as `Display`.
    pub fn display(self) -> String {
        self.to_string()
    }

    /// The nearest float, for charts; the status and the display use the
    /// exact value.
    pub fn to_f64(self) -> f64 {
        *self.0.numer() as f64 / *self.0.denom() as f64
    }

    /// Whether the exact rate is at least `percent` %.
    pub fn at_least(self, percent: u32) -> bool {
        self.0 >= Ratio::from_integer(u128::from(percent))
    }

    /// The status of the exact (unrounded) rate: ◎, ○ or △.
    pub fn status(self) -> Status {
        if self.at_least(90) {
            Status::OnTrack
        } else if self.at_least(70) {
            Status::Fair
        } else {
            Status::Behind
        }
    }
}

impl fmt::Display for ProgressRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.tenths();
        write!(f, "{}.{}", t / 10, t % 10)
    }
}

/// 進捗状況, the status of an indicator or a policy in a fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// ◎: rate ≥ 90 %.
    OnTrack,
    /// ○: 70 % ≤ rate < 90 %.
    Fair,
    /// △: rate < 70 %.
    Behind,
    /// −: no target (not set, or under consideration).
    NoTarget,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::OnTrack,
        Status::Fair,
        Status::Behind,
        Status::NoTarget,
    ];

    /// `◎`, `○`, `△` or `−` (U+2212 MINUS SIGN), as in the plan's tables.
    pub const fn symbol(self) -> &'static str {
        match self {
            Status::OnTrack => "◎",
            Status::Fair => "○",
            Status::Behind => "△",
            Status::NoTarget => "−",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A text that is not a status symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid status {0:?}: expected ◎, ○, △ or − (a hyphen is accepted for −)")]
pub struct ParseStatusError(String);

impl FromStr for Status {
    type Err = ParseStatusError;

    /// The symbols; for − also `-` (hyphen-minus), `－` and `ー`, as typed
    /// in spreadsheets.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "◎" => Ok(Status::OnTrack),
            "○" => Ok(Status::Fair),
            "△" => Ok(Status::Behind),
            "−" | "-" | "－" | "ー" => Ok(Status::NoTarget),
            _ => Err(ParseStatusError(s.to_owned())),
        }
    }
}

/// The progress of one indicator (or one policy) in a fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// `None` when there is no target.
    pub rate: Option<ProgressRate>,
    pub status: Status,
}

impl Progress {
    /// No target: no rate, status −.
    pub const NO_TARGET: Progress = Progress {
        rate: None,
        status: Status::NoTarget,
    };

    pub fn of_rate(rate: ProgressRate) -> Progress {
        Progress {
            rate: Some(rate),
            status: rate.status(),
        }
    }
}

/// The progress of an indicator: with no target, status − whatever the
/// actual; otherwise actual / target.
pub fn assess(target: Option<Decimal>, actual: Decimal) -> Result<Progress, ProgressError> {
    match target {
        None => Ok(Progress::NO_TARGET),
        Some(target) => ProgressRate::of(actual, target).map(Progress::of_rate),
    }
}

/// A policy's progress: the mean of its indicators' unrounded rates, judged
/// like one indicator. `None` when no indicator has a rate.
pub fn policy_progress(rates: &[ProgressRate]) -> Result<Option<Progress>, ProgressError> {
    Ok(ProgressRate::mean(rates)?.map(Progress::of_rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn rate(actual: &str, target: &str) -> ProgressRate {
        ProgressRate::of(dec(actual), dec(target)).unwrap()
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(dec("34.3").to_string(), "34.3");
        assert_eq!(dec("30.0").to_string(), "30.0");
        assert_eq!(dec("0.05").to_string(), "0.05");
        assert_eq!(dec("007").to_string(), "7");
        assert_eq!(dec(" 1340 ").to_string(), "1340");
        assert_eq!(dec("30.0"), dec("30"));
        assert!(dec("7.8") < dec("8.6"));
        assert_eq!(dec("0").to_string(), "0");
        assert_eq!(dec("0.000").to_string(), "0.000");
        assert_eq!(
            Decimal::from_f64_shortest(34.3).unwrap().to_string(),
            "34.3"
        );
        assert_eq!(Decimal::from_f64_shortest(7.8).unwrap(), dec("7.8"));
        assert_eq!(
            Decimal::from_f64_shortest(1e20).unwrap(),
            dec("100000000000000000000")
        );
        assert_eq!(Decimal::new(1234, 2).unwrap().to_string(), "12.34");
        assert_eq!(Decimal::from_u64(164_000).to_string(), "164000");
    }

    #[test]
    fn bad_decimals_are_refused() {
        assert_eq!("".parse::<Decimal>(), Err(DecimalError::Empty));
        assert_eq!("  ".parse::<Decimal>(), Err(DecimalError::Empty));
        assert!(matches!(
            "-1".parse::<Decimal>(),
            Err(DecimalError::Negative(_))
        ));
        for bad in [
            "abc", "1,340", "1e3", ".5", "5.", "+5", "1.2.3", "12 3", "NaN", "٣",
        ] {
            assert!(
                matches!(bad.parse::<Decimal>(), Err(DecimalError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            "1.0000000001".parse::<Decimal>(),
            Err(DecimalError::TooLarge(_))
        ));
        assert!(matches!(
            "1000000000000000000000000".parse::<Decimal>(),
            Err(DecimalError::TooLarge(_))
        ));
        assert!("999999999999999999999999".parse::<Decimal>().is_ok());
        assert!(Decimal::from_f64_shortest(f64::NAN).is_err());
        assert!(Decimal::from_f64_shortest(-1.0).is_err());
    }

    #[test]
    fn seed_fact_rates() {
        assert_eq!(rate("160728", "164000").to_string(), "98.0");
        assert_eq!(rate("1340", "700").to_string(), "191.4");
        assert_eq!(rate("34.3", "30.0").to_string(), "114.3");
        assert_eq!(rate("160728", "164000").status(), Status::OnTrack);
    }

    #[test]
    fn rounding_is_half_up_on_the_exact_value() {
        // 1961 / 2000 = 98.05 exactly; as binary floats 98.05 is 98.04999…
        assert_eq!(rate("1961", "2000").to_string(), "98.1");
        assert_eq!(rate("1961", "2000").tenths(), 981);
        assert_eq!(rate("0.9805", "1").to_string(), "98.1");
        assert_eq!(rate("1.0005", "1").to_string(), "100.1");
        assert_eq!(rate("1.0004999", "1").to_string(), "100.0");
        assert_eq!(rate("2", "3").to_string(), "66.7");
        assert_eq!(rate("1", "3").to_string(), "33.3");
        assert_eq!(rate("0", "5").to_string(), "0.0");
        assert_eq!(rate("12", "17").to_string(), "70.6");
        assert_eq!(rate("7", "3").to_string(), "233.3");
        assert_eq!(rate("28028019", "23140000").to_string(), "121.1");
    }

    #[test]
    fn status_thresholds_use_the_unrounded_rate() {
        assert_eq!(rate("90", "100").status(), Status::OnTrack);
        assert_eq!(rate("70", "100").status(), Status::Fair);
        assert_eq!(rate("89.99", "100").status(), Status::Fair);
        assert_eq!(rate("69.99", "100").status(), Status::Behind);
        // 89.96 % shows as 90.0 but is below 90 %: ○.
        let r = rate("89.96", "100");
        assert_eq!((r.to_string().as_str(), r.status()), ("90.0", Status::Fair));
        let r = rate("69.95", "100");
        assert_eq!(
            (r.to_string().as_str(), r.status()),
            ("70.0", Status::Behind)
        );
        assert_eq!(rate("0", "100").status(), Status::Behind);
        assert_eq!(rate("300", "100").status(), Status::OnTrack);
    }

    #[test]
    fn policy_mean_of_unrounded_rates() {
        // Seed facts: 48.75 % and 92.72 % average to 70.7 % → ○.
        let p = policy_progress(&[rate("48.75", "100"), rate("92.72", "100")])
            .unwrap()
            .unwrap();
        assert_eq!(p.rate.unwrap().to_string(), "70.7");
        assert_eq!(p.status, Status::Fair);
        // Unrounded: 1/3 and 2/3 of 100 % → exactly 50 %, not 33.3 + 66.7.
        let m = ProgressRate::mean(&[rate("1", "3"), rate("2", "3")])
            .unwrap()
            .unwrap();
        assert_eq!(m, ProgressRate::from_fraction(50, 1).unwrap());
        // An exact tie after averaging rounds up: (70.1 + 70.0) / 2 = 70.05.
        let m = ProgressRate::mean(&[rate("70.1", "100"), rate("70", "100")])
            .unwrap()
            .unwrap();
        assert_eq!(m.to_string(), "70.1");
        assert_eq!(ProgressRate::mean(&[]), Ok(None));
        assert_eq!(policy_progress(&[]), Ok(None));
    }

    #[test]
    fn no_target_and_zero_target() {
        assert_eq!(assess(None, dec("5")), Ok(Progress::NO_TARGET));
        assert_eq!(
            assess(Some(dec("0")), dec("5")),
            Err(ProgressError::ZeroTarget)
        );
        assert_eq!(
            assess(Some(dec("0.0")), dec("5")),
            Err(ProgressError::ZeroTarget)
        );
        let p = assess(Some(dec("700")), dec("1340")).unwrap();
        assert_eq!(p.status, Status::OnTrack);
        assert_eq!(p.rate.unwrap().to_string(), "191.4");
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let big = "999999999999999999999999";
        let tiny = "0.000000001";
        assert!(ProgressRate::of(dec(big), dec(tiny)).is_ok());
        assert!(ProgressRate::of(dec(tiny), dec(big)).is_ok());
        let r = ProgressRate::of(dec(big), dec(tiny)).unwrap();
        let _ = (r.tenths(), r.status(), r.to_string());
    }

    #[test]
    fn status_symbols() {
        for s in Status::ALL {
            assert_eq!(s.symbol().parse::<Status>(), Ok(s));
        }
        assert_eq!("-".parse::<Status>(), Ok(Status::NoTarget));
        assert!("x".parse::<Status>().is_err());
        assert_eq!(Status::NoTarget.to_string(), "\u{2212}");
    }
}
