//! `IndicatorService` over gRPC (bearer token checked by the interceptor).
use chrono::Utc;
use kagoshima_proto::v1::{self as pb, indicator_service_server::IndicatorService};
use kagoshima_runtime::auth::Caller;
use tonic::{Request, Response, Status};

use crate::error::IndicatorError;
use crate::figures::{IndicatorRow, PolicyRow, Report};
use crate::period::{Period, parse_fiscal_year, parse_month};
use crate::progress::{Decimal, Progress, ProgressRate};
use crate::report::ReportFormat;
use crate::ridership::{Counts, Ridership, Share};
use crate::service::Indicators;

#[derive(Debug, Clone)]
pub struct IndicatorApi {
    inner: Indicators,
}

impl IndicatorApi {
    pub fn new(inner: Indicators) -> IndicatorApi {
        IndicatorApi { inner }
    }
}

fn dec(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn rate(p: Option<Progress>) -> String {
    p.and_then(|p| p.rate)
        .map(ProgressRate::display)
        .unwrap_or_default()
}

fn status(p: Option<Progress>) -> String {
    p.map(|p| p.status.symbol().to_owned()).unwrap_or_default()
}

fn value(r: &IndicatorRow) -> pb::IndicatorValue {
    pb::IndicatorValue {
        indicator_id: r.id.clone(),
        measure: r.measure.clone(),
        name_ja: r.name_ja.clone(),
        name_en: r.name_en.clone(),
        unit: r.unit.clone(),
        value: dec(r.value),
        source: r.source.to_owned(),
        target: dec(r.target),
        progress_rate_pct: rate(r.progress),
        status: status(r.progress),
        fiscal_year_to_date: dec(r.fytd),
        unit_en: r.unit_en.clone(),
        definition_ja: r.definition_ja.clone(),
        definition_en: r.definition_en.clone(),
    }
}

fn policy(p: &PolicyRow) -> pb::PolicyProgress {
    pb::PolicyProgress {
        policy_id: p.id.clone(),
        name_ja: p.name_ja.clone(),
        progress_rate_pct: rate(p.progress),
        status: status(p.progress),
    }
}

fn to_pb(r: &Report, only: &[String]) -> pb::IndicatorReport {
    pb::IndicatorReport {
        period: r.period.to_string(),
        period_label_ja: r.period.label_ja(),
        fiscal_year: r.fiscal_year.to_string(),
        indicators: r
            .rows
            .iter()
            .filter(|x| only.is_empty() || only.contains(&x.id))
            .map(value)
            .collect(),
        policies: r.policies.iter().map(policy).collect(),
        details: r.details.clone().into_iter().collect(),
    }
}

fn shares(list: &[Share]) -> Vec<pb::ShareRidership> {
    list.iter()
        .map(|s| pb::ShareRidership {
            key: s.key.clone(),
            uses: s.uses,
            share_pct: s.pct.clone().unwrap_or_default(),
        })
        .collect()
}

fn ridership_pb(r: &Ridership) -> pb::Ridership {
    let Counts { uses, boardings } = r.total;
    pb::Ridership {
        period: r.period.to_string(),
        period_label_ja: r.period.label_ja(),
        route_id: r.route_id.clone().unwrap_or_default(),
        uses,
        boardings,
        by_hour: (0..)
            .zip(r.by_hour.iter())
            .map(|(hour, c)| pb::HourRidership {
                hour,
                uses: c.uses,
                boardings: c.boardings,
            })
            .collect(),
        by_route: r
            .by_route
            .iter()
            .map(|x| pb::RouteRidership {
                route_id: x.route_id.clone(),
                route_short_name: x.short_name.clone(),
                route_long_name: x.long_name.clone(),
                mode: x.mode.clone(),
                uses: x.counts.uses,
                boardings: x.counts.boardings,
            })
            .collect(),
        by_day_type: r
            .by_day_type
            .iter()
            .map(|d| pb::DayTypeRidership {
                day_type: d.day_type.as_str().to_owned(),
                days: d.days,
                uses: d.counts.uses,
                boardings: d.counts.boardings,
            })
            .collect(),
        by_medium: shares(&r.by_medium),
        by_brand: shares(&r.by_brand),
        by_origin: shares(&r.by_origin),
        shares_all_routes: true,
    }
}

#[tonic::async_trait]
impl IndicatorService for IndicatorApi {
    async fn get_monthly(
        &self,
        request: Request<pb::GetMonthlyRequest>,
    ) -> Result<Response<pb::IndicatorReport>, Status> {
        let req = request.into_inner();
        let month = parse_month(&req.month)?;
        self.inner.check_indicators(&req.indicator_ids)?;
        let r = self.inner.report(Period::Month(month), Utc::now()).await?;
        Ok(Response::new(to_pb(&r, &req.indicator_ids)))
    }

    async fn get_fiscal_year(
        &self,
        request: Request<pb::GetFiscalYearRequest>,
    ) -> Result<Response<pb::IndicatorReport>, Status> {
        let req = request.into_inner();
        let fy = parse_fiscal_year(&req.fiscal_year)?;
        self.inner.check_indicators(&req.indicator_ids)?;
        let r = self
            .inner
            .report(Period::FiscalYear(fy), Utc::now())
            .await?;
        Ok(Response::new(to_pb(&r, &req.indicator_ids)))
    }

    async fn get_plan_progress(
        &self,
        request: Request<pb::GetPlanProgressRequest>,
    ) -> Result<Response<pb::PlanProgress>, Status> {
        let fy = parse_fiscal_year(&request.into_inner().fiscal_year)?;
        let r = self
            .inner
            .report(Period::FiscalYear(fy), Utc::now())
            .await?;
        Ok(Response::new(pb::PlanProgress {
            fiscal_year: fy.to_string(),
            fiscal_year_label_ja: fy.japanese_label(),
            indicators: r.rows.iter().map(value).collect(),
            policies: r.policies.iter().map(policy).collect(),
        }))
    }

    async fn get_fare_cap(
        &self,
        request: Request<pb::GetFareCapRequest>,
    ) -> Result<Response<pb::FareCapSummary>, Status> {
        let req = request.into_inner();
        let month = parse_month(&req.month)?;
        let c = self.inner.fare_cap(month, Utc::now()).await?;
        Ok(Response::new(pb::FareCapSummary {
            month: month.to_string(),
            cap_yen: c.cap_yen,
            cards: c.cards,
            cards_reaching_cap: c.cards_reaching_cap,
            uncapped_yen: c.uncapped_yen,
            capped_yen: c.capped_yen,
            cap_cost_yen: c.cap_cost_yen(),
        }))
    }

    async fn export_report(
        &self,
        request: Request<pb::ExportReportRequest>,
    ) -> Result<Response<pb::ExportReportResponse>, Status> {
        let req = request.into_inner();
        let format = match pb::ReportFormat::try_from(req.format) {
            Ok(pb::ReportFormat::Csv) => ReportFormat::Csv,
            Ok(pb::ReportFormat::Xlsx) => ReportFormat::Xlsx,
            Ok(pb::ReportFormat::Svg) => ReportFormat::Svg,
            _ => {
                return Err(Status::invalid_argument(
                    "format must be REPORT_FORMAT_CSV, REPORT_FORMAT_XLSX or REPORT_FORMAT_SVG",
                ));
            }
        };
        let period = Period::parse(&req.period)?;
        let file = self.inner.render(period, format, Utc::now()).await?;
        Ok(Response::new(pb::ExportReportResponse {
            file_name: file.file_name,
            content_type: file.content_type.to_owned(),
            content: file.content,
        }))
    }

    async fn set_survey_result(
        &self,
        request: Request<pb::SetSurveyResultRequest>,
    ) -> Result<Response<pb::SetSurveyResultResponse>, Status> {
        let caller = request
            .extensions()
            .get::<Caller>()
            .map(|c| c.0.clone())
            .unwrap_or_else(|| "unknown".into());
        let req = request.into_inner();
        let fy = parse_fiscal_year(&req.fiscal_year)?;
        let note = Some(req.note.as_str()).filter(|n| !n.is_empty());
        crate::backoffice::set_survey(
            &self.inner.pool,
            &self.inner.plan,
            fy,
            &req.indicator_id,
            &req.value,
            note,
            &format!("grpc:{caller}"),
        )
        .await?;
        Ok(Response::new(pb::SetSurveyResultResponse {}))
    }

    async fn get_ridership(
        &self,
        request: Request<pb::GetRidershipRequest>,
    ) -> Result<Response<pb::Ridership>, Status> {
        let req = request.into_inner();
        let period = Period::parse(&req.period)?;
        let route = Some(req.route_id.trim()).filter(|r| !r.is_empty());
        let r = self.inner.ridership(period, route, Utc::now()).await?;
        Ok(Response::new(ridership_pb(&r)))
    }

    async fn get_planning(
        &self,
        request: Request<pb::GetPlanningRequest>,
    ) -> Result<Response<pb::PlanningReport>, Status> {
        let req = request.into_inner();
        let planning = crate::planning::api::request(
            &req.from,
            &req.until,
            &req.route_id,
            &self.inner.config.capacity,
        )?;
        let analysis = self
            .inner
            .planning
            .analysis(&self.inner.pool, &planning)
            .await
            .map_err(IndicatorError::Database)?;
        Ok(Response::new(crate::planning::api::to_proto(&analysis)))
    }

    async fn export_planning(
        &self,
        request: Request<pb::ExportPlanningRequest>,
    ) -> Result<Response<pb::ExportReportResponse>, Status> {
        use crate::planning::bundle::{self, BundleError};
        let req = request.into_inner();
        let planning = crate::planning::api::request(
            &req.from,
            &req.until,
            &req.route_id,
            &self.inner.config.capacity,
        )?;
        let name = req.file_name.trim();
        if name.is_empty() {
            return Err(Status::invalid_argument(
                "file_name is empty: ask for planning.zip (everything), draft.zip, planning.xlsx, a CSV or a chart",
            ));
        }
        let content = if bundle::is_chart(name) {
            // A chart alone: the page asks for them first, before any download.
            let analysis = self
                .inner
                .planning
                .analysis(&self.inner.pool, &planning)
                .await
                .map_err(IndicatorError::Database)?;
            bundle::chart(&self.inner.pool, &analysis, name)
                .await
                .map_err(IndicatorError::Database)?
                .ok_or_else(|| {
                    Status::not_found(format!(
                        "no chart {name:?} in this report: load profiles are drawn for the routes and directions with riders, the string-line diagram for a route with stop visits in a morning peak (07-09)"
                    ))
                })?
        } else {
            let made = self
                .inner
                .planning
                .bundle(&self.inner.pool, &planning)
                .await
                .map_err(|e| match e {
                    BundleError::Database(e) => IndicatorError::Database(e),
                    other => IndicatorError::Report(other.to_string()),
                })?;
            bundle::pick(&made.files, name).map_err(Status::not_found)?
        };
        let route = planning
            .route_id
            .as_deref()
            .map_or(String::new(), |r| format!("-{}", bundle::file_part(r)));
        Ok(Response::new(pb::ExportReportResponse {
            file_name: format!(
                "planning-{}-{}{route}-{name}",
                planning.from, planning.until
            ),
            content_type: bundle::content_type(name).to_owned(),
            content,
        }))
    }
}
