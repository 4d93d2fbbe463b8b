//! The acknowledgement side of one JetStream delivery. Every ack kind is sent
//! as a request and waits for the server's reply (a "double ack"), so `Ok`
//! means the server has it; while the client is between connections the call
//! waits for the reconnect (bounded) instead of leaving the ack in a buffer.

use std::time::Duration;

use async_nats::jetstream::message::AckKind;
use async_trait::async_trait;
use squall_common::queue::{DeliveryHandle, QueueError};

use super::retry::{require_connected, Call, Failure};

pub(super) struct NatsDelivery {
    pub msg: async_nats::jetstream::Message,
    pub client: async_nats::Client,
    pub id: String,
    pub servers: String,
    pub retry_for: Duration,
    pub ack_wait: Duration,
    pub request_timeout: Duration,
}

impl NatsDelivery {
    async fn send(
        &self,
        op: &'static str,
        kind: AckKind,
        budget: Duration,
    ) -> Result<(), QueueError> {
        let call = Call {
            op,
            task: &self.id,
            servers: &self.servers,
            budget,
            attempt_timeout: self.request_timeout + Duration::from_secs(1),
        };
        call.run_queue_op(|| async {
            require_connected(&self.client)?;
            self.msg
                .double_ack_with(kind)
                .await
                .map_err(|e| Failure::Transient(e.to_string()))
        })
        .await
    }
}

#[async_trait]
impl DeliveryHandle for NatsDelivery {
    async fn ack(&self) -> Result<(), QueueError> {
        self.send("ack", AckKind::Ack, self.retry_for).await
    }

    async fn nak(&self, delay: Duration) -> Result<(), QueueError> {
        // A zero delay is a plain NAK: redeliver at once.
        let kind = AckKind::Nak(Some(delay).filter(|d| !d.is_zero()));
        self.send("nak", kind, self.retry_for).await
    }

    async fn in_progress(&self) -> Result<(), QueueError> {
        // Past ack_wait the task is redelivered anyway: retrying a heartbeat
        // longer than that only delays the caller's next one.
        self.send(
            "in_progress",
            AckKind::Progress,
            self.retry_for.min(self.ack_wait),
        )
        .await
    }
}
