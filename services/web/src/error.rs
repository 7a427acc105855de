//! Errors of the JSON API: `{"error": {"code": "...", "message": "..."}}`
//! with the HTTP status that matches the upstream gRPC status.
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Upstream(tonic::Status),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// The method this answer needs does not exist upstream yet.
    #[error("{0}")]
    Unimplemented(String),
    #[error("{0}")]
    Unavailable(String),
}

impl From<tonic::Status> for ApiError {
    fn from(s: tonic::Status) -> Self {
        ApiError::Upstream(s)
    }
}

/// A JSON error body.
pub use kagoshima_runtime::http_error::json_error as error_response;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::BadRequest(m) => {
                error_response(StatusCode::BAD_REQUEST, "invalid_argument", m)
            }
            ApiError::Unauthenticated(m) => {
                let mut r = error_response(StatusCode::UNAUTHORIZED, "unauthenticated", m);
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"kagoshima-bureau\""),
                );
                r
            }
            ApiError::Unimplemented(m) => {
                error_response(StatusCode::NOT_IMPLEMENTED, "unimplemented", m)
            }
            ApiError::Unavailable(m) => {
                error_response(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m)
            }
            ApiError::Upstream(status) => from_status(&status),
        }
    }
}

fn from_status(status: &tonic::Status) -> Response {
    use tonic::Code;
    let message = status.message().to_owned();
    let (http, code) = match status.code() {
        Code::InvalidArgument => (StatusCode::BAD_REQUEST, "invalid_argument"),
        // A date the timetable does not cover: a well-formed question that
        // has no answer yet (or any more).
        Code::OutOfRange => (StatusCode::UNPROCESSABLE_ENTITY, "out_of_range"),
        Code::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        Code::FailedPrecondition => (StatusCode::UNPROCESSABLE_ENTITY, "failed_precondition"),
        Code::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
        Code::PermissionDenied => (StatusCode::FORBIDDEN, "permission_denied"),
        Code::ResourceExhausted => (StatusCode::TOO_MANY_REQUESTS, "resource_exhausted"),
        Code::Unimplemented => (StatusCode::NOT_IMPLEMENTED, "unimplemented"),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            tracing::warn!(code = ?status.code(), message = %message, "upstream unavailable");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service behind this page is not answering; try again shortly",
            );
        }
        _ => {
            tracing::error!(code = ?status.code(), message = %message, "upstream failed");
            return error_response(
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                "the service behind this page failed; try again",
            );
        }
    };
    let mut response = error_response(http, code, message);
    if http == StatusCode::TOO_MANY_REQUESTS
        && let Some(v) = status.metadata().get("retry-after")
        && let Ok(v) = v.to_str()
        && let Ok(v) = HeaderValue::from_str(v)
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}
