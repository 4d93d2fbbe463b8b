//! The task queue seam: in-process for embedded mode, NATS JetStream when
//! distributed. Both deliver at least once, redeliver what is not acked in
//! time, and are held by callers as a [`SharedTaskQueue`].
//!
//! * [`TaskQueue`]: the trait, the delivery and its ack/nak/heartbeat.
//! * [`InProcessQueue`]: the in-memory implementation.
//! * `testsuite` (tests and the `testsuite` feature): the contract, stamped
//!   out by [`task_queue_test_suite!`].

mod in_process;
mod seam;

#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;

pub use in_process::InProcessQueue;
pub use seam::{
    Delivery, DeliveryHandle, Published, QueueDepth, QueueError, TaskMessage, TaskQueue,
};

/// The queue as the rest of Squall holds it.
pub type SharedTaskQueue = std::sync::Arc<dyn TaskQueue>;
