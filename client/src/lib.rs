//! PD and TiKV import client over kvproto gRPC.
