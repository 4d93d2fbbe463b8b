//! The task queue seam, shaped after a NATS JetStream work queue with a pull
//! consumer and explicit acks, so that the JetStream implementation needs no
//! change in its callers:
//!
//! * `publish` with a message id: a task whose id is still queued or in flight
//!   is not enqueued twice (JetStream's `Nats-Msg-Id` de-duplication);
//! * `pull(wait)`: a fetch of one message with an expiry;
//! * a delivery not acked within [`TaskQueue::ack_wait`] is delivered again
//!   (to any consumer), with `delivered` counting the deliveries;
//! * `in_progress` restarts the ack timer (JetStream's `+WPI`), `nak(delay)`
//!   asks for redelivery after `delay`, `ack` removes the task for good.
//!
//! Delivery is at least once. Consumers make tasks idempotent and record
//! results with a compare-and-swap in the checkpoint store before acking.

use std::time::Duration;

use async_trait::async_trait;

/// A task to publish: a de-duplication id and an opaque payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskMessage {
    pub id: String,
    pub payload: Vec<u8>,
}

/// What `publish` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    Queued,
    /// A task with this id is already queued or in flight; nothing was added.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("task queue is closed")]
    Closed,
    #[error("task queue unavailable: {reason}")]
    Unavailable { reason: String },
    #[error("task queue: {op} of task {id:?} failed: {reason}")]
    Ack {
        op: &'static str,
        id: String,
        reason: String,
    },
}

impl QueueError {
    /// Whether the same call may succeed later. Exhaustive on purpose.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable { .. } | Self::Ack { .. } => true,
            Self::Closed => false,
        }
    }
}

#[async_trait]
pub trait TaskQueue: Send + Sync + 'static {
    async fn publish(&self, task: TaskMessage) -> Result<Published, QueueError>;

    /// Waits up to `wait` for a task; `None` when none became available.
    async fn pull(&self, wait: Duration) -> Result<Option<Delivery>, QueueError>;

    /// How long a delivery may go without `ack`/`in_progress` before it is
    /// delivered again. Consumers heartbeat well within it.
    fn ack_wait(&self) -> Duration;

    /// How many tasks wait and how many are in flight, for metrics; `None`
    /// from a queue that cannot tell.
    async fn depth(&self) -> Result<Option<QueueDepth>, QueueError> {
        Ok(None)
    }
}

/// What [`TaskQueue::depth`] reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Tasks not yet delivered (or handed back and due again).
    pub pending: u64,
    /// Tasks delivered and not yet acked.
    pub in_flight: u64,
}

/// The acknowledgement side of one delivery, implemented per queue.
#[async_trait]
pub trait DeliveryHandle: Send + Sync {
    async fn ack(&self) -> Result<(), QueueError>;
    async fn nak(&self, delay: Duration) -> Result<(), QueueError>;
    async fn in_progress(&self) -> Result<(), QueueError>;
}

/// One delivery of a task.
pub struct Delivery {
    pub id: String,
    pub payload: Vec<u8>,
    /// 1 for the first delivery, 2 for the first redelivery, ...
    pub delivered: u32,
    handle: std::sync::Arc<dyn DeliveryHandle>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("delivered", &self.delivered)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

impl Delivery {
    pub fn new(
        id: String,
        payload: Vec<u8>,
        delivered: u32,
        handle: std::sync::Arc<dyn DeliveryHandle>,
    ) -> Self {
        Self {
            id,
            payload,
            delivered,
            handle,
        }
    }

    /// The task is done (its result is recorded): never deliver it again.
    pub async fn ack(self) -> Result<(), QueueError> {
        self.handle.ack().await
    }

    /// The task could not be done now: deliver it again after `delay`.
    pub async fn nak(self, delay: Duration) -> Result<(), QueueError> {
        self.handle.nak(delay).await
    }

    /// Still working: restart the ack timer.
    pub async fn in_progress(&self) -> Result<(), QueueError> {
        self.handle.in_progress().await
    }

    /// The handle, for a background task that sends `in_progress` while the
    /// owner works. Calls after `ack` are harmless no-ops or errors, never a
    /// redelivery.
    pub fn heartbeat(&self) -> std::sync::Arc<dyn DeliveryHandle> {
        std::sync::Arc::clone(&self.handle)
    }
}
