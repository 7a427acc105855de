//! The JSON error every HTTP interface answers with:
//! `{"error": {"code": "invalid_argument", "message": "..."}}`, the code
//! being the gRPC status name in snake case, so a client reads HTTP and gRPC
//! errors the same way.
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

pub fn json_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}
