//! The task queue on NATS JetStream: one work-queue stream (file storage, so
//! a nats-server restart loses no queued task) holding one subject, and one
//! durable pull consumer with explicit acks that every worker shares. A
//! delivery not acked within `ack_wait` goes to any worker again; a busy
//! worker sends `in_progress` (`+WPI`) to keep it; after `max_deliver`
//! deliveries the server stops delivering the task, and
//! [`NatsTaskQueue::is_last_delivery`] tells the holder of that last delivery
//! to record the failure. Acks, naks and progress are sent as requests and
//! confirmed by the server.
//!
//! **De-duplication is by time window, not by queue state.** `publish` puts
//! the task id in `Nats-Msg-Id`; the server drops a message whose id it has
//! seen within the stream's `duplicate_window` (default 20 min) and says so
//! (`Published::Duplicate`). The in-process queue instead drops an id while
//! its task is queued or in flight, and forgets it at the ack. So:
//!
//! * a coordinator restarted within the window republishes every unfinished
//!   task and gets `Duplicate` for those still queued or in flight, as the
//!   seam promises; restarted later, tasks still queued are queued twice and
//!   the second copy is found done in the checkpoint store and acked;
//! * within the window a task that was acked (or gave up after `max_deliver`)
//!   is `Duplicate` too, where the in-process queue would queue it again: to
//!   run a task again on purpose, publish it under a new id.
//!
//! Every call has a deadline; connection loss and timeouts are retried with
//! bounded exponential backoff (`NatsOptions::retry_for`) while the client
//! reconnects on its own, then fail with `QueueError::Unavailable` naming the
//! operation, the task and the servers. A pull while disconnected waits for
//! the reconnect only within its own `wait`.

mod delivery;
mod error;
mod open;
mod options;
mod queue;
mod retry;

pub use error::NatsOpenError;
pub use options::NatsOptions;
pub use queue::NatsTaskQueue;
