//! Start-up: `Application::build` binds the listener and makes the gRPC
//! clients (lazily connected), `run_until_stopped` serves through the
//! runtime's [`Host`] until shutdown.
use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
    middleware,
    response::Response,
    routing::{get, post, put},
};
use kagoshima_runtime::{
    auth::{BadTokenHash, TokenSet},
    host::{GrpcServices, Host, ServeError},
    rate_limit::RateLimiter,
    shutdown::Shutdown,
};

use crate::{
    WebConfig, alerts,
    arrivals::TimetableCache,
    bureau, devices,
    error::error_response,
    pages,
    passenger::{self, StopCache},
    timetable,
    upstream::{BadAddress, Upstream},
};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Bind(#[from] kagoshima_runtime::settings::BindError),
    #[error(transparent)]
    Upstream(#[from] BadAddress),
    #[error(transparent)]
    Tokens(#[from] BadTokenHash),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<WebConfig>,
    pub upstream: Upstream,
    pub tokens: Arc<TokenSet>,
    pub limiter: RateLimiter,
    pub timetables: TimetableCache,
    /// Stops looked up recently, so the map does not count a second lookup.
    pub stops: StopCache,
}

pub struct Application {
    state: AppState,
    host: Host,
}

impl Application {
    pub async fn build(config: WebConfig) -> Result<Application, WebError> {
        let upstream = Upstream::new(
            &config.passenger_grpc,
            &config.indicators_grpc,
            &config.ingest_grpc,
        )?;
        let tokens = TokenSet::new(&config.auth.tokens)?;
        if tokens.is_empty() {
            tracing::warn!("no bureau tokens configured: /api/bureau refuses every request");
        }
        let host = Host::bind("web", None, &config.http).await?;
        let state = AppState {
            limiter: RateLimiter::new(config.rate_limit.clone()),
            config: Arc::new(config),
            upstream,
            tokens: Arc::new(tokens),
            timetables: TimetableCache::default(),
            stops: StopCache::default(),
        };
        Ok(Application { state, host })
    }

    pub fn addr(&self) -> SocketAddr {
        self.host.http_addr()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> Result<(), WebError> {
        let router = router(self.state);
        self.host
            .serve(GrpcServices::new(), Some(router), shutdown)
            .await?;
        Ok(())
    }
}

/// Every route of the web service.
pub fn router(state: AppState) -> Router {
    let bureau = Router::new()
        .route("/api/bureau/indicators", get(bureau::indicators))
        .route("/api/bureau/report.svg", get(bureau::report_svg))
        .route("/api/bureau/export", get(bureau::export))
        .route("/api/bureau/ridership", get(bureau::ridership))
        .route("/api/bureau/planning", get(bureau::planning))
        .route("/api/bureau/planning/file", get(bureau::planning_file))
        .route("/api/bureau/feeds", get(bureau::feeds))
        .route("/api/bureau/devices", get(devices::list))
        .route("/api/bureau/devices/{vehicle_id}", get(devices::one))
        .route("/api/bureau/alerts", get(alerts::list).post(alerts::create))
        .route("/api/bureau/alerts/{id}", put(alerts::update))
        .route("/api/bureau/alerts/{id}/end", post(alerts::end))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            bureau::require_token,
        ));
    let api = Router::new()
        .route("/api/routes", get(passenger::routes))
        .route("/api/routes/{id}/shape", get(passenger::shape))
        .route("/api/routes/{id}/vehicles", get(passenger::vehicles))
        .route("/api/stops/search", get(passenger::search))
        .route("/api/stops/nearby", get(passenger::nearby))
        .route("/api/stops/{id}", get(passenger::stop))
        .route("/api/stops/{id}/timetable", get(timetable::timetable))
        .route("/api/stops/{id}/arrivals", get(passenger::arrivals))
        .route(
            "/api/stops/{id}/arrivals/stream",
            get(passenger::arrivals_stream),
        )
        .merge(bureau)
        .route(
            "/api/{*rest}",
            get(|| async {
                error_response(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
            }),
        )
        .layer(middleware::from_fn_with_state(
            state.limiter.clone(),
            kagoshima_runtime::rate_limit::limit_http,
        ))
        .layer(middleware::map_response(no_store));
    let pages = Router::new()
        .route("/", get(pages::index))
        .route("/signage", get(pages::signage_default))
        .route("/signage/{stop_id}", get(pages::signage))
        .route("/dashboard", get(pages::dashboard))
        .route("/assets/{name}", get(pages::asset));
    Router::new()
        .merge(pages)
        .merge(api)
        .with_state(state)
        .layer(middleware::map_response(security_headers))
}

async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(pages::CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
