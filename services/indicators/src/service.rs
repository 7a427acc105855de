//! What the CLI and the gRPC service share: one handle on the database, the
//! configuration and the plan.
use crate::metrics::IndicatorsMetrics;
use chrono::{DateTime, Utc};
use kagoshima_domain::calendar::YearMonth;
use sqlx::PgPool;

use crate::config::IndicatorsConfig;
use crate::error::IndicatorError;
use crate::farecap::{self, FareCap};
use crate::figures::{self, Report};
use crate::period::Period;
use crate::plan::Plan;
use crate::report::{self, ReportFormat};
use crate::ridership::{self, Ridership};
use crate::rides;
use crate::shared_measures::SharedMeasures;

#[derive(Debug, Clone)]
pub struct Indicators {
    pub pool: PgPool,
    pub config: IndicatorsConfig,
    pub plan: Plan,
    /// Every refresh is counted here, the periodic one and those a report
    /// runs first (a default, unregistered set outside the service).
    metrics: IndicatorsMetrics,
    /// The last planning reports asked for.
    pub planning: std::sync::Arc<crate::planning::cache::Cache>,
    /// Measures of a period being computed, shared by requests that ask
    /// for it together.
    shared: std::sync::Arc<SharedMeasures>,
}

/// A rendered report file.
#[derive(Debug, Clone)]
pub struct ReportFile {
    pub file_name: String,
    pub content_type: &'static str,
    pub content: Vec<u8>,
}

impl Indicators {
    pub fn new(pool: PgPool, config: IndicatorsConfig) -> Result<Indicators, IndicatorError> {
        let plan = Plan::load(config.plan.as_deref())?;
        Ok(Indicators {
            pool,
            config,
            plan,
            metrics: IndicatorsMetrics::default(),
            planning: Default::default(),
            shared: Default::default(),
        })
    }

    pub fn metrics(&self) -> &IndicatorsMetrics {
        &self.metrics
    }

    /// Counts refreshes in `metrics` (registered with the service's registry).
    pub fn with_metrics(mut self, metrics: IndicatorsMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Recomputes every dirty date (rides and rollups).
    pub async fn refresh(&self) -> Result<Refreshed, IndicatorError> {
        match rides::refresh_dirty(&self.pool, &self.config.rides).await {
            Ok(done) => {
                if !done.is_empty() {
                    self.shared.forget();
                }
                let done = Refreshed {
                    dates: done.len(),
                    rides: done.iter().map(|(_, o)| o.rides).sum(),
                };
                self.metrics.record_success(done, Utc::now().timestamp());
                Ok(done)
            }
            Err(e) => {
                self.metrics.record_failure();
                Err(e)
            }
        }
    }

    /// Refuses unknown indicator ids.
    pub fn check_indicators(&self, ids: &[String]) -> Result<(), IndicatorError> {
        for id in ids {
            if self.plan.indicator(id).is_none() {
                return Err(IndicatorError::UnknownIndicator(id.clone()));
            }
        }
        Ok(())
    }

    /// The report of a period; refreshes dirty dates first so late taps count.
    pub async fn report(
        &self,
        period: Period,
        now: DateTime<Utc>,
    ) -> Result<Report, IndicatorError> {
        period.check_not_future(now)?;
        self.refresh().await?;
        figures::report(
            &self.pool,
            &self.config,
            &self.plan,
            &self.shared,
            period,
            now,
        )
        .await
    }

    pub async fn fare_cap(
        &self,
        month: YearMonth,
        now: DateTime<Utc>,
    ) -> Result<FareCap, IndicatorError> {
        Period::Month(month).check_not_future(now)?;
        self.refresh().await?;
        farecap::fare_cap(&self.pool, &self.config.fare_cap, month).await
    }

    /// Ridership by hour, route, day type and shares (rollups only); refreshes
    /// dirty dates first so late taps count.
    pub async fn ridership(
        &self,
        period: Period,
        route_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Ridership, IndicatorError> {
        period.check_not_future(now)?;
        self.refresh().await?;
        ridership::ridership(&self.pool, period, route_id, now).await
    }

    /// A report file for a month (with its fare cap) or a fiscal year.
    pub async fn render(
        &self,
        period: Period,
        format: ReportFormat,
        now: DateTime<Utc>,
    ) -> Result<ReportFile, IndicatorError> {
        let r = self.report(period, now).await?;
        let cap = match period {
            Period::Month(m) => {
                Some(farecap::fare_cap(&self.pool, &self.config.fare_cap, m).await?)
            }
            Period::FiscalYear(_) => None,
        };
        let content = match format {
            ReportFormat::Csv => report::csv(&r, cap.as_ref())?,
            ReportFormat::Xlsx => report::xlsx(&r, cap.as_ref())?,
            ReportFormat::Svg => report::svg(&r)?.into_bytes(),
        };
        Ok(ReportFile {
            file_name: format!("indicators-{}.{}", period.slug(), format.extension()),
            content_type: format.content_type(),
            content,
        })
    }
}

/// What one refresh did: dates recomputed and the rides they hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    pub dates: usize,
    pub rides: usize,
}
