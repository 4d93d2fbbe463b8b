#!/usr/bin/env python3
"""The table of one scripts/bench.sh run: each stage beside its yardstick,
the whole pipeline beside GNU sort, the issue-16 targets met / NOT met, and
every figure as JSON.

  report.py RECORDS.jsonl OUT.json --budget-mib N --name NAME --dataset D --format F --seed S
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

MB = 1e6

# Issue 16's targets on this machine.
TARGET_MB_PER_SQUALL_CPU_S = 60.0
TARGET_ENCODE_MB_PER_CORE = 150.0
TARGET_PARSE_VS_CSV = 1.5
TARGET_DETECT_CHECKSUM_SHARE = 0.25
TARGET_WALL_VS_SORT = 2.0
TARGET_RSS_OVER_BUDGET = 1.2


def machine():
    """CPU model and count, memory, disk of the work dir: BENCHMARKS.md's machine."""
    out = {"kernel": platform.release()}
    try:
        cpus = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
        out["cpu"] = f"{len(cpus)} x {cpus[0]}" if cpus else "?"
    except OSError:
        pass
    try:
        kib = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
        out["memory_gib"] = round(kib / (1 << 20), 1)
    except (OSError, StopIteration):
        pass
    try:
        df = subprocess.run(["df", "-hT", os.environ.get("BENCH_DIR", "/var/tmp")],
                            capture_output=True, text=True).stdout.splitlines()[-1].split()
        out["disk"] = f"{df[0]} ({df[1]}, {df[2]})"
    except (OSError, IndexError):
        pass
    return out


TS = re.compile(r"^(?:\[[^\]]*\] )?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z")


def ingest_secs(log_path):
    """Wall seconds during which at least one engine was being ingested
    (union of the intervals from "ingesting engine" to "engine ingested")."""
    starts, spans = [], []
    try:
        lines = open(log_path, errors="replace")
    except OSError:
        return None
    for line in lines:
        m = TS.match(line)
        if not m:
            continue
        t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
        if "ingesting engine" in line:
            starts.append(t)
        elif "engine ingested" in line and starts:
            spans.append((starts.pop(0), t))
    if not spans:
        return None
    spans.sort()
    total, (cur_a, cur_b) = 0.0, spans[0]
    for a, b in spans[1:]:
        if a > cur_b:
            total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    return total + cur_b - cur_a


def phases(summary):
    """engines / detect+resolve / checksum seconds from the summary's total line."""
    total = next((l for l in reversed(summary.splitlines()) if l.startswith("total:")), "")
    out = {}
    for key, name in (("engines", "engines"), ("detect", "detect+resolve"), ("checksum", "checksum")):
        m = re.search(r"phases:.*?" + re.escape(name) + r" ([0-9.]+)s", total)
        out[key] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) conflicting rows", total)
    out["conflicting_rows"] = int(m.group(1)) if m else None
    return out


def fmt(v, spec=".1f", none="-"):
    return none if v is None else format(v, spec)


def ratio(a, b):
    return a / b if a is not None and b else None


def pipeline_figures(rec, budget_mib):
    d = rec["data"]
    imp, procs, src = d["import"], d["procs"], d["source_bytes"]
    wall = imp["secs"]
    ph = phases(d["summary"])
    ingest = ingest_secs(d["log"])
    # Squall's own processes: the import command, and in a cluster the
    # coordinator and workers; the sim apart; etcd and NATS apart too.
    squall_cpu = imp["cpu_secs"]
    rss = {"import": imp["peak_rss_mib"]}
    written = imp.get("write_bytes", 0)
    infra_cpu = 0.0
    sim = {}
    for name, p in procs.items():
        if name == "sim":
            sim = p
            written += p.get("write_bytes", 0)
            rss["sim"] = p.get("peak_rss_mib")
        elif name in ("etcd", "nats"):
            infra_cpu += p.get("cpu_secs", 0.0)
            rss[name] = p.get("peak_rss_mib")
        else:
            squall_cpu += p.get("cpu_secs", 0.0)
            written += p.get("write_bytes", 0)
            rss[name] = p.get("peak_rss_mib")
    det_chk = (ph["detect"] or 0.0) + (ph["checksum"] or 0.0)
    squall_rss = {k: v for k, v in rss.items() if k not in ("sim", "etcd", "nats") and v is not None}
    return {
        "size": rec["size"], "duplicates": rec["duplicates"], "mode": rec["mode"],
        "rows": d["rows"], "source_bytes": src, "secs": wall,
        "mb_per_s": src / MB / wall if wall else None,
        "rows_per_s": d["rows"] / wall if wall else None,
        "engines_secs": ph["engines"], "ingest_secs": ingest,
        "detect_resolve_secs": ph["detect"], "checksum_secs": ph["checksum"],
        "conflicting_rows": ph["conflicting_rows"],
        "detect_checksum_share": det_chk / wall if wall and ph["checksum"] is not None else None,
        "squall_cpu_secs": squall_cpu, "sim_cpu_secs": sim.get("cpu_secs"),
        "infra_cpu_secs": infra_cpu if infra_cpu else None,
        "mb_per_squall_cpu_s": src / MB / squall_cpu if squall_cpu else None,
        "peak_rss_mib": rss,
        "squall_peak_rss_mib": max(squall_rss.values()) if squall_rss else None,
        "written_per_source_byte": written / src if src else None,
        "budget_mib": budget_mib,
        # Issue 24: engines of the plan (the summary's count), engine ranges,
        # and the sim's ingest accounting (bench/tools/ingests.py).
        "engines": engines_of(d["summary"]), "engines_asked": d.get("engines_asked"),
        "batch_size": d.get("batch_size"), "engine_ranges": d.get("engine_ranges", False),
        "ingests": d.get("ingests"),
    }


def engines_of(summary):
    total = next((l for l in reversed(summary.splitlines()) if l.startswith("total:")), "")
    m = re.search(r"(\d+) engines", total)
    return int(m.group(1)) if m else None


def run_label(p):
    """What tells one whole import of a size from another."""
    label = f"import {p['mode']} dup {p['duplicates']:g}"
    if p.get("engines_asked"):
        label += f" e{p['engines_asked']}"
    if p.get("engine_ranges"):
        label += " ranges"
    return label


def ingest_table(pipes, out):
    """Issue 24: overlap in TiKV per run, with and without engine ranges."""
    rows = [p for p in pipes if p.get("ingests")]
    if not rows:
        return
    out("")
    out("ingest into the sim (issue 24): SSTs over all stores; L0 = write-CF L0 files of one store, most seen;")
    out("per region = most SSTs one store ingested into one index region (write CF)")
    hdr = (f"{'run':<34} {'engines':>7} {'ranges':>6} {'wall s':>7} {'ingest s':>8} {'SSTs':>6} "
           f"{'overlap':>7} {'busy':>5} {'max L0':>6} {'per region':>10} {'idx regions':>11}")
    out(hdr)
    out("-" * len(hdr))
    for p in rows:
        g = p["ingests"]
        out(f"{run_label(p):<34} {fmt(p['engines'], 'd'):>7} {'on' if p['engine_ranges'] else 'off':>6} "
            f"{fmt(p['secs']):>7} {fmt(p['ingest_secs']):>8} {g['ingested_ssts']:>6} {g['overlapping_ssts']:>7} "
            f"{g['busy_answers']:>5} {fmt(g.get('max_l0_files'), 'd'):>6} {g['most_ssts_per_index_region']:>10} "
            f"{g['index_regions_with_data']:>11}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("records")
    ap.add_argument("out")
    ap.add_argument("--budget-mib", type=float, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--format", required=True)
    ap.add_argument("--seed", required=True)
    a = ap.parse_args()
    recs = [json.loads(l) for l in open(a.records) if l.strip()]
    sizes = list(dict.fromkeys(r["size"] for r in recs))
    result = {
        "name": a.name, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "dataset": a.dataset, "format": a.format, "seed": a.seed, "budget_mib": a.budget_mib,
        "machine": machine(), "sizes": {}, "targets": [],
    }
    lines = []
    out = lines.append
    targets = result["targets"]

    def target(what, value, limit, ok, shown):
        targets.append({"target": what, "value": value, "limit": limit,
                        "met": None if value is None else ok})
        state = "n/a" if value is None else ("met" if ok else "NOT met")
        if value is None:
            shown = "-"
        out(f"  {what:<58} {shown:>16}  {state}")

    for size in sizes:
        st = {r["what"]: r["data"] for r in recs if r["size"] == size and r["mode"] == "-"}
        pipes = [pipeline_figures(r, a.budget_mib) for r in recs if r["size"] == size and r["what"] == "pipeline"]
        result["sizes"][size] = {"stages": st, "pipeline": pipes}
        src = (pipes[0]["source_bytes"] if pipes else
               (st.get("parse") or {}).get("source_bytes"))
        out(f"== {size} of {a.dataset} ({a.format}), {fmt(src / MB if src else None, '.0f')} MB of source ==")
        hdr = f"{'stage':<34} {'time s':>8} {'MB/s':>8} {'rows/s':>10} {'CPU s':>7}  {'yardstick':<26} {'ratio':>6}"
        out(hdr)
        out("-" * len(hdr))

        def row(stage, secs, mbps, rows_s, cpu, yard="", r=None, pct=False):
            shown = "-" if r is None else (f"{r * 100:.0f}%" if pct else f"{r:.2f}x")
            out(f"{stage:<34} {fmt(secs):>8} {fmt(mbps):>8} {fmt(rows_s, ',.0f'):>10} {fmt(cpu):>7}  "
                f"{yard:<26} {shown:>6}")

        def mbps_of(t, nbytes):
            return nbytes / MB / t["secs"] if t and t.get("secs") else None

        ddw, ddr, gsort = st.get("dd-write"), st.get("dd-read"), st.get("gnu-sort")
        if ddw and src:
            row("dd write (fdatasync)", ddw["secs"], mbps_of(ddw, src), None, ddw["cpu_secs"])
        if ddr and src:
            how = "O_DIRECT" if ddr.get("direct") else "may be page cache"
            row(f"dd read ({how})", ddr["secs"], mbps_of(ddr, src), None, ddr["cpu_secs"])
        if gsort and src:
            row(f"GNU sort -S {a.budget_mib:.0f}M", gsort["secs"], mbps_of(gsort, src), None, gsort["cpu_secs"])
        csvr, parse, enc, srt, sst = (st.get(k) for k in ("csv-raw", "parse", "encode", "sort", "sst-ingest"))
        if csvr:
            row("csv crate raw parse (1 thread)", csvr["secs"], csvr["mb_per_s"], csvr["rows_per_s"], csvr["cpu_secs"])
        if sst:
            row("RocksDB SST write+ingest (sorted)", sst["secs"], sst["mb_per_s"], None, sst["cpu_secs"])
        if parse:
            row("parse (1 thread)", parse["secs"], parse["mb_per_s"], parse["rows_per_s"], parse["cpu_secs"],
                "csv crate (CPU s)" if csvr else "", ratio(parse["cpu_secs"], csvr["cpu_secs"]) if csvr else None)
        enc_core = None
        if enc:
            row("parse+encode (1 thread)", enc["secs"], enc["mb_per_s"], enc["rows_per_s"], enc["cpu_secs"],
                "parse (CPU s)", ratio(enc["cpu_secs"], parse["cpu_secs"]) if parse else None)
            if parse:
                own = enc["cpu_secs"] - parse["cpu_secs"]
                enc_core = src / MB / own if own > 0 else None
                row("  encode alone (minus parse), CPU", own, enc_core, None, own)
        if srt:
            threads = srt.get("threads", 1)
            row(f"sort: encode+engine+scan ({threads} thr)", srt["secs"], srt["mb_per_s"], srt["rows_per_s"],
                srt["cpu_secs"], "GNU sort", ratio(srt["secs"], gsort["secs"]) if gsort else None)
            if enc and sst:
                own = srt["cpu_secs"] - enc["cpu_secs"]
                row("  engine write+scan (minus encode)", own, src / MB / own if own > 0 else None, None, own,
                    "SST write+ingest (CPU s)", ratio(own, sst["cpu_secs"]))
        for p in pipes:
            label = run_label(p)
            row(label, p["secs"], p["mb_per_s"], p["rows_per_s"], p["squall_cpu_secs"], "GNU sort",
                ratio(p["secs"], gsort["secs"]) if gsort else None)
            row("  engines (encode+sort+ingest)", p["engines_secs"], mbps_of({"secs": p["engines_secs"]}, p["source_bytes"]),
                None, None)
            row("  ingest (log: ingesting..ingested)", p["ingest_secs"], mbps_of({"secs": p["ingest_secs"]}, p["source_bytes"]),
                None, None, "dd write", ratio(p["ingest_secs"], ddw["secs"]) if ddw else None)
            row("  duplicate detection(+resolution)", p["detect_resolve_secs"], None, None, None,
                "share of wall", ratio(p["detect_resolve_secs"], p["secs"]), pct=True)
            row("  checksum", p["checksum_secs"], None, None, None, "share of wall", ratio(p["checksum_secs"], p["secs"]), pct=True)
            rss = ", ".join(f"{k} {v:.0f}" for k, v in p["peak_rss_mib"].items() if v is not None)
            out(f"    CPU s: Squall {fmt(p['squall_cpu_secs'])}, sim {fmt(p['sim_cpu_secs'])}"
                + (f", etcd+nats {fmt(p['infra_cpu_secs'])}" if p["infra_cpu_secs"] else "")
                + f"; {fmt(p['mb_per_squall_cpu_s'])} MB source per Squall CPU-s;"
                + f" conflicting rows {p['conflicting_rows']}")
            out(f"    peak RSS MiB: {rss}; disk written per source byte {fmt(p['written_per_source_byte'], '.2f')}"
                + " (Squall + sim)")
        ingest_table(pipes, out)
        out("")
        out(f"targets ({size}):")
        if enc_core is not None or enc:
            target("encode >= 150 MB/s per core (encode CPU minus parse CPU)", enc_core, TARGET_ENCODE_MB_PER_CORE,
                   enc_core is not None and enc_core >= TARGET_ENCODE_MB_PER_CORE, f"{fmt(enc_core)} MB/s")
        if parse:
            r = ratio(parse["cpu_secs"], csvr["cpu_secs"]) if csvr else None
            target("parse within 1.5x of the csv crate (CPU s)", r, TARGET_PARSE_VS_CSV,
                   r is not None and r <= TARGET_PARSE_VS_CSV, f"{fmt(r, '.2f')}x")
        for p in pipes:
            tag = f"[{run_label(p)[len('import '):]}]"
            v = p["mb_per_squall_cpu_s"]
            target(f"{tag} >= 60 MB source per Squall CPU-s", v, TARGET_MB_PER_SQUALL_CPU_S,
                   v is not None and v >= TARGET_MB_PER_SQUALL_CPU_S, f"{fmt(v)} MB/CPU-s")
            if p["duplicates"] == 0:
                v = p["detect_checksum_share"]
                target(f"{tag} detection+checksum <= 25% of wall", v, TARGET_DETECT_CHECKSUM_SHARE,
                       v is not None and v <= TARGET_DETECT_CHECKSUM_SHARE, f"{fmt(v * 100 if v is not None else None, '.0f')}%")
            v = ratio(p["secs"], gsort["secs"]) if gsort else None
            target(f"{tag} wall <= 2x GNU sort", v, TARGET_WALL_VS_SORT,
                   v is not None and v <= TARGET_WALL_VS_SORT, f"{fmt(v, '.2f')}x")
            v = p["squall_peak_rss_mib"]
            lim = a.budget_mib * TARGET_RSS_OVER_BUDGET
            target(f"{tag} Squall peak RSS <= budget {a.budget_mib:.0f} MiB + 20%", v, lim,
                   v is not None and v <= lim, f"{fmt(v, '.0f')} MiB")
        out("")
    result["table"] = "\n".join(lines)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(result["table"])


if __name__ == "__main__":
    sys.exit(main())
