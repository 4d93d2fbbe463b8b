//! The coordinator's web page (issue 14), as TiDB Lightning's server mode
//! has one: the jobs, progress per table with bars, the workers, the
//! errors, and pause / resume / cancel buttons. Plain HTML, JS and CSS
//! compiled into the binary (`include_str!`): no build step, nothing
//! fetched from outside (a cluster often has no internet). The page only
//! reads the JSON API (`GET /jobs`, `GET /jobs/{id}`, `GET /metrics`) and
//! posts the control calls, so what it shows is what `squall job` shows.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const INDEX_HTML: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");
const STYLE_CSS: &str = include_str!("web/style.css");

/// `GET /` (the page) and its two assets, for any router state.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/web/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/web/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
}

/// `no-cache`: a browser left open across an upgrade revalidates and gets
/// the page of the running binary, not a stale one against a newer API.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page must work with no internet: no asset it names may point
    /// outside the coordinator.
    #[test]
    fn nothing_is_loaded_from_outside() {
        for (name, text) in [
            ("index.html", INDEX_HTML),
            ("app.js", APP_JS),
            ("style.css", STYLE_CSS),
        ] {
            for scheme in ["http://", "https://", "//cdn", "@import"] {
                assert!(!text.contains(scheme), "{name} names {scheme}");
            }
        }
        for asset in ["/web/app.js", "/web/style.css"] {
            assert!(INDEX_HTML.contains(asset), "index.html loads {asset}");
        }
    }
}
