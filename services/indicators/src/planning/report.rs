//! The planning report on disk: a summary for the bureau (Japanese first,
//! English beside it), one CSV per table and a workbook of them all
//! (XLSX), the analysis as JSON, charts
//! (running times by band, load profiles of the crowded trips) as SVG, and
//! the draft timetable with its diff.
use std::fmt::Write as _;

use super::{
    analysis::{Analysis, EARLY_S, LATE_S, MIN_RUNS, RECOMMENDED_PERCENTILE},
    bands::Band,
    bundle::Files,
    draft::{Draft, diff_csv},
};

/// A CSV field: quoted when it holds a comma, quote or line break (stop
/// names may).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Every file of the report but the per-route charts (see
/// [`super::bundle`]): summary, tables, workbook, JSON, the trip-time chart.
pub fn files(analysis: &Analysis, draft: Option<&Draft>) -> std::io::Result<Files> {
    let mut files = Files::new();
    let mut tables: Vec<(String, String)> = Vec::new();
    let stop = |id: &str| field(&analysis.stop_name(id));
    let mut put = |name: &str, text: String| -> std::io::Result<()> {
        if name.ends_with(".csv") {
            tables.push((name.to_owned(), text.clone()));
        }
        files.insert(name.to_owned(), text.into_bytes());
        Ok(())
    };
    put("summary.md", summary(analysis, draft))?;
    put(
        "analysis.json",
        serde_json::to_string_pretty(analysis).unwrap_or_default(),
    )?;
    put(
        "segments.csv",
        csv_of(
            "route_id,direction_id,from_stop,to_stop,from_stop_name,to_stop_name,band,runs,scheduled_s,p10_s,p50_s,p85_s,p95_s",
            analysis.segments.iter().map(|s| {
                format!(
                    "{},{},{},{},{},{},{},{},{:.0},{:.0},{:.0},{:.0},{:.0}",
                    s.route_id,
                    s.direction_id,
                    s.from_stop,
                    s.to_stop,
                    stop(&s.from_stop),
                    stop(&s.to_stop),
                    s.band.name(),
                    s.runs,
                    s.scheduled_s,
                    s.p10_s,
                    s.p50_s,
                    s.p85_s,
                    s.p95_s
                )
            }),
        ),
    )?;
    put(
        "trip_times.csv",
        csv_of(
            "route_id,direction_id,first_stop,last_stop,first_stop_name,last_stop_name,band,runs,scheduled_s,p50_s,p85_s,p95_s,recommended_s",
            analysis.trip_times.iter().map(|t| {
                format!(
                    "{},{},{},{},{},{},{},{},{:.0},{:.0},{:.0},{:.0},{:.0}",
                    t.route_id,
                    t.direction_id,
                    t.first_stop,
                    t.last_stop,
                    stop(&t.first_stop),
                    stop(&t.last_stop),
                    t.band.name(),
                    t.runs,
                    t.scheduled_s,
                    t.p50_s,
                    t.p85_s,
                    t.p95_s,
                    t.recommended_s
                )
            }),
        ),
    )?;
    put(
        "dwells.csv",
        csv_of(
            "route_id,stop_id,stop_name,band,visits,p50_s,p85_s",
            analysis.dwells.iter().map(|d| {
                format!(
                    "{},{},{},{},{},{:.0},{:.0}",
                    d.route_id,
                    d.stop_id,
                    stop(&d.stop_id),
                    d.band.name(),
                    d.visits,
                    d.p50_s,
                    d.p85_s
                )
            }),
        ),
    )?;
    put(
        "adherence.csv",
        csv_of(
            "route_id,band,departures,early_share,on_time_share,late_share",
            analysis.adherence.iter().map(|a| {
                format!(
                    "{},{},{},{:.3},{:.3},{:.3}",
                    a.route_id,
                    a.band.name(),
                    a.departures,
                    a.early_share,
                    a.on_time_share,
                    a.late_share
                )
            }),
        ),
    )?;
    put(
        "headways.csv",
        csv_of(
            "route_id,direction_id,band,intervals,scheduled_mean_s,actual_mean_s,cv,bunched_share",
            analysis.headways.iter().map(|h| {
                format!(
                    "{},{},{},{},{:.0},{:.0},{:.3},{:.3}",
                    h.route_id,
                    h.direction_id,
                    h.band.name(),
                    h.intervals,
                    h.scheduled_mean_s,
                    h.actual_mean_s,
                    h.cv,
                    h.bunched_share
                )
            }),
        ),
    )?;
    put(
        "trips.csv",
        csv_of(
            "service_date,trip_id,route_id,direction_id,band,boardings,peak_load,peak_stop_id,peak_stop_name,capacity,crowded,source",
            analysis.trips.iter().map(|t| {
                format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{}",
                    t.service_date,
                    t.trip_id,
                    t.route_id,
                    t.direction_id,
                    t.band.name(),
                    t.boardings,
                    t.peak_load,
                    t.peak_stop_id,
                    stop(&t.peak_stop_id),
                    t.capacity,
                    t.crowded,
                    t.source
                )
            }),
        ),
    )?;
    put(
        "od.csv",
        csv_of(
            "band,from_stop,to_stop,from_stop_name,to_stop_name,rides",
            analysis.od.iter().map(|c| {
                format!(
                    "{},{},{},{},{},{}",
                    c.band.name(),
                    c.from_stop,
                    c.to_stop,
                    stop(&c.from_stop),
                    stop(&c.to_stop),
                    c.rides
                )
            }),
        ),
    )?;
    put(
        "inbound.csv",
        csv_of(
            "route_id,stop_id,stop_name,rides,inbound,share",
            analysis.inbound.iter().map(|i| {
                format!(
                    "{},{},{},{},{},{:.3}",
                    i.route_id,
                    i.stop_id.as_deref().unwrap_or(""),
                    i.stop_id.as_deref().map(&stop).unwrap_or_default(),
                    i.rides,
                    i.inbound,
                    i.share
                )
            }),
        ),
    )?;
    put(
        "load_profiles.csv",
        csv_of(
            "route_id,direction_id,band,trips,capacity,stop_sequence,stop_id,stop_name,mean_boardings,mean_alightings,mean_load,p85_load,max_load",
            analysis.load_profiles.iter().flat_map(|p| {
                p.stops.iter().map(move |x| {
                    format!(
                        "{},{},{},{},{},{},{},{},{:.1},{:.1},{:.1},{:.0},{}",
                        p.route_id,
                        p.direction_id,
                        p.band.name(),
                        p.trips,
                        p.capacity,
                        x.stop_sequence,
                        x.stop_id,
                        stop(&x.stop_id),
                        x.mean_boardings,
                        x.mean_alightings,
                        x.mean_load,
                        x.p85_load,
                        x.max_load
                    )
                })
            }),
        ),
    )?;
    put(
        "suggestions.csv",
        csv_of(
            "route_id,direction_id,trip_id,departure,days,crowded_days,mean_peak_load,design_load,capacity,action,moved_trip_id,new_departure,expected_load",
            analysis.suggestions.iter().map(|x| {
                let at = |s: i32| kagoshima_domain::calendar::gtfs_time(s.max(0) as u32);
                format!(
                    "{},{},{},{},{},{},{:.1},{:.1},{},{},{},{},{:.1}",
                    x.route_id,
                    x.direction_id,
                    x.trip_id,
                    at(x.departure_s),
                    x.days,
                    x.crowded_days,
                    x.mean_peak_load,
                    x.design_load,
                    x.capacity,
                    x.action.name(),
                    x.moved_trip_id.as_deref().unwrap_or(""),
                    at(x.new_departure_s),
                    x.expected_load
                )
            }),
        ),
    )?;
    if let Some(d) = draft {
        put("draft-diff.csv", diff_csv(d))?;
    }
    if let Some(svg) = running_time_chart(analysis) {
        put("running-times.svg", svg)?;
    }
    let xlsx = workbook(&tables).map_err(std::io::Error::other)?;
    files.insert("planning.xlsx".to_owned(), xlsx);
    Ok(files)
}

/// Every table of the report as a sheet of one workbook (Japanese sheet
/// names, the CSV's columns, numbers as numbers).
fn workbook(tables: &[(String, String)]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for (file, text) in tables {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(file))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        for (r, record) in reader.records().enumerate() {
            let record =
                record.map_err(|e| rust_xlsxwriter::XlsxError::ParameterError(e.to_string()))?;
            for (c, cell) in record.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell.parse::<f64>() {
                    _ if r == 0 => ws.write_string_with_format(r, c, cell, &bold)?,
                    Ok(v) => ws.write_number(r, c, v)?,
                    Err(_) => ws.write_string(r, c, cell)?,
                };
            }
        }
        ws.set_freeze_panes(1, 0)?;
    }
    wb.save_to_buffer()
}

fn sheet_name(file: &str) -> &str {
    match file {
        "trip_times.csv" => "所要時間",
        "segments.csv" => "区間所要時間",
        "dwells.csv" => "停車時間",
        "adherence.csv" => "定時性",
        "headways.csv" => "運行間隔",
        "trips.csv" => "便別乗車",
        "od.csv" => "OD",
        "inbound.csv" => "訪日客",
        "draft-diff.csv" => "ダイヤ案差分",
        "load_profiles.csv" => "断面乗車",
        "suggestions.csv" => "増便・時刻変更案",
        other => other.trim_end_matches(".csv"),
    }
}

fn csv_of(header: &str, rows: impl Iterator<Item = String>) -> String {
    let mut out = format!("{header}\n");
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    out
}

fn minutes(s: f64) -> String {
    format!(
        "{}:{:02}",
        (s / 60.0).floor() as i64,
        (s.rem_euclid(60.0)).round() as i64
    )
}

/// The summary for the bureau.
pub fn summary(a: &Analysis, draft: Option<&Draft>) -> String {
    let mut out = String::new();
    let route = a.route_id.as_deref().map_or_else(
        || "全路線 / all routes".to_owned(),
        |r| format!("{} ({r})", a.route_name(r)),
    );
    let _ = writeln!(
        out,
        "# ダイヤ編成の分析 / Timetable planning: {route}, {} – {}\n",
        a.from, a.until
    );
    if let Some(why) = &a.empty_reason {
        let _ = writeln!(out, "データがありません / No data: {why}");
        return out;
    }
    let _ = writeln!(
        out,
        "観測日数 / Days observed: {}. 定時の範囲 / On time: {:.0} 秒早発から {:.0} 秒遅れまで (TCQSM) / from {:.0} s early to {:.0} s late. \
         推奨所要時間 / Recommended trip times: 観測の第{:.0}百分位 (運行回数{}回以上) / the {:.0}th percentile of observed trips (at least {} runs).\n",
        a.days_observed,
        EARLY_S,
        LATE_S,
        EARLY_S,
        LATE_S,
        RECOMMENDED_PERCENTILE * 100.0,
        MIN_RUNS,
        RECOMMENDED_PERCENTILE * 100.0,
        MIN_RUNS
    );
    let _ = writeln!(
        out,
        "## 所要時間 / Trip times\n\n| 路線 route | 方向 dir | 区間 from → to | 時間帯 band | 運行 runs | 計画 scheduled | 中央値 p50 | p85 | 推奨 recommended | 判定 verdict |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for t in &a.trip_times {
        let verdict = if t.runs < MIN_RUNS {
            "データ不足 / too few runs"
        } else if t.p50_s > t.scheduled_s * 1.05 {
            "きつい / too tight"
        } else if t.p85_s < t.scheduled_s * 0.95 {
            "ゆるい / too loose"
        } else {
            "適正 / fits"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} → {} | {} | {} | {} | {} | {} | {} | {verdict} |",
            a.route_name(&t.route_id),
            t.direction_id,
            a.stop_name(&t.first_stop),
            a.stop_name(&t.last_stop),
            t.band.label(),
            t.runs,
            minutes(t.scheduled_s),
            minutes(t.p50_s),
            minutes(t.p85_s),
            minutes(t.recommended_s)
        );
    }
    let _ = writeln!(
        out,
        "\n## 定時性 / Schedule adherence\n\n| 路線 route | 時間帯 band | 発車 departures | 早発 early | 定時 on time | 遅延 late |\n|---|---|---|---|---|---|"
    );
    for x in &a.adherence {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1}% | {:.1}% | {:.1}% |",
            x.route_id,
            x.band.label(),
            x.departures,
            x.early_share * 100.0,
            x.on_time_share * 100.0,
            x.late_share * 100.0
        );
    }
    if !a.headways.is_empty() {
        let _ = writeln!(
            out,
            "\n## 運行間隔 / Headway regularity\n\n| 路線 route | 方向 dir | 時間帯 band | 計画間隔 scheduled | 実間隔 actual | 変動係数 CV | 団子運転 bunched |\n|---|---|---|---|---|---|---|"
        );
        for h in &a.headways {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.2} | {:.1}% |",
                h.route_id,
                h.direction_id,
                h.band.label(),
                minutes(h.scheduled_mean_s),
                minutes(h.actual_mean_s),
                h.cv,
                h.bunched_share * 100.0
            );
        }
    }
    let crowded: Vec<_> = a.crowded().collect();
    let _ = writeln!(
        out,
        "\n## 混雑した便 / Crowded trips ({} of {} trip-days over capacity)\n",
        crowded.len(),
        a.trips.len()
    );
    if crowded.is_empty() {
        let _ = writeln!(
            out,
            "定員を超えた便はありません / No trip passed its capacity."
        );
    } else {
        let _ = writeln!(
            out,
            "| 日 date | 便 trip | 路線 route | 時間帯 band | 最大乗車 peak load | 最混雑 at | 定員 capacity | 計数 counted by |\n|---|---|---|---|---|---|---|---|"
        );
        for t in crowded.iter().take(50) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                t.service_date,
                t.trip_id,
                a.route_name(&t.route_id),
                t.band.label(),
                t.peak_load,
                a.stop_name(&t.peak_stop_id),
                t.capacity,
                t.source
            );
        }
    }
    if !a.suggestions.is_empty() {
        let _ = writeln!(
            out,
            "\n## 増便・時刻変更の提案 / Suggestions\n\n期間の{:.0}%以上の日（{}日以上）に定員を超えた便について。混雑日の乗車（日々の最大乗車の85%値）を、乗客は時間に均等に来るとして前後の便との間隔で分けます / for the trips over capacity on at least {:.0}% of their days (and on {} or more): their busy-day load (the 85th percentile of the daily peak loads) shared with the trips around them by moving departures, else by adding a trip.\n\n| 路線 route | 便 trip | 発 departs | 超過日 crowded days | 平均最大 mean peak | 混雑日 busy day (p85) | 定員 capacity | 提案 suggestion |\n|---|---|---|---|---|---|---|---|",
            super::suggest::RECURRING_SHARE * 100.0,
            super::suggest::MIN_DAYS,
            super::suggest::RECURRING_SHARE * 100.0,
            super::suggest::MIN_DAYS
        );
        for x in &a.suggestions {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}/{} | {:.0} | {:.0} | {} | {} |",
                a.route_name(&x.route_id),
                x.trip_id,
                kagoshima_domain::calendar::gtfs_time(x.departure_s.max(0) as u32),
                x.crowded_days,
                x.days,
                x.mean_peak_load,
                x.design_load,
                x.capacity,
                x.text()
            );
        }
    }
    if let Some(route) = a.inbound.iter().find(|i| i.stop_id.is_none()) {
        let _ = writeln!(
            out,
            "\n## 訪日客 / Inbound cards\n\n海外発行カードの乗車 {} / {} ({:.1}%) / rides with cards issued abroad on {}.",
            route.inbound,
            route.rides,
            route.share * 100.0,
            route.route_id
        );
    }
    if let Some(d) = draft {
        let _ = writeln!(
            out,
            "\n## ダイヤ案 / Draft timetable\n\n{} 便の時刻を変更 ({} 停留所時刻), {} 便は観測不足で据え置き / {} trips changed ({} stop times), {} left as scheduled for lack of runs. 差分 / diff: `draft-diff.csv`.",
            d.trips.len(),
            d.stop_times.len(),
            d.unchanged_trips,
            d.trips.len(),
            d.stop_times.len(),
            d.unchanged_trips
        );
        if !d.blocks_to_rework.is_empty() {
            let _ = writeln!(
                out,
                "\n運用の見直しが必要な行路 / Blocks to make again ({}): 延びた便が次の便と重なります。ダイヤ案ではこれらの便の block_id を外しています / the longer trips now overlap the next trip of the same vehicle; the draft leaves their block_id out: {}.",
                d.blocks_to_rework.len(),
                d.blocks_to_rework.join(", ")
            );
        }
    }
    out
}

/// Trip times by band against the timetable: the median and the 85th
/// percentile of each pattern as bars, the scheduled time as a line.
fn running_time_chart(a: &Analysis) -> Option<String> {
    use plotters::prelude::*;
    let rows: Vec<_> = a.trip_times.iter().filter(|t| t.runs > 0).collect();
    if rows.is_empty() {
        return None;
    }
    let max = rows
        .iter()
        .map(|t| t.p95_s.max(t.scheduled_s))
        .fold(0.0, f64::max)
        / 60.0
        * 1.25;
    let n = rows.len() as u32;
    let mut out = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::with_string(&mut out, (900, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "所要時間（分）: 中央値・85%値と計画 / Trip time (min): median, p85 and timetable",
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(50)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(rows.len())
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => rows
                    .get(*i as usize)
                    .map(|t| format!("{}/{} {}", t.route_id, t.direction_id, band_short(t.band)))
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .draw()?;
        let blue = RGBColor(0x1f, 0x77, 0xb4);
        let light = RGBColor(0xae, 0xc7, 0xe8);
        let red = RGBColor(0xd6, 0x27, 0x28);
        chart
            .draw_series(rows.iter().enumerate().map(|(i, t)| {
                let i = i as u32;
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), t.p85_s / 60.0),
                    ],
                    light.filled(),
                );
                bar.set_margin(0, 0, 8, 8);
                bar
            }))?
            .label("85%値 / p85")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], light.filled()));
        chart
            .draw_series(rows.iter().enumerate().map(|(i, t)| {
                let i = i as u32;
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), t.p50_s / 60.0),
                    ],
                    blue.filled(),
                );
                bar.set_margin(0, 0, 14, 14);
                bar
            }))?
            .label("中央値 / median")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], blue.filled()));
        chart
            .draw_series(rows.iter().enumerate().map(|(i, t)| {
                let i = i as u32;
                PathElement::new(
                    [
                        (SegmentValue::Exact(i), t.scheduled_s / 60.0),
                        (SegmentValue::Exact(i + 1), t.scheduled_s / 60.0),
                    ],
                    red.stroke_width(3),
                )
            }))?
            .label("計画 / timetable")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], red.stroke_width(3)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })();
    drawn.ok().map(|_| out)
}

fn band_short(b: Band) -> &'static str {
    match b {
        Band::Early => "早朝",
        Band::AmPeak => "朝",
        Band::Midday => "日中",
        Band::PmPeak => "夕",
        Band::Evening => "夜",
    }
}
