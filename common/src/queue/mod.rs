//! The task queue seam: in-process for embedded mode, NATS JetStream when distributed.
