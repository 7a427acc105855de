//! The pages and their assets, embedded in the binary. Every response
//! carries a strict Content-Security-Policy: no inline script, nothing from
//! another origin.
use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use crate::app::AppState;

const INDEX: &str = include_str!("../assets/index.html");
const SIGNAGE: &str = include_str!("../assets/signage.html");
const DASHBOARD: &str = include_str!("../assets/dashboard.html");

/// (name, content type, body) of every asset under /assets.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "signage.css",
        "text/css; charset=utf-8",
        include_str!("../assets/signage.css"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/i18n.js"),
    ),
    (
        "passenger.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/passenger.js"),
    ),
    (
        "signage.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/signage.js"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/dashboard.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../assets/favicon.svg"),
    ),
];

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data:; connect-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn page(body: String) -> Response {
    let mut r = Html(body).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

pub async fn index() -> Response {
    page(INDEX.to_owned())
}

pub async fn dashboard() -> Response {
    page(DASHBOARD.to_owned())
}

pub async fn signage_default(State(s): State<AppState>) -> Response {
    signage_page(&s.config.signage_default_stop)
}

pub async fn signage(Path(stop_id): Path<String>) -> Response {
    signage_page(&stop_id)
}

fn signage_page(stop_id: &str) -> Response {
    page(SIGNAGE.replace("{{STOP_ID}}", &escape(stop_id)))
}

/// HTML-escapes text for an attribute or element.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_declare_their_language_and_escape_the_stop() {
        for p in [INDEX, SIGNAGE, DASHBOARD] {
            assert!(p.contains("<html lang=\"ja\""), "{}", &p[..80]);
            assert!(
                !p.contains("http://") && !p.contains("https://"),
                "no external urls"
            );
        }
        assert_eq!(escape("a\"<b>"), "a&quot;&lt;b&gt;");
    }
}
