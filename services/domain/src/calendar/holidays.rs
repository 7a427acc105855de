//! National holidays (国民の祝日・休日), computed from the law's rules.
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, Weekday};

use super::fiscal::ymd;

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

#[cfg(test)]
mod tests {
    use super::super::tests::date;
    use super::*;

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
}
