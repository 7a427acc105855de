//! The time bands of the day the timetable is planned in, by the scheduled
//! departure's hour in Japan time (GTFS times past 24:00 are the evening's).
use serde::Serialize;

/// A band of the service day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// First trips to 07:00.
    Early,
    /// 07:00-09:00, the morning rush.
    AmPeak,
    /// 09:00-16:00.
    Midday,
    /// 16:00-19:00, the evening rush.
    PmPeak,
    /// 19:00 to the last trips.
    Evening,
}

impl Band {
    pub const ALL: [Band; 5] = [
        Band::Early,
        Band::AmPeak,
        Band::Midday,
        Band::PmPeak,
        Band::Evening,
    ];

    /// The band of a scheduled time, `hour` in Japan time (0-23; the hours
    /// after midnight, before the 03:00 start of the service day, are the
    /// evening's).
    pub fn of_hour(hour: u32) -> Band {
        match hour {
            3..=6 => Band::Early,
            7..=8 => Band::AmPeak,
            9..=15 => Band::Midday,
            16..=18 => Band::PmPeak,
            _ => Band::Evening,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Band::Early => "early",
            Band::AmPeak => "am_peak",
            Band::Midday => "midday",
            Band::PmPeak => "pm_peak",
            Band::Evening => "evening",
        }
    }

    pub fn parse(name: &str) -> Option<Band> {
        Band::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Japanese first, English beside it.
    pub fn label(self) -> &'static str {
        match self {
            Band::Early => "早朝 (始発-7時) / Early",
            Band::AmPeak => "朝ピーク (7-9時) / Morning peak",
            Band::Midday => "日中 (9-16時) / Midday",
            Band::PmPeak => "夕ピーク (16-19時) / Evening peak",
            Band::Evening => "夜間 (19時-終発) / Evening",
        }
    }

    /// The SQL expression of the band's name for a `timestamptz` column.
    pub fn sql_of(column: &str) -> String {
        let hour =
            format!("extract(hour FROM ({column} AT TIME ZONE 'UTC') + interval '9 hours')::int");
        format!(
            "CASE WHEN {hour} BETWEEN 3 AND 6 THEN 'early' WHEN {hour} BETWEEN 7 AND 8 THEN 'am_peak' \
             WHEN {hour} BETWEEN 9 AND 15 THEN 'midday' WHEN {hour} BETWEEN 16 AND 18 THEN 'pm_peak' \
             ELSE 'evening' END"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hour_has_one_band_and_names_read_back() {
        let bands: Vec<Band> = (0..24).map(Band::of_hour).collect();
        assert_eq!(bands[2], Band::Evening, "after midnight: the evening's");
        assert_eq!(bands[6], Band::Early);
        assert_eq!(bands[8], Band::AmPeak);
        assert_eq!(bands[9], Band::Midday);
        assert_eq!(bands[18], Band::PmPeak);
        assert_eq!(bands[19], Band::Evening);
        for b in Band::ALL {
            assert_eq!(Band::parse(b.name()), Some(b));
        }
    }
}
