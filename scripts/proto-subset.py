#!/usr/bin/env python3
"""Cut Squall's kvproto subset out of the upstream .proto files.

Usage: scripts/proto-subset.py UPSTREAM_PROTO_DIR OUT_DIR [UPSTREAM_TIPB_PROTO_DIR]

With the third argument (the `proto/` folder of pingcap/tipb), also copies
tipb's `checksum.proto` (every definition, proto2 as upstream) to
OUT_DIR/tipb/checksum.proto: the payload of a coprocessor checksum request.

Keeps the messages, enums and RPCs listed in WANTED verbatim (field names,
numbers, types and labels unchanged), drops gogoproto/rustproto options, and
drops fields whose type is not part of the subset (protobuf skips unknown
fields, so a subset of fields is wire compatible). The conformance test in
proto/tests/ checks the result against upstream field by field.
"""
import re
import sys
from pathlib import Path

WANTED = {
    "metapb": ["Region", "RegionEpoch", "Peer", "PeerRole", "Store", "StoreState", "StoreLabel"],
    "errorpb": ["Error", "NotLeader", "EpochNotMatch", "RegionNotFound", "KeyNotInRegion",
                "ServerIsBusy", "StaleCommand", "StoreNotMatch", "RaftEntryTooLarge"],
    "kvrpcpb": ["Context", "IsolationLevel", "CommandPri", "APIVersion", "KeyError", "LockInfo",
                "AlreadyExist", "WriteConflict", "Op",
                "GetRequest", "GetResponse", "ScanRequest", "ScanResponse", "BatchGetRequest",
                "BatchGetResponse", "KvPair", "SplitRegionRequest", "SplitRegionResponse"],
    "import_sstpb": ["SwitchMode", "SwitchModeRequest", "SwitchModeResponse", "GetModeRequest",
                     "GetModeResponse", "Range", "SSTMeta", "IngestRequest", "MultiIngestRequest",
                     "IngestResponse", "Error", "Pair", "WriteBatch", "WriteRequest",
                     "WriteResponse", "DuplicateDetectRequest", "KvPair",
                     "DuplicateDetectResponse"],
    "pdpb": ["RequestHeader", "ResponseHeader", "ErrorType", "Error", "Member",
             "GetMembersRequest", "GetMembersResponse", "Timestamp", "TsoRequest", "TsoResponse",
             "GetStoreRequest", "GetStoreResponse", "GetAllStoresRequest", "GetAllStoresResponse",
             "GetRegionRequest", "GetRegionResponse", "GetRegionByIDRequest", "ScanRegionsRequest",
             "ScanRegionsResponse", "Region", "AskBatchSplitRequest", "AskBatchSplitResponse",
             "SplitID", "ReportBatchSplitRequest", "ReportBatchSplitResponse",
             "SplitRegionsRequest", "SplitRegionsResponse", "ScatterRegionRequest",
             "ScatterRegionResponse", "GetOperatorRequest", "GetOperatorResponse",
             "OperatorStatus", "GetGCSafePointRequest", "GetGCSafePointResponse",
             "UpdateGCSafePointRequest", "UpdateGCSafePointResponse",
             "UpdateServiceGCSafePointRequest", "UpdateServiceGCSafePointResponse"],
    "coprocessor": ["KeyRange", "Request", "Response"],
    "tikvpb": [],
}
RPCS = {
    "import_sstpb": {"ImportSST": ["SwitchMode", "GetMode", "Ingest", "Write", "MultiIngest",
                                   "DuplicateDetect"]},
    "pdpb": {"PD": ["GetMembers", "Tso", "GetStore", "GetAllStores", "GetRegion",
                    "GetRegionByID", "ScanRegions", "AskBatchSplit", "ReportBatchSplit",
                    "SplitRegions", "ScatterRegion", "GetOperator", "GetGCSafePoint",
                    "UpdateGCSafePoint", "UpdateServiceGCSafePoint"]},
    "tikvpb": {"Tikv": ["KvGet", "KvScan", "KvBatchGet", "SplitRegion", "Coprocessor"]},
}
IMPORTS = {
    "metapb": [], "errorpb": ["metapb"], "kvrpcpb": ["metapb", "errorpb"],
    "import_sstpb": ["metapb", "errorpb", "kvrpcpb"], "pdpb": ["metapb"],
    "coprocessor": ["errorpb", "kvrpcpb"],
    "tikvpb": ["kvrpcpb", "coprocessor"],
}
SCALARS = {"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
           "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def top_blocks(text):
    """Yield (kind, name, body_with_header) for top-level message/enum/service."""
    i = 0
    pat = re.compile(r"\b(message|enum|service)\s+(\w+)\s*\{")
    while True:
        m = pat.search(text, i)
        if not m:
            return
        depth, j = 0, m.end() - 1
        while True:
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        yield m.group(1), m.group(2), text[m.start():j + 1]
        i = j + 1


def known(type_name, pkg, local):
    if type_name in SCALARS:
        return True
    if "." in type_name:
        p, n = type_name.rsplit(".", 1)
        return n.split(".")[0] in WANTED.get(p, [])
    return type_name.split(".")[0] in local


def prune(block, pkg, local):
    out = []
    nested = set(re.findall(r"\b(?:message|enum)\s+(\w+)\s*\{", block))
    for line in block.splitlines():
        line = re.sub(r"\s*\[\s*\((gogoproto|rustproto)[^\]]*\]", "", line).rstrip()
        if not line.strip():
            continue
        m = re.match(r"\s*(repeated\s+|optional\s+)?([\w.]+)\s+\w+\s*=\s*\d+", line)
        if m and m.group(2) not in ("option", "reserved") and not line.strip().startswith("option"):
            t = m.group(2)
            if not (known(t, pkg, local) or t in nested):
                continue
        mm = re.match(r"\s*map<\s*\w+\s*,\s*([\w.]+)\s*>", line)
        if mm and not (known(mm.group(1), pkg, local) or mm.group(1) in nested):
            continue
        out.append(line)
    return "\n".join(out)


RPC = re.compile(r"rpc\s+(\w+)\s*\((.*?)\)\s*returns\s*\((.*?)\)\s*(\{[^}]*\}|;)", re.S)


def cut_service(name, block, keep):
    """The service with only the kept RPCs, one line each (options dropped)."""
    lines = [f"service {name} {{"]
    for m in RPC.finditer(block):
        if m.group(1) in keep:
            req = " ".join(m.group(2).split())
            resp = " ".join(m.group(3).split())
            lines.append(f"    rpc {m.group(1)}({req}) returns ({resp}) {{}}")
    lines.append("}")
    return "\n".join(lines)


def copy_tipb_checksum(src, dst):
    """tipb's checksum.proto whole, options dropped, proto2 kept."""
    text = strip_comments((src / "checksum.proto").read_text())
    parts = ['syntax = "proto2";\n\npackage tipb;\n']
    for kind, _name, block in top_blocks(text):
        if kind != "service":
            parts.append(prune(block, "tipb", {"ChecksumScanOn", "ChecksumAlgorithm",
                                                "ChecksumRewriteRule", "ChecksumRequest"}))
            parts.append("")
    header = ("// tipb's checksum.proto (coprocessor request type 105), copied by\n"
              "// scripts/proto-subset.py; names and numbers are upstream's.\n")
    (dst / "tipb").mkdir(exist_ok=True)
    (dst / "tipb" / "checksum.proto").write_text(header + "\n".join(parts))


def main():
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    if len(sys.argv) > 3:
        copy_tipb_checksum(Path(sys.argv[3]), dst)
    for pkg in WANTED:
        text = strip_comments((src / f"{pkg}.proto").read_text())
        local = set(WANTED[pkg])
        parts = [f'syntax = "proto3";\n\npackage {pkg};\n']
        parts += [f'import "{i}.proto";' for i in IMPORTS[pkg]]
        parts.append("")
        for kind, name, block in top_blocks(text):
            if kind == "service" and name in RPCS.get(pkg, {}):
                parts.append(cut_service(name, block, RPCS[pkg][name]))
            elif kind != "service" and name in local:
                parts.append(prune(block, pkg, local))
            else:
                continue
            parts.append("")
        header = ("// Squall's subset of kvproto (" + pkg + "), cut from upstream by\n"
                  "// scripts/proto-subset.py; names and numbers are upstream's.\n")
        (dst / f"{pkg}.proto").write_text(header + "\n".join(parts))


main()
