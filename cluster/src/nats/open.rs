//! Connecting and the get-or-create of the work-queue stream and the shared
//! durable pull consumer. Settings that cannot change on a live stream
//! (retention, storage, subjects) are checked and refused with a message;
//! settings that can (duplicate window, ack wait, max deliver) are updated.

use std::time::Duration;

use async_nats::jetstream::consumer::{self, AckPolicy, PullConsumer};
use async_nats::jetstream::stream::{self, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, ErrorCode};

use super::error::NatsOpenError;
use super::options::NatsOptions;
use super::retry::{Call, Failure};

pub(super) async fn connect(opts: &NatsOptions) -> Result<async_nats::Client, NatsOpenError> {
    crate::nats_connect::connect(crate::nats_connect::Connect {
        name: "squall",
        urls: &opts.urls,
        connect_timeout: opts.connect_timeout,
        request_timeout: opts.request_timeout,
        tls: &opts.tls,
    })
    .await
}

pub(super) fn context(client: async_nats::Client, opts: &NatsOptions) -> jetstream::Context {
    crate::nats_connect::context(client, opts.request_timeout)
}

/// Setup requests are retried like queue calls: a server that just started
/// may take a moment before JetStream answers.
fn setup_call<'a>(op: &'static str, opts: &NatsOptions, servers: &'a str) -> Call<'a> {
    Call {
        op,
        task: "-",
        servers,
        budget: opts.retry_for.min(Duration::from_secs(20)),
        attempt_timeout: opts.request_timeout + Duration::from_secs(1),
    }
}

fn wanted_stream(opts: &NatsOptions) -> stream::Config {
    stream::Config {
        name: opts.stream.clone(),
        subjects: vec![opts.subject.clone()],
        retention: RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        duplicate_window: opts.duplicate_window,
        ..Default::default()
    }
}

pub(super) async fn ensure_stream(
    js: &jetstream::Context,
    opts: &NatsOptions,
) -> Result<stream::Stream, NatsOpenError> {
    let servers = opts.servers();
    let wanted = wanted_stream(opts);
    let found = setup_call("get stream", opts, &servers)
        .run(|| async { get_stream(js, &opts.stream, &servers).await })
        .await
        .map_err(|f| setup_failure(f, &servers, &opts.stream))?;
    let Some(stream) = found else {
        tracing::info!(stream = %opts.stream, subject = %opts.subject, %servers, "creating the JetStream work-queue stream");
        return setup_call("create stream", opts, &servers)
            .run(|| async {
                js.get_or_create_stream(wanted.clone())
                    .await
                    .map_err(|e| Failure::Transient(e.to_string()))
            })
            .await
            .map_err(|f| setup_failure(f, &servers, &opts.stream));
    };
    let have = &stream.cached_info().config;
    let mut differences = Vec::new();
    if have.retention != RetentionPolicy::WorkQueue {
        differences.push(format!(
            "retention is {:?}, Squall needs WorkQueue",
            have.retention
        ));
    }
    if have.storage != StorageType::File {
        differences.push(format!("storage is {:?}, Squall needs File", have.storage));
    }
    if have.subjects != wanted.subjects {
        differences.push(format!(
            "subjects are {:?}, expected {:?}",
            have.subjects, wanted.subjects
        ));
    }
    if !differences.is_empty() {
        return Err(NatsOpenError::Mismatch {
            what: format!("stream {:?}", opts.stream),
            servers,
            reason: format!(
                "{}; delete it or choose another stream name",
                differences.join("; ")
            ),
        });
    }
    if have.duplicate_window == wanted.duplicate_window {
        return Ok(stream);
    }
    tracing::info!(stream = %opts.stream, from = ?have.duplicate_window, to = ?wanted.duplicate_window, "updating the stream's duplicate window");
    setup_call("update stream", opts, &servers)
        .run(|| async {
            js.update_stream(wanted.clone())
                .await
                .map_err(|e| Failure::Transient(e.to_string()))
        })
        .await
        .map_err(|f| setup_failure(f, &servers, &opts.stream))?;
    Ok(stream)
}

/// `Ok(None)` when the stream does not exist yet.
async fn get_stream(
    js: &jetstream::Context,
    name: &str,
    servers: &str,
) -> Result<Option<stream::Stream>, Failure<NatsOpenError>> {
    use async_nats::jetstream::context::GetStreamErrorKind;
    match js.get_stream(name).await {
        Ok(stream) => Ok(Some(stream)),
        Err(e) => match e.kind() {
            GetStreamErrorKind::JetStream(js_err)
                if js_err.error_code() == ErrorCode::STREAM_NOT_FOUND =>
            {
                Ok(None)
            }
            GetStreamErrorKind::JetStream(js_err)
                if js_err.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED
                    || js_err.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT =>
            {
                Err(Failure::Permanent(NatsOpenError::NoJetStream {
                    servers: servers.to_string(),
                    reason: js_err.to_string(),
                }))
            }
            _ => Err(Failure::Transient(format!(
                "{e}: {:?}",
                std::error::Error::source(&e).map(|s| s.to_string())
            ))),
        },
    }
}

fn setup_failure(failure: Failure<NatsOpenError>, servers: &str, stream: &str) -> NatsOpenError {
    match failure {
        Failure::Permanent(e) => e,
        // A JetStream request nobody answers is the usual sign of a server
        // started without `-js`.
        Failure::Transient(reason) if reason.contains("no responders") => {
            NatsOpenError::NoJetStream {
                servers: servers.to_string(),
                reason,
            }
        }
        Failure::Transient(reason) => NatsOpenError::Setup {
            what: format!("stream {stream:?}"),
            servers: servers.to_string(),
            reason,
        },
    }
}

fn wanted_consumer(opts: &NatsOptions) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(opts.durable.clone()),
        ack_policy: AckPolicy::Explicit,
        ack_wait: opts.ack_wait,
        max_deliver: i64::from(opts.max_deliver),
        ..Default::default()
    }
}

/// Gets or creates the shared durable consumer; an existing one with another
/// ack wait or max deliver is updated, and checked afterwards.
pub(super) async fn ensure_consumer(
    stream: &stream::Stream,
    opts: &NatsOptions,
) -> Result<PullConsumer, NatsOpenError> {
    let servers = opts.servers();
    let wanted = wanted_consumer(opts);
    let what = format!("consumer {:?} on stream {:?}", opts.durable, opts.stream);
    let setup = |reason: String| NatsOpenError::Setup {
        what: what.clone(),
        servers: servers.clone(),
        reason,
    };
    let mut consumer: PullConsumer = setup_call("get or create consumer", opts, &servers)
        .run(|| async {
            stream
                .get_or_create_consumer(&opts.durable, wanted.clone())
                .await
                .map_err(|e| Failure::<()>::Transient(e.to_string()))
        })
        .await
        .map_err(|f| setup(failure_reason(f)))?;
    if consumer_matches(&consumer.cached_info().config, &wanted) {
        return Ok(consumer);
    }
    tracing::info!(consumer = %opts.durable, ack_wait = ?opts.ack_wait, max_deliver = opts.max_deliver, "updating the consumer's settings");
    consumer = setup_call("update consumer", opts, &servers)
        .run(|| async {
            stream
                .create_consumer(wanted.clone())
                .await
                .map_err(|e| Failure::<()>::Transient(e.to_string()))
        })
        .await
        .map_err(|f| setup(failure_reason(f)))?;
    let have = &consumer.cached_info().config;
    if !consumer_matches(have, &wanted) {
        return Err(NatsOpenError::Mismatch {
            what,
            servers,
            reason: format!(
                "it has ack policy {:?}, ack wait {:?}, max deliver {} and the server kept them; \
                 delete the consumer or choose another durable name",
                have.ack_policy, have.ack_wait, have.max_deliver
            ),
        });
    }
    Ok(consumer)
}

fn consumer_matches(have: &consumer::Config, wanted: &consumer::pull::Config) -> bool {
    have.ack_policy == wanted.ack_policy
        && have.ack_wait == wanted.ack_wait
        && have.max_deliver == wanted.max_deliver
}

fn failure_reason(failure: Failure<()>) -> String {
    match failure {
        Failure::Transient(reason) => reason,
        Failure::Permanent(()) => "failed".to_string(),
    }
}
