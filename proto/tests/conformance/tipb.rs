//! Conformance of `tipb/checksum.proto` (the payload of a coprocessor
//! checksum request) with pingcap/tipb's `proto/checksum.proto`.
//!
//! The upstream file is compared when `SQUALL_UPSTREAM_TIPB` names tipb's
//! `proto/` folder; otherwise the definitions below, reproduced from
//! upstream (pingcap/tipb `proto/checksum.proto`, proto2, field numbers as
//! upstream: note `start_ts_fallback = 1` shifts `scan_on` to 2). Both
//! directions are compared, since we keep the whole file, not a subset.

use std::path::PathBuf;

use prost::Message as _;
use prost_types::FileDescriptorSet;
use squall_proto::tipb::{
    ChecksumAlgorithm, ChecksumRequest, ChecksumResponse, ChecksumRewriteRule, ChecksumScanOn,
};

use crate::compare;

/// Upstream's definitions with its field options; compiled with kvproto's
/// `include/` folder, which has `gogoproto/gogo.proto`.
const REPRODUCED: &str = r#"syntax = "proto2";

package tipb;

import "gogoproto/gogo.proto";

enum ChecksumScanOn {
  Table = 0;
  Index = 1;
}

enum ChecksumAlgorithm {
  Crc64_Xor = 0;
}

message ChecksumRewriteRule {
  optional bytes old_prefix = 1;
  optional bytes new_prefix = 2;
}

message ChecksumRequest {
  optional uint64 start_ts_fallback = 1;
  optional ChecksumScanOn scan_on = 2 [(gogoproto.nullable) = false];
  optional ChecksumAlgorithm algorithm = 3 [(gogoproto.nullable) = false];
  optional ChecksumRewriteRule rule = 4;
}

message ChecksumResponse {
  optional uint64 checksum = 1 [(gogoproto.nullable) = false];
  optional uint64 total_kvs = 2 [(gogoproto.nullable) = false];
  optional uint64 total_bytes = 3 [(gogoproto.nullable) = false];
}
"#;

fn ours() -> FileDescriptorSet {
    protox::compile(["tipb/checksum.proto"], [crate::ours_dir()])
        .unwrap_or_else(|e| panic!("compiling our tipb/checksum.proto: {e}"))
}

/// Upstream's descriptors: the real file when `SQUALL_UPSTREAM_TIPB` is set,
/// else [`REPRODUCED`]. File-level `option (gogoproto...)` lines are dropped
/// first: they change no wire format, and the gogo.proto kvproto ships is
/// older than some options tipb sets.
fn upstream() -> (FileDescriptorSet, String) {
    let include = crate::upstream_dir()
        .unwrap_or_else(|e| panic!("{e}"))
        .join("include");
    let (text, what) = match std::env::var_os("SQUALL_UPSTREAM_TIPB") {
        Some(dir) => {
            let path = PathBuf::from(dir).join("checksum.proto");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            (text, path.display().to_string())
        }
        None => (REPRODUCED.to_owned(), "the reproduced definitions".into()),
    };
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("option ("))
        .map(|l| format!("{l}\n"))
        .collect();
    let temp = tempfile::tempdir().expect("temp dir");
    std::fs::write(temp.path().join("checksum.proto"), text).expect("write checksum.proto");
    let set = protox::compile(["checksum.proto"], [temp.path().to_path_buf(), include])
        .unwrap_or_else(|e| panic!("compiling upstream tipb ({what}): {e}"));
    (set, what)
}

#[test]
fn checksum_messages_match_upstream_tipb() {
    let (theirs, what) = upstream();
    let ours = ours();
    assert_eq!(
        compare::names(&ours),
        [
            ".tipb.ChecksumAlgorithm",
            ".tipb.ChecksumRequest",
            ".tipb.ChecksumResponse",
            ".tipb.ChecksumRewriteRule",
            ".tipb.ChecksumScanOn",
        ]
        .map(String::from)
        .into(),
    );
    let mut problems = compare::compare(&ours, &theirs);
    // Upstream's names are ours too: nothing of the file is left out (its
    // imports, gogoproto and descriptor.proto, are not part of it).
    let theirs_tipb = FileDescriptorSet {
        file: theirs
            .file
            .into_iter()
            .filter(|f| f.package() == "tipb")
            .collect(),
    };
    problems.extend(
        compare::compare(&theirs_tipb, &ours)
            .into_iter()
            .map(|p| format!("(upstream against ours) {p}")),
    );
    assert!(
        problems.is_empty(),
        "tipb/checksum.proto differs from {what}:\n{}",
        problems.join("\n")
    );
}

/// The bytes TiDB sends (gogoproto `nullable = false` writes `scan_on` and
/// `algorithm` even at their zero value) and TiKV answers.
#[test]
fn checksum_messages_encode_as_tidb_and_tikv_do() {
    let req = ChecksumRequest {
        scan_on: Some(ChecksumScanOn::Index.into()),
        algorithm: Some(ChecksumAlgorithm::Crc64Xor.into()),
        ..Default::default()
    };
    assert_eq!(req.encode_to_vec(), [0x10, 0x01, 0x18, 0x00]);
    let with_rule = ChecksumRequest {
        rule: Some(ChecksumRewriteRule {
            old_prefix: Some(b"t".to_vec()),
            new_prefix: Some(b"u".to_vec()),
        }),
        ..req
    };
    assert_eq!(
        with_rule.encode_to_vec(),
        [0x10, 0x01, 0x18, 0x00, 0x22, 0x06, 0x0a, 0x01, b't', 0x12, 0x01, b'u']
    );
    let resp = ChecksumResponse::decode(&[0x08, 0x2a, 0x10, 0x03, 0x18, 0x96, 0x01][..])
        .expect("a TiKV answer decodes");
    assert_eq!(
        (resp.checksum(), resp.total_kvs(), resp.total_bytes()),
        (42, 3, 150)
    );
}
