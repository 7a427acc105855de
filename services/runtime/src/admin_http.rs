//! The admin HTTP endpoints every service serves: Prometheus `/metrics` and
//! `/healthz`: 200 when ready, 503 with the reasons while a component it
//! needs to serve is failing. Warnings (a failing database background job,
//! say) make the status `degraded` and list the reason but keep it ready:
//! an operator must see them, a load balancer must not drain the service.
use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use prometheus_client::{encoding::text::encode, registry::Registry};
use serde::Serialize;

/// What `/healthz` reports; services update it as their dependencies come and go.
/// gRPC health follows it too (see [`crate::host`]), through [`Health::watch`].
#[derive(Debug, Clone)]
pub struct Health {
    problems: Arc<Mutex<Vec<(&'static str, String)>>>,
    warnings: Arc<Mutex<Vec<(&'static str, String)>>>,
    healthy: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            problems: Arc::default(),
            warnings: Arc::default(),
            healthy: Arc::new(tokio::sync::watch::Sender::new(true)),
        }
    }
}

#[derive(Debug, Serialize)]
struct HealthBody {
    status: &'static str,
    ready: bool,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

#[derive(Debug, Serialize)]
struct Problem {
    component: &'static str,
    detail: String,
}

impl Health {
    /// Marks `component` as failing, with a reason.
    pub fn degrade(&self, component: &'static str, detail: impl Into<String>) {
        let mut problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        problems.retain(|(c, _)| *c != component);
        problems.push((component, detail.into()));
        self.healthy
            .send_if_modified(|h| std::mem::replace(h, false));
    }

    /// Marks `component` as working again.
    pub fn recover(&self, component: &'static str) {
        let mut problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        problems.retain(|(c, _)| *c != component);
        let healthy = problems.is_empty();
        self.healthy
            .send_if_modified(|h| std::mem::replace(h, healthy) != healthy);
    }

    /// Reports a problem that does not stop the service from serving.
    pub fn warn(&self, component: &'static str, detail: impl Into<String>) {
        let mut warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        warnings.retain(|(c, _)| *c != component);
        warnings.push((component, detail.into()));
    }

    /// Withdraws the warning of `component`.
    pub fn clear_warning(&self, component: &'static str) {
        let mut warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        warnings.retain(|(c, _)| *c != component);
    }

    /// Follows whether the service is healthy (no component failing).
    pub fn watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.healthy.subscribe()
    }

    pub fn is_healthy(&self) -> bool {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    fn body(&self) -> HealthBody {
        let listed = |list: &Mutex<Vec<(&'static str, String)>>| {
            list.lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(component, detail)| Problem {
                    component,
                    detail: detail.clone(),
                })
                .collect::<Vec<_>>()
        };
        let problems = listed(&self.problems);
        let warnings = listed(&self.warnings);
        HealthBody {
            status: if problems.is_empty() && warnings.is_empty() {
                "ok"
            } else {
                "degraded"
            },
            ready: problems.is_empty(),
            problems,
            warnings,
        }
    }
}

#[derive(Clone)]
struct AdminState {
    registry: Arc<Registry>,
    health: Health,
}

/// The admin routes, to serve alone or merge into a service's own router.
pub fn router(registry: Arc<Registry>, health: Health) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(AdminState { registry, health })
}

async fn metrics(State(state): State<AdminState>) -> Response {
    let mut body = String::new();
    if let Err(e) = encode(&mut body, &state.registry) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode metrics: {e}"),
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn healthz(State(state): State<AdminState>) -> Response {
    let body = state.health.body();
    let code = if body.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}
