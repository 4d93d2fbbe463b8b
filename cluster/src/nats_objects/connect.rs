//! Connecting, and the get-or-create of the artefact bucket. A bucket that
//! exists with memory storage is refused: artefacts must survive a server
//! restart.

use std::time::Duration;

use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::object_store::{self, ObjectStore};
use async_nats::jetstream::stream::StorageType;
use async_nats::jetstream::{self, ErrorCode};

use super::options::NatsArtefactOptions;
use crate::NatsOpenError;

pub(super) async fn connect(
    opts: &NatsArtefactOptions,
) -> Result<(async_nats::Client, jetstream::Context), NatsOpenError> {
    let client = crate::nats_connect::connect(crate::nats_connect::Connect {
        name: "squall-artefacts",
        urls: &opts.urls,
        connect_timeout: opts.connect_timeout,
        request_timeout: opts.request_timeout,
        tls: &opts.tls,
    })
    .await?;
    let js = crate::nats_connect::context(client.clone(), opts.request_timeout);
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
