//! Connecting, and the get-or-create of the artefact bucket. A bucket that
//! exists with memory storage is refused: artefacts must survive a server
//! restart.

use std::time::Duration;

use async_nats::jetstream::context::{ContextBuilder, GetStreamErrorKind};
use async_nats::jetstream::object_store::{self, ObjectStore};
use async_nats::jetstream::stream::StorageType;
use async_nats::jetstream::{self, ErrorCode};

use super::options::NatsArtefactOptions;
use crate::NatsOpenError;

/// Gaps between reconnect attempts: quick at first, then at most every 2 s,
/// forever (calls give up on their own budget, not the connection).
fn reconnect_delay(attempts: usize) -> Duration {
    let exp = u32::try_from(attempts.min(16)).unwrap_or(16);
    Duration::from_millis(50u64.saturating_mul(2u64.saturating_pow(exp)))
        .min(Duration::from_secs(2))
}

pub(super) async fn connect(
    opts: &NatsArtefactOptions,
) -> Result<(async_nats::Client, jetstream::Context), NatsOpenError> {
    let servers = opts.servers();
    let unreachable = |reason: String| NatsOpenError::Unreachable {
        servers: servers.clone(),
        reason,
    };
    let log_servers = servers.clone();
    let connecting = async_nats::ConnectOptions::new()
        .name("squall-artefacts")
        .connection_timeout(opts.connect_timeout)
        .request_timeout(Some(opts.request_timeout))
        .reconnect_delay_callback(reconnect_delay)
        .event_callback(move |event| {
            let servers = log_servers.clone();
            async move {
                match event {
                    async_nats::Event::Disconnected => {
                        tracing::warn!(%servers, "artefact store lost its nats connection, reconnecting")
                    }
                    async_nats::Event::Connected => {
                        tracing::info!(%servers, "artefact store connected to nats")
                    }
                    other => tracing::info!(%servers, event = %other, "nats connection event"),
                }
            }
        })
        .connect(opts.urls.as_slice());
    let limit = opts.connect_timeout * u32::try_from(opts.urls.len()).unwrap_or(u32::MAX)
        + opts.request_timeout;
    let client = match tokio::time::timeout(limit, connecting).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return Err(unreachable(e.to_string())),
        Err(_) => return Err(unreachable(format!("no connection within {limit:?}"))),
    };
    let js = ContextBuilder::new()
        .timeout(opts.request_timeout)
        .ack_timeout(opts.request_timeout)
        .build(client.clone());
    Ok((client, js))
}

/// The bucket, created (file storage) if it does not exist. Retried for at
/// most 20 s: a server that just started may take a moment to answer.
pub(super) async fn ensure_bucket(
    js: &jetstream::Context,
    opts: &NatsArtefactOptions,
) -> Result<ObjectStore, NatsOpenError> {
    let servers = opts.servers();
    let deadline = tokio::time::Instant::now() + opts.retry_for.min(Duration::from_secs(20));
    let mut delay = Duration::from_millis(100);
    loop {
        let reason = match attempt(js, opts).await {
            Ok(bucket) => return Ok(bucket),
            Err(Setup::Fatal(e)) => return Err(e),
            Err(Setup::Again(reason)) => reason,
        };
        if tokio::time::Instant::now() + delay > deadline {
            return Err(if reason.contains("no responders") {
                NatsOpenError::NoJetStream { servers, reason }
            } else {
                NatsOpenError::Setup {
                    what: format!("artefact bucket {:?}", opts.bucket),
                    servers,
                    reason,
                }
            });
        }
        tracing::warn!(bucket = %opts.bucket, %servers, %reason, retry_in = ?delay, "opening the artefact bucket failed, retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

enum Setup {
    Again(String),
    Fatal(NatsOpenError),
}

async fn attempt(
    js: &jetstream::Context,
    opts: &NatsArtefactOptions,
) -> Result<ObjectStore, Setup> {
    let limit = opts.request_timeout + Duration::from_secs(1);
    let timed_out = || Setup::Again(format!("no answer within {limit:?}"));
    let stream = format!("OBJ_{}", opts.bucket);
    let found = tokio::time::timeout(limit, js.get_stream(&stream))
        .await
        .map_err(|_| timed_out())?;
    match found {
        Ok(existing) => {
            let storage = existing.cached_info().config.storage;
            if storage != StorageType::File {
                return Err(Setup::Fatal(NatsOpenError::Mismatch {
                    what: format!("artefact bucket {:?}", opts.bucket),
                    servers: opts.servers(),
                    reason: format!(
                        "its storage is {storage:?}, Squall needs File; delete the stream {stream} or choose another bucket"
                    ),
                }));
            }
            tokio::time::timeout(limit, js.get_object_store(&opts.bucket))
                .await
                .map_err(|_| timed_out())?
                .map_err(|e| Setup::Again(e.to_string()))
        }
        Err(e) => match e.kind() {
            GetStreamErrorKind::JetStream(js_err)
                if js_err.error_code() == ErrorCode::STREAM_NOT_FOUND =>
            {
                create(js, opts, limit).await
            }
            GetStreamErrorKind::JetStream(js_err)
                if js_err.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED
                    || js_err.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT =>
            {
                Err(Setup::Fatal(NatsOpenError::NoJetStream {
                    servers: opts.servers(),
                    reason: js_err.to_string(),
                }))
            }
            _ => Err(Setup::Again(e.to_string())),
        },
    }
}

/// Creates the bucket. Two processes creating it at once is fine: the
/// server accepts a create with the same settings as the existing stream.
async fn create(
    js: &jetstream::Context,
    opts: &NatsArtefactOptions,
    limit: Duration,
) -> Result<ObjectStore, Setup> {
    tracing::info!(bucket = %opts.bucket, servers = %opts.servers(), "creating the artefact bucket");
    let config = object_store::Config {
        bucket: opts.bucket.clone(),
        description: Some("Squall: artefacts workers hand to the coordinator".into()),
        storage: StorageType::File,
        ..Default::default()
    };
    tokio::time::timeout(limit, js.create_object_store(config))
        .await
        .map_err(|_| Setup::Again(format!("no answer within {limit:?}")))?
        .map_err(|e| {
            Setup::Again(format!(
                "{e}: {}",
                std::error::Error::source(&e).map_or(String::new(), |s| s.to_string())
            ))
        })
}
