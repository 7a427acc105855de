//! Start-up: `Application::build` binds the listener and makes the gRPC
//! clients (lazily connected), `run_until_stopped` serves until shutdown.
use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use kagoshima_runtime::{
    admin_http::{self, Health},
    auth::{BadTokenHash, TokenSet},
    rate_limit::{RateLimiter, retry_after_secs},
    shutdown::Shutdown,
};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tracing::info;

use crate::{
    WebConfig,
    arrivals::TimetableCache,
    bureau,
    error::error_response,
    pages,
    passenger::{self, StopCache},
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
    #[error("http server failed: {0}")]
    Http(std::io::Error),
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
    listener: TcpListener,
}

impl Application {
    pub async fn build(config: WebConfig) -> Result<Application, WebError> {
        let upstream = Upstream::new(&config.passenger_grpc, &config.indicators_grpc)?;
        let tokens = TokenSet::new(&config.auth.tokens)?;
        if tokens.is_empty() {
            tracing::warn!("no bureau tokens configured: /api/bureau refuses every request");
        }
        let listener = config.http.bind().await?;
        let state = AppState {
            limiter: RateLimiter::new(config.rate_limit.clone()),
            config: Arc::new(config),
            upstream,
            tokens: Arc::new(tokens),
            timetables: TimetableCache::default(),
            stops: StopCache::default(),
        };
        Ok(Application { state, listener })
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> Result<(), WebError> {
        info!(http = %self.addr(), "web serving");
        let router = router(self.state);
        axum::serve(
            kagoshima_runtime::serving::http_listener(self.listener),
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(WebError::Http)?;
        info!("web stopped");
        Ok(())
    }
}

/// Every route of the web service.
pub fn router(state: AppState) -> Router {
    let bureau = Router::new()
        .route("/api/bureau/indicators", get(bureau::indicators))
        .route("/api/bureau/report.svg", get(bureau::report_svg))
        .route("/api/bureau/ridership", get(bureau::ridership))
        .route("/api/bureau/feeds", get(bureau::feeds))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            bureau::require_token,
        ));
    let api = Router::new()
        .route("/api/routes", get(passenger::routes))
        .route("/api/routes/{id}/shape", get(passenger::shape))
        .route("/api/routes/{id}/vehicles", get(passenger::vehicles))
        .route("/api/stops/search", get(passenger::search))
        .route("/api/stops/{id}", get(passenger::stop))
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
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::map_response(no_store));
    let pages = Router::new()
        .route("/", get(pages::index))
        .route("/signage", get(pages::signage_default))
        .route("/signage/{stop_id}", get(pages::signage))
        .route("/dashboard", get(pages::dashboard))
        .route("/assets/{name}", get(pages::asset));
    let admin = admin_http::router(Arc::new(Registry::default()), Health::default());
    Router::new()
        .merge(pages)
        .merge(api)
        .with_state(state)
        .merge(admin)
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

/// The web's own `/api` limit, keyed by the real TCP peer (the browser):
/// no `x-forwarded-for` is believed here. The same address goes upstream as
/// `x-forwarded-for` on PassengerService calls ([`crate::upstream::ClientIp`]).
async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer
        && let Err(wait) = state.limiter.check(ip)
    {
        let secs = retry_after_secs(wait);
        let mut response = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "resource_exhausted",
            format!("rate limit exceeded for this client: retry after {secs} s"),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    next.run(request).await
}
