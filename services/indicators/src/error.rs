//! Errors of the indicators service, and how each maps to a gRPC status.
use chrono::NaiveDate;

#[derive(Debug, thiserror::Error)]
pub enum IndicatorError {
    #[error("{0}")]
    BadPeriod(String),
    #[error("period {period} is in the future (today is {today} JST)")]
    FuturePeriod { period: String, today: NaiveDate },
    #[error(
        "unknown indicator {0:?}: see the plan file (data/plan/dx-plan-targets.toml) for the ids"
    )]
    UnknownIndicator(String),
    #[error("unknown route {0:?}: not in the active feed and no ridership in the period")]
    UnknownRoute(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Storage(#[from] kagoshima_storage::StorageError),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error(transparent)]
    Progress(#[from] crate::progress::ProgressError),
    #[error("report: {0}")]
    Report(String),
    #[error("import: {0}")]
    Import(String),
}

impl From<IndicatorError> for tonic::Status {
    fn from(e: IndicatorError) -> tonic::Status {
        let msg = e.to_string();
        match e {
            IndicatorError::BadPeriod(_) | IndicatorError::Invalid(_) => {
                tonic::Status::invalid_argument(msg)
            }
            IndicatorError::FuturePeriod { .. } => tonic::Status::failed_precondition(msg),
            IndicatorError::UnknownIndicator(_) | IndicatorError::UnknownRoute(_) => {
                tonic::Status::not_found(msg)
            }
            IndicatorError::Database(_) | IndicatorError::Storage(_) => {
                tracing::error!(error = %msg, "indicator query failed");
                tonic::Status::unavailable("the indicator database is unavailable; try again")
            }
            _ => {
                tracing::error!(error = %msg, "indicator call failed");
                tonic::Status::internal(msg)
            }
        }
    }
}
