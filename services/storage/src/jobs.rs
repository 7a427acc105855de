//! TimescaleDB's background jobs (compression, retention, and any policy
//! added later), watched so that an operator sees a failing one: a gauge per
//! job in `/metrics`, and a warning in `/healthz` (the service stays ready;
//! a failing policy does not stop it from serving). On plain PostgreSQL there
//! are no jobs and nothing to watch.
use std::time::Duration;

use kagoshima_runtime::{host::Host, shutdown::Shutdown};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, gauge::Gauge},
};

use crate::{StorageError, Store};

/// How often the jobs are checked: they run every few hours at most.
const JOBS_EVERY: Duration = Duration::from_secs(60);

/// One background job and how its last run went.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BackgroundJob {
    pub job_id: i32,
    /// `policy_compression`, `policy_retention`, ...
    pub proc_name: String,
    pub hypertable: Option<String>,
    /// `Success`, `Failed`, or none before the first run.
    pub last_run_status: Option<String>,
    pub total_failures: i64,
    pub total_successes: i64,
    /// The error of the latest failed run, as TimescaleDB recorded it.
    pub last_error: Option<String>,
}

impl BackgroundJob {
    pub fn failing(&self) -> bool {
        self.last_run_status.as_deref() == Some("Failed")
    }

    fn describe(&self) -> String {
        format!(
            "{} on {} (job {}): last run failed, {} failures and {} successes so far{}",
            self.proc_name,
            self.hypertable.as_deref().unwrap_or("the database"),
            self.job_id,
            self.total_failures,
            self.total_successes,
            self.last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        )
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job_id: String,
    proc_name: String,
    hypertable: String,
}

impl Store {
    /// The database's background jobs (none on plain PostgreSQL). The
    /// telemetry job is left out: it is switched off.
    pub async fn background_jobs(&self) -> Result<Vec<BackgroundJob>, StorageError> {
        if !self.timescale_enabled().await? {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "SELECT j.job_id, j.proc_name::text AS proc_name, j.hypertable_name::text AS hypertable,
                    s.last_run_status, coalesce(s.total_failures, 0) AS total_failures,
                    coalesce(s.total_successes, 0) AS total_successes,
                    (SELECT e.err_message FROM timescaledb_information.job_errors e
                      WHERE e.job_id = j.job_id ORDER BY e.finish_time DESC NULLS LAST LIMIT 1) AS last_error
               FROM timescaledb_information.jobs j
               LEFT JOIN timescaledb_information.job_stats s USING (job_id)
              WHERE j.proc_name <> 'policy_telemetry'
              ORDER BY j.job_id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Registers `kagoshima_database_job_failing{job_id,proc_name,hypertable}`
    /// (1 while the job's last run failed) and `kagoshima_database_jobs_failing`,
    /// and keeps the host's `database_jobs` warning equal to the failing
    /// jobs, checked every minute until `stop`.
    pub fn watch_jobs(&self, host: &mut Host, stop: Shutdown) {
        let per_job = Family::<JobLabels, Gauge>::default();
        let failing = Gauge::<i64>::default();
        let registry = host
            .registry()
            .sub_registry_with_prefix("kagoshima_database");
        registry.register(
            "job_failing",
            "1 while the last run of this TimescaleDB background job failed",
            per_job.clone(),
        );
        registry.register(
            "jobs_failing",
            "TimescaleDB background jobs whose last run failed",
            failing.clone(),
        );
        let health = host.health();
        let store = self.clone();
        tokio::spawn(async move {
            let mut reported = String::new();
            loop {
                match store.background_jobs().await {
                    Ok(jobs) => {
                        for job in &jobs {
                            per_job
                                .get_or_create(&JobLabels {
                                    job_id: job.job_id.to_string(),
                                    proc_name: job.proc_name.clone(),
                                    hypertable: job.hypertable.clone().unwrap_or_default(),
                                })
                                .set(i64::from(job.failing()));
                        }
                        let failed: Vec<String> = jobs
                            .iter()
                            .filter(|j| j.failing())
                            .map(BackgroundJob::describe)
                            .collect();
                        failing.set(failed.len() as i64);
                        let summary = failed.join("; ");
                        if failed.is_empty() {
                            health.clear_warning("database_jobs");
                        } else {
                            if summary != reported {
                                tracing::warn!(jobs = %summary, "database background jobs failing");
                            }
                            health.warn("database_jobs", summary.clone());
                        }
                        reported = summary;
                    }
                    // The readiness probe reports an unreachable database.
                    Err(e) => tracing::debug!(error = %e, "cannot read the background jobs"),
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(JOBS_EVERY) => {}
                }
            }
        });
    }
}
