//! kvproto-compatible wire types: our subset of `metapb`, `errorpb`, `kvrpcpb`,
//! `import_sstpb`, `pdpb` and `tikvpb`, with upstream's package, message,
//! field and RPC names, so the bytes we send are the bytes TiKV and PD expect.
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
include_pkg!(tikvpb);

/// The `.proto` files of the subset, for tools that want to inspect them.
pub const PROTO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");
