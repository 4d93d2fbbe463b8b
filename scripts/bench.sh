#!/usr/bin/env bash
# End-to-end import benchmark: a generated sysbench-like table (sbtest.sbtest1,
# int primary key, secondary index) of each given size imported into a local
# tikv-sim; prints rows/s, source MB/s and the import process's peak RSS.
#
#   scripts/bench.sh [SIZE ...]        default: 1GiB
#   scripts/bench.sh 1GiB 4GiB         peak memory should not grow with size
#   BENCH_DIR=DIR                      work dir (default: under /var/tmp)
#   BENCH_DUPLICATES=0.01              fraction of rows reusing a key (default 0)
#   BENCH_STRATEGY=replace             conflict.strategy when duplicates > 0
#   BENCH_BATCH_SIZE=512MiB            mydumper.batch-size (source bytes per engine)
#   BENCH_SEND_KV_SIZE=64KiB           tikv-importer.send-kv-size (bytes per WriteBatch)
#   BENCH_RANGE_CONCURRENCY=16         tikv-importer.range-concurrency (ranges ingested at once)
# Knobs left unset keep squall's own defaults.
#
# Component benchmarks (codec encode, source parse, local engine) are criterion
# benches: cargo bench -p squall-codec / -p squall-source / -p squall-worker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
[ $# -eq 0 ] && set -- 1GiB
dups="${BENCH_DUPLICATES:-0}"
strategy="${BENCH_STRATEGY:-replace}"

cargo build --release --locked --bin squall
squall="$CARGO_TARGET_DIR/release/squall"
base="${BENCH_DIR:-/var/tmp/squall-bench}"
mkdir -p "$base"

sim_pid=""
stop_sim() {
  if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  sim_pid=""
}
trap stop_sim EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

results=()
for size in "$@"; do
  work="$base/$size-dup$dups"
  rm -rf "$work/sim" "$work/out" "$work/sorted"
  mkdir -p "$work"
  if [ ! -f "$work/generated.json" ]; then
    echo "bench: generating $size of sysbench rows in $work/dump"
    rm -rf "$work/dump"
    "$squall" gen-dump --dataset sysbench --size "$size" --duplicates "$dups" --out "$work/dump" >"$work/generated.json"
  fi
  rows=$(python3 -c 'import json,sys; print(sum(n for _, n in json.load(sys.stdin)["tables"]))' <"$work/generated.json")
  src_bytes=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])' <"$work/generated.json")

  pd="127.0.0.1:$(free_port)"
  "$squall" sim --pd-addr "$pd" --data-dir "$work/sim" >"$work/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 1 600); do
    kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; exit 1; }
    (exec 3<>"/dev/tcp/${pd%:*}/${pd#*:}") 2>/dev/null && break
    sleep 0.1
  done

  importer=""
  [ -n "${BENCH_SEND_KV_SIZE:-}" ] && importer+="send-kv-size = \"$BENCH_SEND_KV_SIZE\""$'\n'
  [ -n "${BENCH_RANGE_CONCURRENCY:-}" ] && importer+="range-concurrency = $BENCH_RANGE_CONCURRENCY"$'\n'
  cat >"$work/task.toml" <<EOF
[tikv-importer]
sorted-kv-dir = "$work/sorted"
$importer
[conflict]
strategy = "$strategy"
EOF
  if [ -n "${BENCH_BATCH_SIZE:-}" ]; then
    printf '[mydumper]\nbatch-size = "%s"\n' "$BENCH_BATCH_SIZE" >>"$work/task.toml"
  fi
  echo "bench: importing $size ($rows rows)"
  # Run the import as a child of python so its peak RSS (ru_maxrss) is exact.
  python3 - "$squall" "$work" "$pd" "$rows" "$src_bytes" "$size" <<'PY' | tee -a "$base/results.txt"
import re, resource, subprocess, sys, threading, time
squall, work, pd, rows, src, size = sys.argv[1:]
t0 = time.monotonic()
# Sample the resident set while the import runs, so the trace (rss.tsv, beside
# import.log whose lines carry wall-clock times) shows which phase holds memory.
with open(f"{work}/import.log", "w") as log, open(f"{work}/rss.tsv", "w") as trace:
    p = subprocess.Popen([squall, "--config", f"{work}/task.toml", "import", "--source", f"{work}/dump",
                          "--pd", pd, "--output", f"{work}/out", "--progress", "log", "--log-interval", "30"],
                         stdout=subprocess.PIPE, stderr=log, text=True)
    out = []
    reader = threading.Thread(target=lambda: out.extend(p.stdout), daemon=True)
    reader.start()
    peak = (0, 0.0)
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as st:
                fields = dict(l.split(":", 1) for l in st if l.startswith(("VmRSS", "RssAnon", "RssFile")))
            kib, anon, file = (int(fields[k].split()[0]) for k in ("VmRSS", "RssAnon", "RssFile"))
        except (OSError, KeyError, ValueError):
            kib = anon = file = 0
        # MiB: resident in all, anonymous (heap), file-backed (mapped files).
        trace.write(f"{time.time():.1f}\t{kib // 1024}\t{anon // 1024}\t{file // 1024}\n")
        peak = max(peak, (kib, time.monotonic() - t0))
        time.sleep(0.5)
    reader.join()
secs = time.monotonic() - t0
stdout = "".join(out)
sys.stderr.write(stdout)
print(f"bench: sampled RSS peaked at {peak[0] // 1024} MiB, {peak[1]:.0f}s into the import "
      f"(trace: {work}/rss.tsv, log: {work}/import.log)", file=sys.stderr)
if p.returncode != 0:
    sys.exit(f"bench: import of {size} failed (exit {p.returncode})")
rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
rows, src = int(rows), int(src)
m = re.search(r"(\d+) conflicting rows \(detect\+resolve ([0-9.]+)s\)", (stdout.splitlines() or [""])[-1])
conflicts, dup_secs = (int(m.group(1)), float(m.group(2))) if m else (0, 0.0)
print(f"{size}: {rows} rows, {src/1e6:.0f} MB source in {secs:.1f}s: "
      f"{rows/secs:,.0f} rows/s, {src/1e6/secs:.1f} MB/s, peak RSS {rss_mib:.0f} MiB; "
      f"{conflicts} conflicting rows, detect+resolve {dup_secs:.1f}s of the {secs:.1f}s")
PY
  stop_sim
done
echo "bench: results appended to $base/results.txt"
