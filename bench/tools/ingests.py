#!/usr/bin/env python3
"""The sim's ingest accounting after one import (issue 24): how many SSTs the
stores ingested, how many went to L0 because they overlapped data already
there, how many ingests were answered ServerIsBusy, and the most SSTs any
one region of a secondary index received on one store.

  ingests.py ADMIN_ADDR SUMMARY.json [--raw RAW.json] [--l0 L0_WATCH.json]

Reads `GET /ingests` (per store counts and every ingested SST with its first
and last raw key) and `GET /regions` (memcomparable bounds). An index region
is a region clipped to one index's key space `t{table}_i{index}` (the index
spaces are those the SSTs' keys name); the SSTs it received on a store are
that store's `write` CF SSTs whose key range meets it (as
tests/tests/engine_ranges.rs counts them). With disjoint ingest that is 1;
with N engines each spreading index entries over the whole index, up to N.
"""
import argparse
import json
import sys
import urllib.request

# t{8-byte table id}_i{8-byte index id}: TiDB's index key prefix.
PREFIX_LEN = 19


def get(admin, path):
    return json.load(urllib.request.urlopen(f"http://{admin}{path}", timeout=60))


def decode_bytes(enc):
    """TiDB's EncodeBytes undone (groups of 8 bytes and a marker); a
    truncated encoding (a split key cut mid-group) keeps what it has."""
    out = bytearray()
    i = 0
    while i + 9 <= len(enc):
        group, marker = enc[i:i + 8], enc[i + 8]
        pad = 0xFF - marker
        if pad == 0:
            out += group
            i += 9
            continue
        out += group[:8 - pad]
        return bytes(out)
    out += enc[i:]
    return bytes(out)


def index_prefix(key):
    if len(key) >= PREFIX_LEN and key[0:1] == b"t" and key[9:11] == b"_i":
        return key[:PREFIX_LEN]
    return None


def next_prefix(prefix):
    """The first key after every key starting with the 19-byte prefix: the
    index id (comparable big-endian) plus one."""
    n = int.from_bytes(prefix[11:], "big") + 1
    return prefix[:11] + n.to_bytes(8, "big")


def index_regions(regions, spaces):
    """Per index space, the regions over it clipped to it (raw bounds)."""
    bounds = []
    for r in regions:
        s = decode_bytes(bytes.fromhex(r["start_key"])) if r["start_key"] else b""
        e = decode_bytes(bytes.fromhex(r["end_key"])) if r["end_key"] else b""
        bounds.append((s, e))
    out = []
    for lo in sorted(spaces):
        hi = next_prefix(lo)
        for s, e in bounds:
            if (not e or e > lo) and s < hi:
                out.append((max(s, lo), hi if not e or e > hi else e))
    return out


def summarise(report, regions):
    stores = report.get("stores", [])
    ssts = report.get("ssts", [])
    for s in ssts:
        s["_start"] = bytes.fromhex(s["start_key"])
        s["_end"] = bytes.fromhex(s["end_key"])
    spaces = {p for s in ssts for p in (index_prefix(s["_start"]), index_prefix(s["_end"])) if p}
    store_ids = [s["store_id"] for s in stores]
    by_store = {sid: [s for s in ssts if s["store_id"] == sid and s["cf"] == "write"] for sid in store_ids}
    most, with_data, counts = 0, 0, []
    for start, end in index_regions(regions, spaces):
        best = 0
        for sid in store_ids:
            n = sum(1 for s in by_store[sid] if s["_end"] >= start and s["_start"] < end)
            best = max(best, n)
        if best:
            with_data += 1
            counts.append(best)
        most = max(most, best)
    index_ssts = [s for s in ssts if index_prefix(s["_start"]) or index_prefix(s["_end"])]
    return {
        "ingested_ssts": sum(s.get("ingested_ssts", 0) for s in stores),
        "overlapping_ssts": sum(s.get("overlapping_ssts", 0) for s in stores),
        "busy_answers": sum(s.get("busy_answers", 0) for s in stores),
        "l0_files_at_end": sum(s.get("l0_files", 0) for s in stores),
        "l0_compactions": sum(s.get("l0_compactions", 0) for s in stores),
        "index_ssts": len(index_ssts),
        "index_overlapping_ssts": sum(1 for s in index_ssts if s.get("overlapping")),
        "index_spaces": len(spaces),
        "index_regions_with_data": with_data,
        "most_ssts_per_index_region": most,
        "mean_ssts_per_index_region": sum(counts) / len(counts) if counts else None,
        "regions": len(regions),
        "stores": [{k: v for k, v in s.items()} for s in stores],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("admin")
    ap.add_argument("out")
    ap.add_argument("--raw")
    ap.add_argument("--l0")
    a = ap.parse_args()
    report = get(a.admin, "/ingests")
    regions = get(a.admin, "/regions")
    if a.raw:
        with open(a.raw, "w") as f:
            json.dump({"ingests": report, "regions": regions}, f)
    summary = summarise(report, regions)
    if a.l0:
        try:
            watch = json.load(open(a.l0))
            summary["max_l0_files"] = watch.get("max_l0_files")
            summary["max_l0_files_sum"] = watch.get("max_l0_files_sum")
            summary["l0_samples"] = watch.get("samples")
        except (OSError, ValueError) as e:
            print(f"bench: no L0 samples from {a.l0}: {e}", file=sys.stderr)
    with open(a.out, "w") as f:
        json.dump(summary, f)
    print(f"bench: ingests: {summary['ingested_ssts']} SSTs, {summary['overlapping_ssts']} overlapping, "
          f"{summary['busy_answers']} ServerIsBusy, max L0 {summary.get('max_l0_files', '-')}, "
          f"at most {summary['most_ssts_per_index_region']} SSTs per index region and store "
          f"({summary['index_regions_with_data']} index regions)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
