//! The worker's tiny HTTP server (axum): `GET /metrics` and `GET /healthz`.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::scrape::{render, ScrapeSources};

/// prometheus-client writes OpenMetrics text (counters as `_total`, a
/// closing `# EOF`); Prometheus parses it when told so.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    sources: ScrapeSources,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(sources);
    axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}

async fn metrics(State(sources): State<ScrapeSources>) -> impl IntoResponse {
    ([("content-type", CONTENT_TYPE)], render(&sources).await)
}
