//! kvproto-compatible wire types: our subset of `metapb`, `errorpb`, `kvrpcpb`,
//! `import_sstpb`, `pdpb`, `coprocessor` and `tikvpb`, plus tipb's checksum
//! messages (the payload of a coprocessor checksum request), with upstream's
//! package, message, field and RPC names, so the bytes we send are the bytes
//! TiKV and PD expect.
#![allow(clippy::all, clippy::unwrap_used)]

macro_rules! include_pkg {
    ($name:ident) => {
        pub mod $name {
            include!(concat!(env!("OUT_DIR"), "/", stringify!($name), ".rs"));
        }
    };
}

include_pkg!(metapb);
include_pkg!(errorpb);
include_pkg!(kvrpcpb);
include_pkg!(import_sstpb);
include_pkg!(pdpb);
include_pkg!(coprocessor);
include_pkg!(tikvpb);
include_pkg!(tipb);

/// `coprocessor.Request.tp` of a checksum request (TiDB's `kv.ReqTypeChecksum`).
pub const REQ_TYPE_CHECKSUM: i64 = 105;
/// `coprocessor.Request.tp` of a DAG (select) request (`kv.ReqTypeDAG`).
pub const REQ_TYPE_DAG: i64 = 103;
/// `coprocessor.Request.tp` of an analyze request (`kv.ReqTypeAnalyze`).
pub const REQ_TYPE_ANALYZE: i64 = 104;

/// The `.proto` files of the subset, for tools that want to inspect them.
pub const PROTO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");
