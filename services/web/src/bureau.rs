//! The bureau's JSON API under `/api/bureau`, for the dashboard. Every call
//! needs `Authorization: Bearer <token>`: the token is checked here against
//! the configured hashes (401 with a JSON reason otherwise), then forwarded
//! to IndicatorService, which checks it again.
//!
//! - `GET /api/bureau/indicators?month=YYYY-MM`: GetMonthly and GetFiscalYear
//! - `GET /api/bureau/report.svg?period=`: ExportReport (SVG trend chart)
//! - `GET /api/bureau/ridership?month=YYYY-MM` (or `?period=FY2025`, and
//!   `&route_id=`): GetRidership, uses and boardings by JST hour (always 24
//!   entries), by route, by day type, and shares by medium, brand and origin
//! - `GET /api/bureau/export?format=csv|xlsx|svg&period=YYYY-MM|FY2025`:
//!   ExportReport as a file to download
//! - `GET /api/bureau/planning?month=YYYY-MM&route_id=`: GetPlanning
//! - `GET /api/bureau/planning/file?month=&route_id=&file=`: ExportPlanning
//!   (draft.zip, planning.zip, planning.xlsx, a CSV or a chart) as a file
//! - `GET /api/bureau/feeds`: the data feeds' health (ingest `/metrics`)
use axum::{
    Json,
    extract::{Query, Request, State},
    http::{HeaderMap, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::{Datelike, FixedOffset, Utc};
use kagoshima_proto::v1::{
    ExportPlanningRequest, ExportReportRequest, ExportReportResponse, GetFiscalYearRequest,
    GetMonthlyRequest, GetPlanningRequest, GetRidershipRequest, IndicatorReport, IndicatorValue,
    ListVehiclesRequest, PolicyProgress, ReportFormat, ShareRidership,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{app::AppState, error::ApiError, feeds, upstream::ClientIp};

/// Refuses requests without a known bearer token.
pub async fn require_token(State(s): State<AppState>, request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).cloned();
    let text = header.as_ref().and_then(|h| h.to_str().ok());
    if s.tokens.is_empty() {
        return ApiError::Unauthenticated(
            "no bureau tokens are configured on this server (auth.tokens): every request is refused"
                .into(),
        )
        .into_response();
    }
    match s.tokens.verify(text) {
        Ok(name) => {
            tracing::info!(client = name, path = %request.uri().path(), "bureau request");
            next.run(request).await
        }
        Err(e) => {
            tracing::warn!(error = %e, path = %request.uri().path(), "bureau request refused");
            ApiError::Unauthenticated(e.to_string()).into_response()
        }
    }
}

pub(crate) fn with_token<T>(message: T, headers: &HeaderMap) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
    {
        request.metadata_mut().insert("authorization", v);
    }
    request
}

fn jst_now() -> chrono::DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(9 * 3600).expect("valid offset"))
}

/// The fiscal year (April to March) holding a month.
pub fn fiscal_year_of(year: i32, month: u32) -> i32 {
    if month >= 4 { year } else { year - 1 }
}

/// 令和N年度 of a fiscal year (R1 = FY2019).
pub fn reiwa_label(fiscal_year: i32) -> String {
    match fiscal_year - 2018 {
        1 => "令和元年度".into(),
        n => format!("令和{n}年度"),
    }
}

fn parse_month(m: &str) -> Option<(i32, u32)> {
    let (y, mo) = m.split_once('-')?;
    let (y, mo) = (y.parse().ok()?, mo.parse().ok()?);
    (y >= 2000 && (1..=12).contains(&mo) && m.len() == 7).then_some((y, mo))
}

#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    #[serde(default)]
    month: String,
}

#[derive(Debug, Serialize)]
pub struct ReportJson {
    period: String,
    period_label_ja: String,
    fiscal_year: String,
    indicators: Vec<ValueJson>,
    policies: Vec<PolicyJson>,
    details: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct ValueJson {
    indicator_id: String,
    measure: String,
    name_ja: String,
    name_en: String,
    unit: String,
    unit_en: String,
    definition_ja: String,
    definition_en: String,
    value: String,
    source: String,
    target: String,
    progress_rate_pct: String,
    status: String,
    fiscal_year_to_date: String,
}

#[derive(Debug, Serialize)]
pub struct PolicyJson {
    policy_id: String,
    name_ja: String,
    progress_rate_pct: String,
    status: String,
}

impl From<IndicatorValue> for ValueJson {
    fn from(v: IndicatorValue) -> Self {
        ValueJson {
            indicator_id: v.indicator_id,
            measure: v.measure,
            name_ja: v.name_ja,
            name_en: v.name_en,
            unit: v.unit,
            unit_en: v.unit_en,
            definition_ja: v.definition_ja,
            definition_en: v.definition_en,
            value: v.value,
            source: v.source,
            target: v.target,
            progress_rate_pct: v.progress_rate_pct,
            status: v.status,
            fiscal_year_to_date: v.fiscal_year_to_date,
        }
    }
}

impl From<PolicyProgress> for PolicyJson {
    fn from(p: PolicyProgress) -> Self {
        PolicyJson {
            policy_id: p.policy_id,
            name_ja: p.name_ja,
            progress_rate_pct: p.progress_rate_pct,
            status: p.status,
        }
    }
}

fn report_json(r: IndicatorReport, fallback_label: String) -> ReportJson {
    ReportJson {
        period_label_ja: if r.period_label_ja.is_empty() {
            fallback_label
        } else {
            r.period_label_ja
        },
        period: r.period,
        fiscal_year: r.fiscal_year,
        indicators: r.indicators.into_iter().map(ValueJson::from).collect(),
        policies: r.policies.into_iter().map(PolicyJson::from).collect(),
        details: r.details.into_iter().collect(),
    }
}

/// This month's and this fiscal year's indicators (or those of `month`).
pub async fn indicators(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<MonthQuery>,
) -> Result<Response, ApiError> {
    let (year, month) = if q.month.trim().is_empty() {
        let now = jst_now();
        (now.year(), now.month())
    } else {
        parse_month(q.month.trim())
            .ok_or_else(|| ApiError::BadRequest("month must be YYYY-MM".into()))?
    };
    let month_text = format!("{year:04}-{month:02}");
    let fy = fiscal_year_of(year, month);
    // Both at once (a tonic client is a cheap handle over one channel).
    let (mut monthly_client, mut yearly_client) =
        (s.upstream.indicators.clone(), s.upstream.indicators.clone());
    let (monthly, yearly) = tokio::try_join!(
        monthly_client.get_monthly(with_token(
            GetMonthlyRequest {
                month: month_text.clone(),
                indicator_ids: Vec::new(),
            },
            &headers,
        )),
        yearly_client.get_fiscal_year(with_token(
            GetFiscalYearRequest {
                fiscal_year: format!("FY{fy}"),
                indicator_ids: Vec::new(),
            },
            &headers,
        )),
    )?;
    let (monthly, yearly) = (monthly.into_inner(), yearly.into_inner());
    Ok(Json(json!({
        "month": month_text,
        "fiscal_year": fy,
        "fiscal_year_label_ja": reiwa_label(fy),
        "monthly": report_json(monthly, format!("{} {}月", reiwa_label(fy), month)),
        "fiscal": report_json(yearly, reiwa_label(fy)),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    period: String,
}

/// ExportReport with the caller's token; an empty period is this fiscal year.
async fn export_report(
    s: &AppState,
    headers: &HeaderMap,
    format: ReportFormat,
    period: &str,
) -> Result<ExportReportResponse, ApiError> {
    let period = match period.trim() {
        "" => {
            let now = jst_now();
            format!("FY{}", fiscal_year_of(now.year(), now.month()))
        }
        p => p.to_owned(),
    };
    Ok(s.upstream
        .indicators
        .clone()
        .export_report(with_token(
            ExportReportRequest {
                format: format.into(),
                period,
            },
            headers,
        ))
        .await?
        .into_inner())
}

/// The indicators' trend chart, as IndicatorService draws it.
pub async fn report_svg(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let file = export_report(&s, &headers, ReportFormat::Svg, &q.period).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            // Shown as an image only: no script of the file ever runs.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        file.content,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    period: String,
}

/// The report of a month ("YYYY-MM") or a fiscal year ("FY2025", the
/// current one when empty) as a file to download: CSV, XLSX or SVG, named
/// by IndicatorService.
pub async fn export(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = match q.format.trim() {
        "csv" => ReportFormat::Csv,
        "xlsx" => ReportFormat::Xlsx,
        "svg" => ReportFormat::Svg,
        other => {
            return Err(ApiError::BadRequest(format!(
                "format must be csv, xlsx or svg (got {other:?})"
            )));
        }
    };
    let file = export_report(&s, &headers, format, &q.period).await?;
    Ok(download(file))
}

/// A file of IndicatorService as a download.
fn download(file: ExportReportResponse) -> Response {
    // The name comes from our own service; keep it to safe characters anyway.
    let name: String = file
        .file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    (
        [
            (header::CONTENT_TYPE, file.content_type),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'".to_owned(),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        file.content,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct RidershipQuery {
    #[serde(default)]
    month: String,
    /// A fiscal year ("FY2025") or a month; `month` wins when both are given.
    #[serde(default)]
    period: String,
    #[serde(default)]
    route_id: String,
}

fn shares_json(list: Vec<ShareRidership>) -> Vec<serde_json::Value> {
    list.into_iter()
        .map(|s| json!({ "key": s.key, "uses": s.uses, "share_pct": s.share_pct }))
        .collect()
}

/// Ridership of a month (this month by default) or a fiscal year, from
/// IndicatorService.GetRidership with the caller's token. No card data: the
/// service answers from rollups only.
pub async fn ridership(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RidershipQuery>,
) -> Result<Response, ApiError> {
    let period = match (q.month.trim(), q.period.trim()) {
        ("", "") => {
            let now = jst_now();
            format!("{:04}-{:02}", now.year(), now.month())
        }
        ("", p) => p.to_owned(),
        (m, _) => {
            let (y, mo) = parse_month(m)
                .ok_or_else(|| ApiError::BadRequest("month must be YYYY-MM".into()))?;
            format!("{y:04}-{mo:02}")
        }
    };
    let r = s
        .upstream
        .indicators
        .clone()
        .get_ridership(with_token(
            GetRidershipRequest {
                period,
                route_id: q.route_id.trim().to_owned(),
            },
            &headers,
        ))
        .await?
        .into_inner();
    let hours: Vec<_> = r
        .by_hour
        .iter()
        .map(|h| json!({ "hour": h.hour, "uses": h.uses, "boardings": h.boardings }))
        .collect();
    let routes: Vec<_> = r
        .by_route
        .iter()
        .map(|x| {
            let label = [&x.route_short_name, &x.route_long_name, &x.route_id]
                .into_iter()
                .find(|n| !n.is_empty())
                .cloned()
                .unwrap_or_else(|| "不明 (unknown)".into());
            json!({
                "route_id": x.route_id,
                "route_short_name": x.route_short_name,
                "route_long_name": x.route_long_name,
                "label": label,
                "mode": x.mode,
                "uses": x.uses,
                "boardings": x.boardings,
            })
        })
        .collect();
    let day_types: Vec<_> = r
        .by_day_type
        .iter()
        .map(|d| json!({ "day_type": d.day_type, "days": d.days, "uses": d.uses, "boardings": d.boardings }))
        .collect();
    Ok(Json(json!({
        "period": r.period,
        "period_label_ja": r.period_label_ja,
        "route_id": r.route_id,
        "uses": r.uses,
        "boardings": r.boardings,
        "hours": hours,
        "routes": routes,
        "day_types": day_types,
        "shares": {
            "medium": shares_json(r.by_medium),
            "brand": shares_json(r.by_brand),
            "origin": shares_json(r.by_origin),
            "all_routes": r.shares_all_routes,
        },
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct PlanningQuery {
    /// A JST month, YYYY-MM (default: the previous month).
    #[serde(default)]
    month: String,
    #[serde(default)]
    route_id: String,
}

/// The first and last day of a planning month ("YYYY-MM"; empty: the
/// previous month, the last whole one).
fn planning_month(text: &str) -> Result<(chrono::NaiveDate, chrono::NaiveDate), ApiError> {
    let (y, m) = match text.trim() {
        "" => {
            let now = jst_now();
            if now.month() == 1 {
                (now.year() - 1, 12)
            } else {
                (now.year(), now.month() - 1)
            }
        }
        text => {
            parse_month(text).ok_or_else(|| ApiError::BadRequest("month must be YYYY-MM".into()))?
        }
    };
    let first = chrono::NaiveDate::from_ymd_opt(y, m, 1)
        .ok_or_else(|| ApiError::BadRequest("month must be YYYY-MM".into()))?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first);
    Ok((first, last))
}

#[derive(Debug, Deserialize)]
pub struct PlanningFileQuery {
    #[serde(default)]
    month: String,
    #[serde(default)]
    route_id: String,
    /// planning.zip, draft.zip, planning.xlsx, a CSV or a chart (.svg).
    #[serde(default)]
    file: String,
}

/// One file of a month's planning report (IndicatorService.ExportPlanning):
/// the draft timetable, the workbook, everything as a zip, or a chart.
pub async fn planning_file(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PlanningFileQuery>,
) -> Result<Response, ApiError> {
    let (first, last) = planning_month(&q.month)?;
    let file = s
        .upstream
        .planning
        .clone()
        .export_planning(with_token(
            ExportPlanningRequest {
                from: first.to_string(),
                until: last.to_string(),
                route_id: q.route_id.trim().to_owned(),
                file_name: q.file.trim().to_owned(),
            },
            &headers,
        ))
        .await?
        .into_inner();
    Ok(download(file))
}

/// Timetable planning of a month (IndicatorService.GetPlanning): trip times
/// against the timetable with the recommended ones, adherence, headways and
/// the crowded trips.
pub async fn planning(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PlanningQuery>,
) -> Result<Response, ApiError> {
    let (first, last) = planning_month(&q.month)?;
    let r = s
        .upstream
        .planning
        .clone()
        .get_planning(with_token(
            GetPlanningRequest {
                from: first.to_string(),
                until: last.to_string(),
                route_id: q.route_id.trim().to_owned(),
            },
            &headers,
        ))
        .await?
        .into_inner();
    let trip_times: Vec<_> = r
        .trip_times
        .iter()
        .map(|t| {
            json!({
                "route_id": t.route_id, "direction_id": t.direction_id,
                "first_stop_id": t.first_stop_id, "last_stop_id": t.last_stop_id,
                "band": t.band, "runs": t.runs, "scheduled_s": t.scheduled_s,
                "p50_s": t.p50_s, "p85_s": t.p85_s, "p95_s": t.p95_s,
                "recommended_s": t.recommended_s,
            })
        })
        .collect();
    let adherence: Vec<_> = r
        .adherence
        .iter()
        .map(|a| {
            json!({
                "route_id": a.route_id, "band": a.band, "departures": a.departures,
                "early_share": a.early_share, "on_time_share": a.on_time_share,
                "late_share": a.late_share,
            })
        })
        .collect();
    let crowded: Vec<_> = r
        .crowded_trips
        .iter()
        .map(|t| {
            json!({
                "service_date": t.service_date, "trip_id": t.trip_id, "route_id": t.route_id,
                "band": t.band, "peak_load": t.peak_load, "peak_stop_id": t.peak_stop_id,
                "capacity": t.capacity, "source": t.source,
            })
        })
        .collect();
    Ok(Json(json!({
        "from": r.from,
        "until": r.until,
        "route_id": r.route_id,
        "days_observed": r.days_observed,
        "empty_reason": r.empty_reason,
        "trips_with_riders": r.trips_with_riders,
        "stop_names": r.stop_names,
        "route_names": r.route_names,
        "load_profiles": r.load_profiles.iter().map(|p| json!({
            "route_id": p.route_id, "direction_id": p.direction_id, "band": p.band,
            "trips": p.trips, "capacity": p.capacity, "peak_stop_id": p.peak_stop_id,
        })).collect::<Vec<_>>(),
        "suggestions": r.suggestions.iter().map(|x| json!({
            "route_id": x.route_id, "direction_id": x.direction_id, "trip_id": x.trip_id,
            "departure": x.departure, "days": x.days, "crowded_days": x.crowded_days,
            "mean_peak_load": x.mean_peak_load, "design_load": x.design_load, "capacity": x.capacity, "action": x.action,
            "moved_trip_id": x.moved_trip_id, "new_departure": x.new_departure,
            "expected_load": x.expected_load, "text": x.text,
        })).collect::<Vec<_>>(),
        "trip_times": trip_times,
        "adherence": adherence,
        "crowded_trips": crowded,
    }))
    .into_response())
}

/// The feeds' health: the ingest service's Prometheus endpoint, plus the
/// vehicles reporting now (PassengerService.ListVehicles: live, not stale).
pub async fn feeds(State(s): State<AppState>, client: ClientIp) -> Response {
    let mut passenger = s.upstream.passenger(client);
    let (ingest, vehicles) = tokio::join!(
        feeds::read(&s.config.ingest_metrics_url),
        passenger.list_vehicles(ListVehiclesRequest {
            route_id: String::new(),
            lang: "ja".into(),
        })
    );
    let vehicles = match vehicles {
        Ok(r) => {
            let all = r.into_inner().vehicles;
            let reporting = all.iter().filter(|v| !v.stale).count();
            json!({ "reporting": reporting, "known": all.len(), "error": null })
        }
        Err(status) => json!({ "reporting": null, "known": null, "error": status.message() }),
    };
    let mut body = serde_json::to_value(ingest).unwrap_or_default();
    if let Some(map) = body.as_object_mut() {
        map.insert("vehicles".into(), vehicles);
    }
    Json(body).into_response()
}
