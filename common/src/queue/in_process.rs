//! [`InProcessQueue`]: the embedded-mode work queue. Same semantics as the
//! JetStream one (see [`super::seam`]), in memory: tasks do not outlive the
//! process, which is fine because the coordinator republishes every unfinished
//! engine from the checkpoint store when it starts.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::seam::{Delivery, DeliveryHandle, Published, QueueError, TaskMessage, TaskQueue};

#[derive(Clone)]
pub struct InProcessQueue {
    inner: Arc<Inner>,
}

struct Inner {
    ack_wait: Duration,
    state: Mutex<State>,
    /// Wakes pullers when a task becomes available earlier than they planned.
    changed: Notify,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    /// By publish sequence, so the oldest available task goes first.
    slots: BTreeMap<u64, Slot>,
    ids: HashMap<String, u64>,
}

struct Slot {
    msg: TaskMessage,
    delivered: u32,
    status: Status,
}

#[derive(Clone, Copy)]
enum Status {
    Ready { at: Instant },
    InFlight { deadline: Instant },
}

impl Status {
    /// When this slot can be handed out (again).
    fn available_at(self) -> Instant {
        match self {
            Status::Ready { at } => at,
            Status::InFlight { deadline } => deadline,
        }
    }
}

impl InProcessQueue {
    pub fn new(ack_wait: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                ack_wait,
                state: Mutex::new(State::default()),
                changed: Notify::new(),
            }),
        }
    }

    /// Tasks queued or in flight (not yet acked).
    pub fn pending(&self) -> usize {
        self.inner.lock().slots.len()
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is consistent between statements; a panic elsewhere while
        // holding the lock does not corrupt it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands out the oldest available slot, or says when the next one will be.
    fn try_take(self: &Arc<Self>, now: Instant) -> Result<Delivery, Option<Instant>> {
        let mut state = self.lock();
        let next = state
            .slots
            .iter()
            .find(|(_, s)| s.status.available_at() <= now)
            .map(|(seq, _)| *seq);
        let Some(seq) = next else {
            return Err(state.slots.values().map(|s| s.status.available_at()).min());
        };
        let slot = state
            .slots
            .get_mut(&seq)
            .expect("seq was just found in the map");
        if let Status::InFlight { .. } = slot.status {
            tracing::info!(task = %slot.msg.id, delivered = slot.delivered, "task not acked in time, delivering again");
        }
        slot.delivered += 1;
        slot.status = Status::InFlight {
            deadline: now + self.ack_wait,
        };
        let handle = Arc::new(Handle {
            inner: Arc::clone(self),
            seq,
            id: slot.msg.id.clone(),
        });
        Ok(Delivery::new(
            slot.msg.id.clone(),
            slot.msg.payload.clone(),
            slot.delivered,
            handle,
        ))
    }
}

#[async_trait]
impl TaskQueue for InProcessQueue {
    async fn publish(&self, task: TaskMessage) -> Result<Published, QueueError> {
        {
            let mut state = self.inner.lock();
            if state.ids.contains_key(&task.id) {
                return Ok(Published::Duplicate);
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            state.ids.insert(task.id.clone(), seq);
            let status = Status::Ready { at: Instant::now() };
            state.slots.insert(
                seq,
                Slot {
                    msg: task,
                    delivered: 0,
                    status,
                },
            );
        }
        self.inner.changed.notify_waiters();
        Ok(Published::Queued)
    }

    async fn pull(&self, wait: Duration) -> Result<Option<Delivery>, QueueError> {
        let give_up = Instant::now() + wait;
        loop {
            // Register interest before looking, so a publish between the look
            // and the wait is not missed.
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let now = Instant::now();
            let wake = match self.inner.try_take(now) {
                Ok(delivery) => return Ok(Some(delivery)),
                Err(next) => next.map_or(give_up, |t| t.min(give_up)),
            };
            if now >= give_up {
                return Ok(None);
            }
            tokio::select! {
                _ = &mut changed => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    fn ack_wait(&self) -> Duration {
        self.inner.ack_wait
    }
}

struct Handle {
    inner: Arc<Inner>,
    seq: u64,
    id: String,
}

#[async_trait]
impl DeliveryHandle for Handle {
    async fn ack(&self) -> Result<(), QueueError> {
        let mut state = self.inner.lock();
        if state.slots.remove(&self.seq).is_some() {
            state.ids.remove(&self.id);
        }
        Ok(())
    }

    async fn nak(&self, delay: Duration) -> Result<(), QueueError> {
        {
            let mut state = self.inner.lock();
            if let Some(slot) = state.slots.get_mut(&self.seq) {
                slot.status = Status::Ready {
                    at: Instant::now() + delay,
                };
            }
        }
        self.inner.changed.notify_waiters();
        Ok(())
    }

    async fn in_progress(&self) -> Result<(), QueueError> {
        let mut state = self.inner.lock();
        if let Some(slot) = state.slots.get_mut(&self.seq) {
            if let Status::InFlight { .. } = slot.status {
                slot.status = Status::InFlight {
                    deadline: Instant::now() + self.inner.ack_wait,
                };
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::task_queue_test_suite!(in_process_suite, {
        (InProcessQueue::new(Duration::from_millis(300)), ())
    });

    #[tokio::test(start_paused = true)]
    async fn redelivery_follows_the_ack_timer_exactly() {
        let q = InProcessQueue::new(Duration::from_secs(30));
        q.publish(TaskMessage {
            id: "t".into(),
            payload: vec![1],
        })
        .await
        .expect("publish");
        let d = q.pull(Duration::ZERO).await.expect("pull").expect("task");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(q.pull(Duration::ZERO).await.expect("pull").is_none());
        d.in_progress().await.expect("heartbeat");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(
            q.pull(Duration::ZERO).await.expect("pull").is_none(),
            "heartbeat extends"
        );
        let again = q
            .pull(Duration::from_secs(2))
            .await
            .expect("pull")
            .expect("redelivered");
        assert_eq!(again.delivered, 2);
        assert_eq!(q.pending(), 1);
        again.ack().await.expect("ack");
        assert_eq!(q.pending(), 0);
    }
}
