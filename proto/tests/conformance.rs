//! Conformance of our kvproto subset with upstream kvproto: every message,
//! enum and RPC we define must match upstream's field by field, so the bytes
//! we put on the wire are the bytes TiKV and PD read.
//!
//! Upstream is the `proto/` folder of the tikv-client 0.4.0 crate, found via
//! `SQUALL_UPSTREAM_KVPROTO` or in the cargo registry (`scripts/setup.sh`
//! fetches it). tipb is not in that crate: its checksum messages are compared
//! with `$SQUALL_UPSTREAM_TIPB/checksum.proto` (pingcap/tipb's `proto/`
//! folder) when set, else with the definitions reproduced in [`tipb`].

#[path = "conformance/compare.rs"]
mod compare;
#[path = "conformance/tipb.rs"]
mod tipb;

use std::path::{Path, PathBuf};

use prost_types::FileDescriptorSet;

/// The files of our kvproto subset; upstream has files of the same names.
const FILES: &[&str] = &[
    "metapb.proto",
    "errorpb.proto",
    "kvrpcpb.proto",
    "import_sstpb.proto",
    "pdpb.proto",
    "coprocessor.proto",
    "tikvpb.proto",
];

fn ours_dir() -> PathBuf {
    PathBuf::from(squall_proto::PROTO_DIR)
}

fn compile_ours(dir: &Path) -> FileDescriptorSet {
    protox::compile(FILES, [dir]).unwrap_or_else(|e| panic!("compiling {}: {e}", dir.display()))
}

/// Upstream's proto folder: `$SQUALL_UPSTREAM_KVPROTO`, else the tikv-client
/// 0.4.0 crate unpacked in the cargo registry.
fn upstream_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("SQUALL_UPSTREAM_KVPROTO") {
        let dir = PathBuf::from(dir);
        return match dir.join("kvrpcpb.proto").is_file() {
            true => Ok(dir),
            false => Err(format!(
                "SQUALL_UPSTREAM_KVPROTO={} holds no kvrpcpb.proto",
                dir.display()
            )),
        };
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let registry = cargo_home.join("registry/src");
    let found = std::fs::read_dir(&registry)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|index| index.path().join("tikv-client-0.4.0/proto"))
        .find(|dir| dir.join("kvrpcpb.proto").is_file());
    found.ok_or_else(|| {
        format!(
            "upstream kvproto not found under {}/*/tikv-client-0.4.0/proto: run scripts/setup.sh \
             (it fetches the tikv-client 0.4.0 crate) or set SQUALL_UPSTREAM_KVPROTO",
            registry.display()
        )
    })
}

#[test]
fn subset_matches_upstream_kvproto() {
    let upstream = upstream_dir().unwrap_or_else(|e| panic!("{e}"));
    let theirs = protox::compile(FILES, [upstream.clone(), upstream.join("include")])
        .unwrap_or_else(|e| panic!("compiling upstream {}: {e}", upstream.display()));
    let ours = compile_ours(&ours_dir());
    let defined: usize = ours
        .file
        .iter()
        .map(|f| f.message_type.len() + f.enum_type.len())
        .sum();
    assert!(
        defined > 50,
        "the subset defines only {defined} top-level types: did the files load?"
    );
    let problems = compare::compare(&ours, &theirs);
    assert!(
        problems.is_empty(),
        "our kvproto subset differs from upstream:\n{}",
        problems.join("\n")
    );
    // The coprocessor checksum path is compared like the rest: these must
    // be in the subset (a dropped file would compare as "no differences").
    let defined = compare::names(&ours);
    for name in [
        ".coprocessor.Request",
        ".coprocessor.Response",
        ".coprocessor.KeyRange",
        ".tikvpb.Tikv.Coprocessor",
        // The job's service GC safepoint (and the sim's GC bookkeeping).
        ".pdpb.PD.UpdateServiceGCSafePoint",
        ".pdpb.UpdateServiceGCSafePointRequest",
        ".pdpb.PD.GetGCSafePoint",
        ".pdpb.PD.UpdateGCSafePoint",
    ] {
        assert!(defined.contains(name), "{name} is not in the subset");
    }
}
