#!/usr/bin/env bash
# End-to-end import benchmark: a generated sysbench-like table (sbtest.sbtest1,
# int primary key, secondary index) of each given size imported into a local
# tikv-sim, embedded (one `squall import` process) or on a local cluster
# (scripts/cluster.sh: nats-server, etcd, a coordinator and N workers).
# Prints wall time, rows/s, source MB/s, the phases the summary reports, and
# per process its CPU seconds and peak RSS (the sim's apart from Squall's).
#
#   scripts/bench.sh [SIZE ...]        default: 1GiB
#   scripts/bench.sh 1GiB 4GiB         peak memory should not grow with size
#   BENCH_MODE=cluster                 embedded (default) or cluster
#   BENCH_WORKERS=2                    cluster: workers at the start (default 2)
#   BENCH_ADD_WORKER_AFTER=20          cluster: start one more worker 20 s into the import
#   BENCH_DIR=DIR                      work dir (default: under /var/tmp)
#   BENCH_DUPLICATES=0.01              fraction of rows reusing a key (default 0)
#   BENCH_STRATEGY=replace             conflict.strategy when duplicates > 0
#   BENCH_BATCH_SIZE=512MiB            mydumper.batch-size (source bytes per engine)
#   BENCH_SEND_KV_SIZE=64KiB           tikv-importer.send-kv-size (bytes per WriteBatch)
#   BENCH_RANGE_CONCURRENCY=16         tikv-importer.range-concurrency (ranges ingested at once)
# Knobs left unset keep squall's own defaults. Results are appended to
# $BENCH_DIR/results.txt.
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
mode="${BENCH_MODE:-embedded}"
case "$mode" in embedded | cluster) ;; *) echo "bench: BENCH_MODE must be embedded or cluster, not $mode" >&2; exit 2 ;; esac

cargo build --release --locked --bin squall
squall="$CARGO_TARGET_DIR/release/squall"
base="${BENCH_DIR:-/var/tmp/squall-bench}"
mkdir -p "$base"

sim_pid=""
cluster_dir=""
cleanup() {
  if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  sim_pid=""
  if [ -n "$cluster_dir" ]; then
    SQUALL_CLUSTER_DIR="$cluster_dir" scripts/cluster.sh down >/dev/null || true
    cluster_dir=""
  fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# usage NAME PID: "NAME cpu=<s> peak_rss=<MiB>" of a running process, from
# /proc (utime+stime in clock ticks; VmHWM is the peak resident set).
usage() {
  python3 - "$1" "$2" <<'PY'
import os, sys
name, pid = sys.argv[1:]
try:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM"))
    print(f"{name} cpu={cpu:.1f}s peak_rss={hwm // 1024}MiB")
except (OSError, StopIteration, IndexError, ValueError) as e:
    print(f"{name} gone ({e})")
PY
}

# The task TOML of one run.
task_toml() {
  local work="$1" importer=""
  [ -n "${BENCH_SEND_KV_SIZE:-}" ] && importer+="send-kv-size = \"$BENCH_SEND_KV_SIZE\""$'\n'
  [ -n "${BENCH_RANGE_CONCURRENCY:-}" ] && importer+="range-concurrency = $BENCH_RANGE_CONCURRENCY"$'\n'
  cat >"$work/task.toml" <<TOML
[tikv-importer]
sorted-kv-dir = "$work/sorted"
$importer
[conflict]
strategy = "$strategy"
TOML
  if [ -n "${BENCH_BATCH_SIZE:-}" ]; then
    printf '[mydumper]\nbatch-size = "%s"\n' "$BENCH_BATCH_SIZE" >>"$work/task.toml"
  fi
}

# measure LABEL WORK ROWS SRC_BYTES CMD...: runs the import command as a child
# of python (its CPU and ru_maxrss are then exact), samples its RSS into
# rss.tsv, and prints one result line.
measure() {
  python3 - "$@" <<'PY'
import re, resource, subprocess, sys, threading, time
label, work, rows, src, *cmd = sys.argv[1:]
t0 = time.monotonic()
with open(f"{work}/import.log", "w") as log, open(f"{work}/rss.tsv", "w") as trace:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    out = []
    reader = threading.Thread(target=lambda: out.extend(p.stdout), daemon=True)
    reader.start()
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as st:
                kib = next(int(l.split()[1]) for l in st if l.startswith("VmRSS"))
        except (OSError, StopIteration, ValueError):
            kib = 0
        trace.write(f"{time.time():.1f}\t{kib // 1024}\n")
        time.sleep(0.5)
    reader.join()
secs = time.monotonic() - t0
stdout = "".join(out)
sys.stderr.write(stdout)
with open(f"{work}/summary.txt", "w") as f:
    f.write(stdout)
if p.returncode != 0:
    sys.exit(f"bench: {label} failed (exit {p.returncode}); log: {work}/import.log")
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
rows, src = int(rows), int(src)
total = (stdout.splitlines() or [""])[-1]
def phase(name):
    m = re.search(re.escape(name) + r" ([0-9.]+)s", total)
    return f"{name} {m.group(1)}s" if m else None
phases = ", ".join(p for p in (phase("engines"), phase("detect+resolve"), phase("checksum")) if p)
m = re.search(r"(\d+) conflicting rows", total)
print(f"{label}: {rows} rows, {src/1e6:.0f} MB source in {secs:.1f}s: {rows/secs:,.0f} rows/s, "
      f"{src/1e6/secs:.1f} MB/s; {phases or 'no phase times in the summary'}; "
      f"{m.group(1) if m else 0} conflicting rows; "
      f"import process cpu={ru.ru_utime + ru.ru_stime:.1f}s peak_rss={ru.ru_maxrss // 1024}MiB")
PY
}

run_embedded() {
  local size="$1" work="$2" rows="$3" src_bytes="$4"
  local pd; pd="127.0.0.1:$(free_port)"
  "$squall" sim --pd-addr "$pd" --data-dir "$work/sim" >"$work/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 1 600); do
    kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; exit 1; }
    (exec 3<>"/dev/tcp/${pd%:*}/${pd#*:}") 2>/dev/null && break
    sleep 0.1
  done
  echo "bench: importing $size ($rows rows), embedded"
  {
    measure "$size embedded" "$work" "$rows" "$src_bytes" \
      "$squall" --log-level info --config "$work/task.toml" import --source "$work/dump" --pd "$pd" \
      --output "$work/out" --progress log --log-interval 30
    echo "  $(usage sim "$sim_pid")"
  } | tee -a "$base/results.txt"
  cleanup
}

run_cluster() {
  local size="$1" work="$2" rows="$3" src_bytes="$4"
  local workers="${BENCH_WORKERS:-2}"
  cluster_dir="$work/cluster"
  export SQUALL_CLUSTER_DIR="$cluster_dir" SQUALL_BIN="$squall"
  scripts/cluster.sh up --workers "$workers" >"$work/cluster-up.log"
  # shellcheck disable=SC1091
  . "$cluster_dir/cluster.env"
  local adder=""
  if [ -n "${BENCH_ADD_WORKER_AFTER:-}" ]; then
    (sleep "$BENCH_ADD_WORKER_AFTER" && scripts/cluster.sh add-worker >"$work/add-worker.log" 2>&1) &
    adder=$!
  fi
  echo "bench: importing $size ($rows rows) on a cluster of $workers workers${adder:+, one more after ${BENCH_ADD_WORKER_AFTER}s}"
  measure "$size cluster, $workers workers${adder:+ +1}" "$work" "$rows" "$src_bytes" \
    "$squall" --config "$work/task.toml" import --coordinator "http://$API" --source "$work/dump" \
    --pd "$PD" --output "$work/out" --progress log --log-interval 30 | tee -a "$base/results.txt"
  if [ -n "$adder" ]; then
    wait "$adder" || echo "bench: adding a worker failed: $(tail -n 3 "$work/add-worker.log")" >&2
  fi
  {
    for f in "$cluster_dir"/pids/*.pid; do
      echo "  $(usage "$(basename "$f" .pid)" "$(cat "$f")")"
    done
    # Which worker did which engine (the coordinator's job status).
    job=$(grep -o '^job [^:]*' "$work/summary.txt" | tail -n 1 | cut -d' ' -f2)
    if [ -n "$job" ]; then
      curl -fsS "http://$API/jobs/$job" | python3 -c '
import collections, json, sys
engines = json.load(sys.stdin)["engines"]
done = collections.Counter(e.get("worker") or "?" for e in engines)
print("  engines done per worker: " + ", ".join(f"{w}={n}" for w, n in sorted(done.items())))'
    fi
  } | tee -a "$base/results.txt"
  cleanup
}

for size in "$@"; do
  work="$base/$size-dup$dups"
  rm -rf "$work/sim" "$work/out" "$work/sorted" "$work/cluster"
  mkdir -p "$work"
  if [ ! -f "$work/generated.json" ]; then
    echo "bench: generating $size of sysbench rows in $work/dump"
    rm -rf "$work/dump"
    "$squall" gen-dump --dataset sysbench --size "$size" --duplicates "$dups" --out "$work/dump" >"$work/generated.json"
  fi
  rows=$(python3 -c 'import json,sys; print(sum(n for _, n in json.load(sys.stdin)["tables"]))' <"$work/generated.json")
  src_bytes=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])' <"$work/generated.json")
  task_toml "$work"
  "run_$mode" "$size" "$work" "$rows" "$src_bytes"
done
echo "bench: results appended to $base/results.txt"
