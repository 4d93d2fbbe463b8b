//! [`NatsTaskQueue`]: the [`TaskQueue`] on a JetStream work-queue stream and
//! one durable pull consumer shared by every worker.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, Context};
use async_trait::async_trait;
use futures::StreamExt as _;
use squall_common::queue::{Delivery, Published, QueueDepth, QueueError, TaskMessage, TaskQueue};
use tokio::time::Instant;

use super::delivery::NatsDelivery;
use super::error::NatsOpenError;
use super::open;
use super::options::NatsOptions;
use super::retry::{require_connected, Call, Failure};

/// The header JetStream de-duplicates on; it carries the task id.
const MSG_ID: &str = "Nats-Msg-Id";

/// Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct NatsTaskQueue {
    inner: Arc<Inner>,
}

struct Inner {
    client: async_nats::Client,
    js: Context,
    consumer: PullConsumer,
    opts: NatsOptions,
    servers: String,
}

impl NatsTaskQueue {
    /// Connects and gets or creates the stream and the durable consumer.
    pub async fn connect(opts: NatsOptions) -> Result<Self, NatsOpenError> {
        opts.validate().map_err(NatsOpenError::Options)?;
        let client = open::connect(&opts).await?;
        let js = open::context(client.clone(), &opts);
        let stream = open::ensure_stream(&js, &opts).await?;
        let consumer = open::ensure_consumer(&stream, &opts).await?;
        tracing::info!(servers = %opts.servers(), stream = %opts.stream, consumer = %opts.durable, "task queue open on nats");
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                js,
                consumer,
                servers: opts.servers(),
                opts,
            }),
        })
    }

    pub fn options(&self) -> &NatsOptions {
        &self.inner.opts
    }

    /// Deliveries of one task before the server stops delivering it.
    pub fn max_deliver(&self) -> u32 {
        self.inner.opts.max_deliver
    }

    /// Whether `delivery` is the last one the server will make of its task: if
    /// it is not acked, nobody gets the task again, so the caller records the
    /// failure (in the checkpoint store) before it lets go of the delivery.
    pub fn is_last_delivery(&self, delivery: &Delivery) -> bool {
        delivery.delivered >= self.max_deliver()
    }

    /// Deliveries the shared consumer has made so far, redeliveries
    /// included (its consumer sequence; kept in the server's store, so a
    /// restarted nats-server goes on counting). For tests and reports.
    pub async fn deliveries(&self) -> Result<u64, QueueError> {
        let call = self.call("consumer info", "-", self.inner.opts.retry_for);
        let info = call
            .run_queue_op(|| async {
                require_connected(&self.inner.client)?;
                self.inner
                    .consumer
                    .get_info()
                    .await
                    .map_err(|e| Failure::Transient(e.to_string()))
            })
            .await?;
        Ok(info.delivered.consumer_sequence)
    }

    fn call<'a>(&'a self, op: &'static str, task: &'a str, budget: Duration) -> Call<'a> {
        Call {
            op,
            task,
            servers: &self.inner.servers,
            budget,
            attempt_timeout: self.inner.opts.request_timeout + Duration::from_secs(1),
        }
    }

    /// One pull request for one message, waiting up to `wait` on the server.
    /// `Err` carries the reason.
    async fn fetch_one(&self, wait: Duration) -> Result<Option<jetstream::Message>, String> {
        let consumer = &self.inner.consumer;
        // Below a millisecond the server would expire the request before it
        // looks: ask "anything now?" instead.
        let batch = if wait < Duration::from_millis(1) {
            consumer.fetch().max_messages(1).messages().await
        } else {
            consumer
                .batch()
                .max_messages(1)
                .expires(wait)
                .messages()
                .await
        };
        let mut batch = batch.map_err(|e| format!("sending the pull request: {e}"))?;
        match batch.next().await {
            None => Ok(None),
            Some(Ok(msg)) => Ok(Some(msg)),
            Some(Err(e)) => Err(format!("pull answered with an error: {e}")),
        }
    }

    fn to_delivery(&self, msg: jetstream::Message) -> Result<Delivery, QueueError> {
        let (delivered, seq) = {
            let info = msg.info().map_err(|e| QueueError::Unavailable {
                reason: format!(
                    "nats {}: delivery without JetStream metadata: {e}",
                    self.inner.servers
                ),
            })?;
            (
                u32::try_from(info.delivered).unwrap_or(u32::MAX),
                info.stream_sequence,
            )
        };
        let id = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(MSG_ID))
            .map(|v| v.as_str().to_string())
            .unwrap_or_else(|| {
                // Not published by Squall; the caller cannot parse it either
                // and will say so with this name.
                tracing::warn!(stream = %self.inner.opts.stream, seq, "message without a {MSG_ID} header");
                format!("stream-seq-{seq}")
            });
        let payload = msg.payload.to_vec();
        let handle = NatsDelivery {
            client: self.inner.client.clone(),
            id: id.clone(),
            servers: self.inner.servers.clone(),
            retry_for: self.inner.opts.retry_for,
            ack_wait: self.inner.opts.ack_wait,
            request_timeout: self.inner.opts.request_timeout,
            msg,
        };
        Ok(Delivery::new(id, payload, delivered, Arc::new(handle)))
    }
}

fn publish_failure(kind: PublishErrorKind, e: impl std::fmt::Display) -> Failure {
    match kind {
        // No amount of retrying makes the message smaller.
        PublishErrorKind::MaxPayloadExceeded => Failure::Permanent(QueueError::Unavailable {
            reason: format!("task too large for nats: {e}"),
        }),
        // StreamNotFound is what a restarting server says until JetStream has
        // recovered its streams; the rest are connection trouble or timeouts.
        PublishErrorKind::StreamNotFound
        | PublishErrorKind::WrongLastMessageId
        | PublishErrorKind::WrongLastSequence
        | PublishErrorKind::TimedOut
        | PublishErrorKind::BrokenPipe
        | PublishErrorKind::MaxAckPending
        | PublishErrorKind::Other => Failure::Transient(e.to_string()),
    }
}

#[async_trait]
impl TaskQueue for NatsTaskQueue {
    /// A retry after a lost publish ack may see its own first attempt as a
    /// `Duplicate`; either way the task is queued exactly once.
    async fn publish(&self, task: TaskMessage) -> Result<Published, QueueError> {
        let payload = bytes::Bytes::from(task.payload);
        let call = self.call("publish", &task.id, self.inner.opts.retry_for);
        call.run_queue_op(|| async {
            require_connected(&self.inner.client)?;
            let message = PublishMessage::build()
                .payload(payload.clone())
                .message_id(task.id.as_str());
            let ack = self
                .inner
                .js
                .send_publish(self.inner.opts.subject.clone(), message)
                .await
                .map_err(|e| publish_failure(e.kind(), &e))?
                .await
                .map_err(|e| publish_failure(e.kind(), &e))?;
            Ok(if ack.duplicate {
                Published::Duplicate
            } else {
                Published::Queued
            })
        })
        .await
    }

    /// While the client is between connections the pull waits (within
    /// `wait`) for the reconnect, then fails with `Unavailable`; it never
    /// outlasts `wait` plus one request timeout.
    async fn pull(&self, wait: Duration) -> Result<Option<Delivery>, QueueError> {
        let give_up = Instant::now() + wait;
        let call = self.call("pull", "-", wait);
        call.run_queue_op(|| async { require_connected(&self.inner.client) })
            .await?;
        let wait = give_up.saturating_duration_since(Instant::now());
        let limit = wait + self.inner.opts.request_timeout;
        match tokio::time::timeout(limit, self.fetch_one(wait)).await {
            Ok(Ok(Some(msg))) => self.to_delivery(msg).map(Some),
            Ok(Ok(None)) => Ok(None),
            Ok(Err(reason)) => Err(call.unavailable(&reason)),
            Err(_) => Err(call.unavailable(&format!("no answer to the pull within {limit:?}"))),
        }
    }

    fn ack_wait(&self) -> Duration {
        self.inner.opts.ack_wait
    }

    /// From the shared consumer's info: `num_pending` (not yet delivered)
    /// and `num_ack_pending` (delivered, not acked). One request, retried
    /// like any call but only for one request timeout: a scrape must not hang.
    async fn depth(&self) -> Result<Option<QueueDepth>, QueueError> {
        let call = self.call("consumer info", "-", self.inner.opts.request_timeout);
        let info = call
            .run_queue_op(|| async {
                require_connected(&self.inner.client)?;
                self.inner
                    .consumer
                    .get_info()
                    .await
                    .map_err(|e| Failure::Transient(e.to_string()))
            })
            .await?;
        Ok(Some(QueueDepth {
            pending: info.num_pending,
            in_flight: u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX),
        }))
    }
}
