//! Reports laid out like the plan's progress table: CSV, XLSX and an SVG
//! trend chart of cumulative fiscal-year tap-payment uses against the target.

use rust_xlsxwriter::{Format, Workbook};

use crate::error::IndicatorError;
use crate::farecap::FareCap;
use crate::figures::Report;
use crate::period::Period;
use crate::progress::{Decimal, Progress, ProgressRate};

/// Report file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Xlsx,
    Svg,
}

impl ReportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Svg => "svg",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ReportFormat::Svg => "image/svg+xml",
        }
    }
}

/// The table's headings.
pub const HEADINGS: [&str; 12] = [
    "期間",
    "No.",
    "施策",
    "指標",
    "単位",
    "目標値",
    "実績値",
    "年度累計実績値",
    "進捗率",
    "進捗状況",
    "出典",
    "indicator_id",
];

fn text(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn rate(p: Option<Progress>) -> String {
    p.and_then(|p| p.rate)
        .map(ProgressRate::display)
        .map(|r| format!("{r}%"))
        .unwrap_or_default()
}

fn status(p: Option<Progress>) -> String {
    p.map(|p| p.status.symbol().to_owned()).unwrap_or_default()
}

/// The note under the table: what the progress is judged on.
pub fn progress_note(r: &Report) -> String {
    match r.period {
        Period::Month(m) => format!(
            "進捗率は{}の年度累計（4月〜{}月）を年度目標に対して算出。Progress = fiscal year to date (April–{m}) ÷ the fiscal year's target.",
            r.fiscal_year.japanese_label(),
            m.month()
        ),
        Period::FiscalYear(_) => format!(
            "進捗率は{}の実績値を年度目標に対して算出（施策平均は端数処理前の進捗率の平均）。",
            r.fiscal_year.japanese_label()
        ),
    }
}

/// Table rows (indicators, then policy averages), as text cells.
pub fn table_rows(r: &Report) -> Vec<[String; 12]> {
    let label = r.period.label_ja();
    let mut rows = Vec::new();
    for row in &r.rows {
        rows.push([
            label.clone(),
            row.measure.clone(),
            row.measure_name.clone(),
            row.name_ja.clone(),
            row.unit.clone(),
            text(row.target),
            text(row.value),
            text(row.fytd),
            rate(row.progress),
            status(row.progress),
            row.source.to_owned(),
            row.id.clone(),
        ]);
    }
    for p in &r.policies {
        rows.push([
            label.clone(),
            String::new(),
            format!("施策平均: {}", p.name_ja),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            rate(p.progress),
            status(p.progress),
            String::new(),
            p.id.clone(),
        ]);
    }
    rows
}

/// CSV (UTF-8 with BOM, for Excel).
pub fn csv(r: &Report, cap: Option<&FareCap>) -> Result<Vec<u8>, IndicatorError> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let target_heading = format!("目標値（{}）", r.fiscal_year.japanese_label());
        let mut head: Vec<&str> = HEADINGS.to_vec();
        head[5] = &target_heading;
        w.write_record(&head).map_err(report_error)?;
        for row in table_rows(r) {
            w.write_record(&row).map_err(report_error)?;
        }
        let label = r.period.label_ja();
        for (k, v) in &r.details {
            w.write_record([label.as_str(), "", "内訳", k, "", "", v, "", "", "", "", ""])
                .map_err(report_error)?;
        }
        if let Some(c) = cap {
            for (k, v) in [
                ("上限到達カード数 cards_reaching_cap", c.cards_reaching_cap),
                ("上限適用前運賃 uncapped_yen", c.uncapped_yen),
                ("上限適用後運賃 capped_yen", c.capped_yen),
                ("上限による減収 cap_cost_yen", c.cap_cost_yen()),
            ] {
                w.write_record([
                    label.as_str(),
                    "No.64",
                    "運賃上限",
                    k,
                    "",
                    "",
                    &v.to_string(),
                    "",
                    "",
                    "",
                    "taps",
                    "",
                ])
                .map_err(report_error)?;
            }
        }
        w.write_record([
            "注",
            "",
            "",
            &progress_note(r),
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ])
        .map_err(report_error)?;
        w.flush().map_err(report_error)?;
    }
    Ok(out)
}

fn report_error(e: impl std::fmt::Display) -> IndicatorError {
    IndicatorError::Report(e.to_string())
}

/// XLSX workbook: 進捗 (the table), 月別推移 (monthly uses), 運賃上限.
pub fn xlsx(r: &Report, cap: Option<&FareCap>) -> Result<Vec<u8>, IndicatorError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    // Thousands separators; two decimals where a figure has them (shares).
    let whole = Format::new().set_num_format("#,##0");
    let fraction = Format::new().set_num_format("#,##0.00");
    let number_format = |v: f64| if v.fract() == 0.0 { &whole } else { &fraction };
    let ws = wb.add_worksheet();
    ws.set_name("進捗").map_err(report_error)?;
    ws.write_string_with_format(
        0,
        0,
        format!("鹿児島市DX推進計画 進捗状況 — {}", r.period.label_ja()),
        &bold,
    )
    .map_err(report_error)?;
    ws.write_string(1, 0, progress_note(r))
        .map_err(report_error)?;
    let target_heading = format!("目標値（{}）", r.fiscal_year.japanese_label());
    for (c, h) in HEADINGS.iter().enumerate() {
        let h = if c == 5 { target_heading.as_str() } else { h };
        ws.write_string_with_format(3, c as u16, h, &bold)
            .map_err(report_error)?;
    }
    for (i, row) in table_rows(r).iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let rr = 4 + i as u32;
            // Numbers as numbers where they are.
            match (c, cell.parse::<f64>()) {
                (5..=7, Ok(v)) => ws
                    .write_number_with_format(rr, c as u16, v, number_format(v))
                    .map_err(report_error)?,
                _ => ws.write_string(rr, c as u16, cell).map_err(report_error)?,
            };
        }
    }
    ws.set_column_width(3, 48).map_err(report_error)?;
    ws.set_column_width(0, 26).map_err(report_error)?;

    let ws = wb.add_worksheet();
    ws.set_name("月別推移").map_err(report_error)?;
    let target = r
        .rows
        .iter()
        .find(|x| x.id == "tap_payment_uses")
        .and_then(|x| x.target)
        .map(Decimal::to_f64);
    for (c, h) in ["月", "タッチ決済利用者数（延べ）", "年度累計", "年度目標"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(report_error)?;
    }
    let mut cum = 0u64;
    for (i, (m, v)) in r.monthly_uses.iter().enumerate() {
        cum += v;
        let rr = 1 + i as u32;
        ws.write_string(rr, 0, m).map_err(report_error)?;
        ws.write_number_with_format(rr, 1, *v as f64, &whole)
            .map_err(report_error)?;
        ws.write_number_with_format(rr, 2, cum as f64, &whole)
            .map_err(report_error)?;
        if let Some(t) = target {
            ws.write_number_with_format(rr, 3, t, number_format(t))
                .map_err(report_error)?;
        }
    }

    if let Some(c) = cap {
        let ws = wb.add_worksheet();
        ws.set_name("運賃上限").map_err(report_error)?;
        let rows: [(&str, i64); 6] = [
            ("月額上限（円）", c.cap_yen),
            ("カード数（カード・媒体別）", c.cards),
            ("上限到達カード数", c.cards_reaching_cap),
            ("上限適用前運賃（円）", c.uncapped_yen),
            ("上限適用後運賃（円）", c.capped_yen),
            ("上限による減収（円）", c.cap_cost_yen()),
        ];
        for (i, (k, v)) in rows.iter().enumerate() {
            ws.write_string(i as u32, 0, *k).map_err(report_error)?;
            ws.write_number_with_format(i as u32, 1, *v as f64, &whole)
                .map_err(report_error)?;
        }
        ws.set_column_width(0, 30).map_err(report_error)?;
    }
    if !r.details.is_empty() {
        let ws = wb.add_worksheet();
        ws.set_name("内訳").map_err(report_error)?;
        for (i, (k, v)) in r.details.iter().enumerate() {
            ws.write_string(i as u32, 0, k).map_err(report_error)?;
            match v.parse::<f64>() {
                Ok(n) => ws.write_number(i as u32, 1, n).map_err(report_error)?,
                Err(_) => ws.write_string(i as u32, 1, v).map_err(report_error)?,
            };
        }
    }
    wb.save_to_buffer().map_err(report_error)
}

/// A whole number with thousands separators: 1234567.4 → "1,234,567".
pub fn grouped(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v.round() < 0.0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// SVG: cumulative fiscal-year tap-payment uses per month (bars) against the
/// straight line from 0 to the fiscal year's target (the pace that meets it).
pub fn svg(r: &Report) -> Result<String, IndicatorError> {
    let target = r
        .rows
        .iter()
        .find(|x| x.id == "tap_payment_uses")
        .and_then(|x| x.target)
        .map(Decimal::to_f64);
    let last_month = match r.period {
        Period::Month(m) => Some(m.to_string()),
        Period::FiscalYear(_) => None,
    };
    let mut cum: Vec<f64> = Vec::new();
    let mut acc = 0u64;
    for (m, v) in &r.monthly_uses {
        acc += v;
        cum.push(acc as f64);
        if last_month.as_deref() == Some(m.as_str()) {
            break;
        }
    }
    let months: Vec<String> = r
        .monthly_uses
        .iter()
        .map(|(m, _)| format!("{}月", m.get(5..).unwrap_or(m).trim_start_matches('0')))
        .collect();
    // Headroom above the highest figure for the legend.
    let max = cum
        .iter()
        .copied()
        .fold(target.unwrap_or(0.0), f64::max)
        .max(1.0)
        * 1.4;
    let title = format!(
        "タッチ決済利用者数（延べ）年度累計 — {} / 目標 {}",
        r.period.label_ja(),
        target.map(grouped).unwrap_or_else(|| "なし".into())
    );
    let mut out = String::new();
    draw_cumulative(&mut out, &title, &months, &cum, target, max)
        .map_err(|e| IndicatorError::Report(format!("cannot draw the chart: {e}")))?;
    Ok(out)
}

fn draw_cumulative(
    out: &mut String,
    title: &str,
    months: &[String],
    cum: &[f64],
    target: Option<f64>,
    max: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let root = SVGBackend::with_string(out, (760, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = months.len().max(1) as u32;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_labels(6)
        .y_label_formatter(&|v| grouped(*v))
        .x_labels(months.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => months.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()?;
    let blue = RGBColor(0x1f, 0x77, 0xb4);
    let red = RGBColor(0xd6, 0x27, 0x28);
    chart
        .draw_series(cum.iter().enumerate().map(|(i, v)| {
            let i = i as u32;
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *v),
                ],
                blue.filled(),
            );
            bar.set_margin(0, 0, 6, 6);
            bar
        }))?
        .label("年度累計実績")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], blue.filled()));
    if let Some(t) = target {
        // Pace: target × months elapsed / 12; and the annual target itself.
        chart
            .draw_series(DashedLineSeries::new(
                [(SegmentValue::Exact(0), 0.0), (SegmentValue::Exact(n), t)],
                6,
                4,
                red.stroke_width(2),
            ))?
            .label("目標ペース（年度目標×経過月/12）")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], red.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                [(SegmentValue::Exact(0), t), (SegmentValue::Exact(n), t)],
                red,
            ))?
            .label(format!("年度目標 {}", grouped(t)))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], red));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.4), "999");
        assert_eq!(grouped(1000.0), "1,000");
        assert_eq!(grouped(1_234_567.0), "1,234,567");
        assert_eq!(grouped(-12_345.0), "-12,345");
    }
}
