#!/usr/bin/env bash
# Import benchmark with this machine's yardsticks, in one invocation
# (issue 16; BENCHMARKS.md shows the output and what limits each stage).
#
# For each size: generate the dump (deterministic by seed), then
#   yardsticks   dd sequential write (fdatasync) and read (O_DIRECT when the
#                file system allows it, else possibly from page cache) of a file
#                the size of the dump; GNU `sort -S <budget>` of the data files;
#                `squall-bench csv-raw` (the csv crate) and `sst-ingest`
#                (RocksDB SstFileWriter + ingest of the sorted KVs);
#   stages alone `squall-bench parse`, `encode` (1 thread: per-core figures),
#                `sort` (the worker's encode into its local engine + one scan,
#                region-concurrency threads);
# and for each duplicates fraction and mode the whole pipeline: `squall import`
# into a local `squall sim` (embedded) or a local cluster (scripts/cluster.sh),
# with the phases of its summary and log, CPU seconds of Squall's processes and
# of the sim apart, peak RSS per process and bytes written per source byte.
# Then one table (stage, time, MB/s, rows/s, yardstick, ratio), the issue's
# targets met / NOT met, and bench/results/<date>-<name>.json.
#
#   scripts/bench.sh [options] [SIZE ...]    default size 1GiB
#     --quick                 256MiB, embedded, 0% duplicates (< 5 minutes)
#     --dataset NAME          gen-dump dataset (default sysbench)
#     --format csv|sql        data file format (default csv when gen-dump has --format)
#     --duplicates 0,0.01,0.1 fractions of rows reusing a key (default $BENCH_DUPLICATES or 0)
#     --modes embedded,cluster1,cluster2
#                             embedded, or a cluster of N workers (default from BENCH_MODE)
#     --name NAME             results file name (default: dataset-format[-quick])
#     --seed N                gen-dump seed (default 42)
#     --no-stages             the whole pipeline only (no yardsticks, no stages alone)
#     --index-mode with-data,after-data
#                             squall.index-mode of each whole import (default with-data);
#                             with several, a last table compares their total time and
#                             peak RSS (after-data runs use conflict.strategy "error")
#     --engine-ranges [off,on]
#                             squall.engine-ranges of each whole import (disjoint
#                             ingest, issue 24); without a list: on. Embedded runs
#                             report from the sim (bench/tools/ingests.py, GET
#                             /ingests and /regions, saved as ingests.json): SSTs
#                             ingested, overlapping (L0), ServerIsBusy answers, the
#                             most write-CF L0 files any store held (sampled every
#                             0.5 s, bench/tools/l0_watch.py) and the most SSTs one
#                             store ingested into one region of an index, in an
#                             "ingest into the sim" table per size
#     --engines 8,1           engines per table of each whole import: sets
#                             mydumper.batch-size to about size/N, rounded up to
#                             whole chunks so the plan has N engines (1: batch-size
#                             >= the table, the one-engine reference; with both
#                             range settings it runs with ranges off only);
#                             default: BENCH_BATCH_SIZE
#   scripts/bench.sh --no-stages --engines 8,1 --engine-ranges off,on 1GiB
#                             issue 24's benchmark (BENCHMARKS.md "Engine ranges")
#   scripts/bench.sh --modes embedded,cluster1 64MiB 128MiB    a small scaling check
#
# Knobs (environment), as before:
#   BENCH_MODE=embedded|cluster  default mode when --modes is not given
#   BENCH_WORKERS=2              cluster workers for BENCH_MODE=cluster
#   BENCH_ADD_WORKER_AFTER=20    cluster: start one more worker 20 s into the import
#   BENCH_DIR=DIR                work dir (default /var/tmp/squall-bench)
#   BENCH_DUPLICATES=0.01        default duplicates fraction
#   BENCH_STRATEGY=replace       conflict.strategy when duplicates > 0
#   BENCH_BATCH_SIZE=512MiB      mydumper.batch-size (source bytes per engine)
#   BENCH_SEND_KV_SIZE=64KiB     tikv-importer.send-kv-size
#   BENCH_RANGE_CONCURRENCY=16   tikv-importer.range-concurrency
#   BENCH_MEMORY_BUDGET=384MiB   the budget peak RSS is checked against (default:
#                                index-concurrency 2 x local-writer-mem-cache-size
#                                128MiB x 1.5, the sort buffers' allocation bound)
#   BENCH_BUILD=0                use the release binaries as they are (no cargo build)
#   BENCH_SQUALL=PATH            the squall binary to import with (default: the release
#                                build); an older build gives an optimisation's "before"
#   BENCH_KEEP_DUMPS=1           keep the dumps under $BENCH_DIR/dumps (default: removed
#                                after their runs); a kept dump is reused while size,
#                                dataset, format, duplicates and seed stay the same
# Disk: a size needs about 4x its bytes free at once (dump, local engine, exported
# sorted KVs, sim data); each run's logs and JSON stay in $BENCH_DIR/run-<time>.
# Knobs left unset keep squall's own defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

engine_ranges=0 ranges_list=off ranges=off engines_list="" engines=default batch_bytes="" quick=0 dataset=sysbench format="" dups_list="${BENCH_DUPLICATES:-0}" modes="" name="" seed=42 stages=1
index_modes=with-data index_mode=with-data
sizes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --dataset) dataset="$2"; shift ;;
    --format) format="$2"; shift ;;
    --duplicates) dups_list="$2"; shift ;;
    --modes) modes="$2"; shift ;;
    --name) name="$2"; shift ;;
    --seed) seed="$2"; shift ;;
    --no-stages) stages=0 ;;
    --engine-ranges)
      # An optional list: a size or another option after it keeps the old
      # meaning (on for every import).
      if [[ "${2:-}" =~ ^(on|off)(,(on|off))*$ ]]; then ranges_list="$2"; shift; else ranges_list=on; fi ;;
    --engines) engines_list="$2"; shift ;;
    --index-mode) index_modes="$2"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) sizes+=("$1") ;;
  esac
  shift
done
if [ -z "$modes" ]; then
  case "${BENCH_MODE:-embedded}" in
    embedded) modes=embedded ;;
    cluster) modes="cluster${BENCH_WORKERS:-2}" ;;
    *) echo "bench: BENCH_MODE must be embedded or cluster, not $BENCH_MODE" >&2; exit 2 ;;
  esac
fi
if [ "$quick" = 1 ]; then
  [ ${#sizes[@]} -eq 0 ] && sizes=(256MiB)
fi
[ ${#sizes[@]} -eq 0 ] && sizes=(1GiB)
IFS=, read -r -a mode_list <<<"$modes"
IFS=, read -r -a dup_list <<<"$dups_list"
for m in "${mode_list[@]}"; do
  [[ "$m" =~ ^(embedded|cluster[0-9]+)$ ]] || { echo "bench: mode $m is not embedded or clusterN" >&2; exit 2; }
done
strategy="${BENCH_STRATEGY:-replace}"
IFS=, read -r -a index_mode_list <<<"$index_modes"
IFS=, read -r -a range_settings <<<"$ranges_list"
IFS=, read -r -a engine_counts <<<"${engines_list:-default}"
for n in "${engine_counts[@]}"; do
  [[ "$n" =~ ^([1-9][0-9]*|default)$ ]] || { echo "bench: --engines takes counts like 8,1, not $n" >&2; exit 2; }
done
for im in "${index_mode_list[@]}"; do
  [[ "$im" =~ ^(with-data|after-data)$ ]] || { echo "bench: index mode $im is not with-data or after-data" >&2; exit 2; }
done

scripts/setup.sh
# shellcheck disable=SC1091
. scripts/env.sh
[ "${BENCH_BUILD:-1}" = 0 ] || cargo build --release --locked --workspace --bins
squall="${BENCH_SQUALL:-$CARGO_TARGET_DIR/release/squall}"
sbench="$CARGO_TARGET_DIR/release/squall-bench"
tools="$root/bench/tools"

# The generator's options this build knows (others add datasets and --format).
gen_help=$("$squall" gen-dump --help)
if [ -z "$format" ]; then
  if grep -q -- '--format' <<<"$gen_help"; then format=csv; else format=sql; fi
fi
fmt_args=()
if grep -q -- '--format' <<<"$gen_help"; then
  fmt_args=(--format "$format")
elif [ "$format" != sql ]; then
  echo "bench: this squall gen-dump has no --format; only sql dumps" >&2; exit 2
fi
if [ -z "$name" ]; then
  name="$dataset-$format"
  [ "$quick" = 1 ] && name+="-quick"
fi

base="${BENCH_DIR:-/var/tmp/squall-bench}"
run="$base/run-$(date -u +%Y%m%dT%H%M%S)"
mkdir -p "$run"
records="$run/records.jsonl"
: >"$records"
echo "bench: work dir $run"

mib() { python3 -c 'import re,sys
s=sys.argv[1]; m=re.fullmatch(r"([0-9.]+)\s*([KMGT]i?B?|B)?", s, re.I)
if not m: sys.exit(f"bench: bad size {s}")
u=(m.group(2) or "B").upper().rstrip("B").rstrip("I")
print(int(float(m.group(1))*{"":1,"K":1<<10,"M":1<<20,"G":1<<30,"T":1<<40}[u]) >> 20)' "$1"; }
budget_mib=$(mib "${BENCH_MEMORY_BUDGET:-384MiB}")

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

# record SIZE DUPS MODE WHAT JSON_FILE: one line of records.jsonl.
record() {
  python3 - "$@" >>"$records" <<'PY'
import json, sys
size, dups, mode, what, path = sys.argv[1:]
print(json.dumps({"size": size, "duplicates": float(dups), "mode": mode, "what": what,
                  "data": json.load(open(path))}))
PY
}

# timed OUT_PREFIX CMD...: runs CMD measured (bench/tools/timed.py);
# OUT_PREFIX.json, .out, .err.
timed() {
  local out="$1"; shift
  python3 "$tools/timed.py" "$out.json" "$out.out" "$out.err" -- "$@" || {
    echo "bench: failed: $*; end of $out.err:" >&2; tail -n 20 "$out.err" >&2; return 1
  }
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
strategy = "$( [ "$index_mode" = after-data ] && echo error || echo "$strategy")"
[squall]
index-mode = "$index_mode"
engine-ranges = $( [ "$engine_ranges" = 1 ] && echo true || echo false)
TOML
  if [ -n "$batch_bytes" ]; then
    printf '[mydumper]\nbatch-size = %s\n' "$batch_bytes" >>"$work/task.toml"
  elif [ -n "${BENCH_BATCH_SIZE:-}" ]; then
    printf '[mydumper]\nbatch-size = "%s"\n' "$BENCH_BATCH_SIZE" >>"$work/task.toml"
  fi
}

# batch_for DUMP N: the smallest mydumper.batch-size (bytes) with which every
# table's chunks group into at most N engines, as coordinator/src/plan/
# engines.rs groups them (consecutive chunks in file order while they fit;
# files cut at max-region-size, 256MiB). size/N alone would not do: data
# files are a row over 64MiB each, so two of them never fit in 1GiB/8.
batch_for() {
  data_files "$1" | python3 -c '
import collections, os, sys
n, limit = int(sys.argv[1]), 256 << 20
tables = collections.OrderedDict()
for path in sys.stdin.read().split():
    name = os.path.basename(path)
    size = os.path.getsize(path)
    chunks = tables.setdefault(name.rsplit(".", 2)[0], [])
    while size > limit:
        chunks.append(limit)
        size -= limit
    chunks.append(size)
def engines(chunks, batch):
    count, held = 0, None
    for c in chunks:
        if held is None or held + c > batch:
            count, held = count + 1, 0
        held += c
    return count
best = 1
for chunks in tables.values():
    lo, hi = max(-(-sum(chunks) // n), max(chunks)), sum(chunks)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if engines(chunks, mid) <= n else (mid + 1, hi)
    best = max(best, lo)
print(best)' "$2"
}

# dump_for SIZE DUPS: the dump directory (generated when missing or made
# with other options).
dump_for() {
  local size="$1" dups="$2"
  local dir="$base/dumps/$dataset-$format-$size-dup$dups-seed$seed"
  local args="gen-dump --dataset $dataset ${fmt_args[*]} --size $size --duplicates $dups --seed $seed"
  if [ ! -f "$dir/generated.json" ] || [ "$(cat "$dir/args.txt" 2>/dev/null)" != "$args" ]; then
    echo "bench: generating $size of $dataset ($format, duplicates $dups, seed $seed)" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    "$squall" $args --out "$dir/dump" >"$dir/generated.tmp"
    mv "$dir/generated.tmp" "$dir/generated.json"
    echo "$args" >"$dir/args.txt"
  fi
  echo "$dir"
}

# data_files DUMP: the data files (not schema files), in name order.
data_files() {
  find "$1" -type f \( -name '*.csv' -o -name '*.sql' \) ! -name '*-schema*.sql' | sort
}

# yardsticks_and_stages SIZE DUMPDIR
yardsticks_and_stages() {
  local size="$1" dir="$2"
  local work="$run/$size-stages"
  local dump="$dir/dump" src_bytes
  mkdir -p "$work"
  src_bytes=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])' <"$dir/generated.json")
  local count=$(((src_bytes + (1 << 20) - 1) >> 20))
  mapfile -t files < <(data_files "$dump")

  echo "bench: $size yardsticks: dd write/read of ${count} MiB, GNU sort -S ${budget_mib}M"
  timed "$work/dd-write" dd if=/dev/zero of="$work/dd.bin" bs=1M count="$count" conv=fdatasync
  record "$size" 0 - dd-write "$work/dd-write.json"
  local direct=1
  if ! timed "$work/dd-read" dd if="$work/dd.bin" of=/dev/null bs=1M iflag=direct 2>/dev/null; then
    direct=0
    timed "$work/dd-read" dd if="$work/dd.bin" of=/dev/null bs=1M
  fi
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["direct"]=sys.argv[2]=="1"; json.dump(d,open(sys.argv[1],"w"))' \
    "$work/dd-read.json" "$direct"
  record "$size" 0 - dd-read "$work/dd-read.json"
  rm -f "$work/dd.bin"
  mkdir -p "$work/sort-tmp"
  timed "$work/gnu-sort" env LC_ALL=C sort -S "${budget_mib}M" -T "$work/sort-tmp" -o "$work/sorted.txt" "${files[@]}"
  record "$size" 0 - gnu-sort "$work/gnu-sort.json"
  rm -rf "$work/sorted.txt" "$work/sort-tmp"

  local threads
  threads=$(nproc)
  if [ "$format" = csv ]; then
    echo "bench: $size csv-raw"
    timed "$work/csv-raw" "$sbench" csv-raw "$dump"
    cp "$work/csv-raw.out" "$work/csv-raw.stage.json"
    record "$size" 0 - csv-raw "$work/csv-raw.stage.json"
  fi
  for stage in parse encode; do
    echo "bench: $size $stage alone (1 thread)"
    timed "$work/$stage" "$sbench" "$stage" "$dump"
    cp "$work/$stage.out" "$work/$stage.stage.json"
    record "$size" 0 - "$stage" "$work/$stage.stage.json"
  done
  echo "bench: $size sort alone ($threads threads: the worker's encode into its local engine, then one scan)"
  timed "$work/sort" "$sbench" --threads "$threads" sort "$dump" --work "$work/engine" --export "$work/sorted.kvs"
  cp "$work/sort.out" "$work/sort.stage.json"
  record "$size" 0 - sort "$work/sort.stage.json"
  echo "bench: $size sst-ingest of the sorted KVs"
  timed "$work/sst-ingest" "$sbench" sst-ingest "$work/sorted.kvs" --work "$work/sst" --source-bytes "$src_bytes"
  cp "$work/sst-ingest.out" "$work/sst-ingest.stage.json"
  record "$size" 0 - sst-ingest "$work/sst-ingest.stage.json"
  rm -rf "$work/sorted.kvs" "$work/engine" "$work/sst"
}

# The import command's arguments common to both modes.
import_args() {
  local work="$1" pd="$2"
  echo --log-level info --config "$work/task.toml" import --source "$3" --pd "$pd" \
    --output "$work/out" --progress log --log-interval 30
}

run_embedded() {
  local size="$1" dups="$2" mode="$3" work="$4" dump="$5"
  local pd admin; pd="127.0.0.1:$(free_port)" admin="127.0.0.1:$(free_port)"
  "$squall" sim --pd-addr "$pd" --admin-addr "$admin" --data-dir "$work/sim" >"$work/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 1 600); do
    kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; exit 1; }
    (exec 3<>"/dev/tcp/${pd%:*}/${pd#*:}") 2>/dev/null && break
    sleep 0.1
  done
  # The most L0 files any store held during the import (the sim's write-stall
  # signal); a watcher of ours, stopped by its pid.
  python3 "$tools/l0_watch.py" "$admin" "$work/l0.json" &
  local watcher=$!
  # shellcheck disable=SC2046
  python3 "$tools/timed.py" "$work/import.json" "$work/summary.txt" "$work/import.log" \
    --rss-trace "$work/rss.tsv" -- "$squall" $(import_args "$work" "$pd" "$dump") ||
    { kill -TERM "$watcher" 2>/dev/null || true
      echo "bench: import failed; end of $work/import.log:" >&2; tail -n 20 "$work/import.log" >&2; exit 1; }
  kill -TERM "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  python3 "$tools/procstat.py" "sim=$sim_pid" >"$work/procs.json"
  # The sim's ingest accounting: overlapping (L0) SSTs, write-stall answers,
  # SSTs per index region.
  python3 "$tools/ingests.py" "$admin" "$work/ingests.json" --raw "$work/ingests-raw.json" --l0 "$work/l0.json" ||
    echo "bench: no ingest accounting from the sim" >&2
  cleanup
}

run_cluster() {
  local size="$1" dups="$2" mode="$3" work="$4" dump="$5"
  local workers="${mode#cluster}"
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
  # shellcheck disable=SC2046
  python3 "$tools/timed.py" "$work/import.json" "$work/summary.txt" "$work/import.log" \
    --rss-trace "$work/rss.tsv" -- "$squall" --config "$work/task.toml" import --coordinator "http://$API" \
    --source "$dump" --pd "$PD" --output "$work/out" --progress log --log-interval 30 ||
    { echo "bench: import failed; end of $work/import.log:" >&2; tail -n 20 "$work/import.log" >&2; exit 1; }
  if [ -n "$adder" ]; then
    wait "$adder" || echo "bench: adding a worker failed: $(tail -n 3 "$work/add-worker.log")" >&2
  fi
  local procs=()
  for f in "$cluster_dir"/pids/*.pid; do procs+=("$(basename "$f" .pid)=$(cat "$f")"); done
  python3 "$tools/procstat.py" "${procs[@]}" >"$work/procs.json"
  # The workers log the engine phases (ingest times come from there).
  cat "$cluster_dir"/logs/w*.log >>"$work/import.log" 2>/dev/null || true
  cleanup
}

# pipeline SIZE DUPS MODE DUMPDIR
pipeline() {
  local size="$1" dups="$2" mode="$3" dir="$4"
  local work="$run/$size-dup$dups-$mode"
  [ "$index_mode" = with-data ] || work+="-$index_mode"
  [ "$engines" = default ] || work+="-e$engines"
  [ "${#range_settings[@]}" -eq 1 ] && [ "$engines_list" = "" ] || work+="-ranges-$ranges"
  mkdir -p "$work"
  task_toml "$work"
  echo "bench: $size, duplicates $dups, $mode, index-mode $index_mode, engines $engines" \
    "(batch-size ${batch_bytes:-default}), engine ranges $ranges: whole import"
  if [ "$mode" = embedded ]; then
    run_embedded "$size" "$dups" "$mode" "$work" "$dir/dump"
  else
    run_cluster "$size" "$dups" "$mode" "$work" "$dir/dump"
  fi
  python3 - "$work" "$dir/generated.json" "$engines" "$ranges" "${batch_bytes:-}" >"$work/pipeline.json" <<'PY'
import json, os, sys
work, gen, engines, ranges, batch = sys.argv[1:]
g = json.load(open(gen))
ingests = f"{work}/ingests.json"
print(json.dumps({"import": json.load(open(f"{work}/import.json")),
                  "procs": json.load(open(f"{work}/procs.json")),
                  "summary": open(f"{work}/summary.txt").read(),
                  "log": f"{work}/import.log",
                  "source_bytes": g["bytes"],
                  "rows": sum(n for _, n in g["tables"]),
                  "engines_asked": None if engines == "default" else int(engines),
                  "batch_size": int(batch) if batch else None,
                  "engine_ranges": ranges == "on",
                  "ingests": json.load(open(ingests)) if os.path.exists(ingests) else None}))
PY
  # The stage table compares with-data imports; every index mode's total
  # time and peak RSS go to the last table.
  [ "$index_mode" = with-data ] && record "$size" "$dups" "$mode" pipeline "$work/pipeline.json"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("\t".join(sys.argv[2:] + ["%.1f" % d["secs"], "%.0f" % d["peak_rss_mib"]]))' \
    "$work/import.json" "$size" "$dups" "$mode" "$index_mode" >>"$run/index-modes.tsv"
  rm -rf "$work/sim" "$work/sorted" "$work/cluster/data"
}

for size in "${sizes[@]}"; do
  first_dir=""
  for dups in "${dup_list[@]}"; do
    dir=$(dump_for "$size" "$dups")
    [ -z "$first_dir" ] && first_dir="$dir"
    if [ "$stages" = 1 ] && [ "$dir" = "$first_dir" ]; then
      yardsticks_and_stages "$size" "$dir"
    fi
    for mode in "${mode_list[@]}"; do
      for index_mode in "${index_mode_list[@]}"; do
        if [ "$index_mode" = after-data ] && [ "$dups" != 0 ]; then
          echo "bench: after-data needs conflict.strategy \"error\": skipped with duplicates $dups" >&2
          continue
        fi
        for engines in "${engine_counts[@]}"; do
          batch_bytes=""
          [ "$engines" = default ] || batch_bytes=$(batch_for "$dir/dump" "$engines")
          for ranges in "${range_settings[@]}"; do
            # One engine overlaps nothing: its reference run is ranges off.
            if [ "$engines" = 1 ] && [ "$ranges" = on ] && [ "${#range_settings[@]}" -gt 1 ]; then
              continue
            fi
            engine_ranges=0
            [ "$ranges" = on ] && engine_ranges=1
            pipeline "$size" "$dups" "$mode" "$dir"
          done
        done
      done
    done
    # Dumps of several sizes and duplicate fractions would not fit the disk
    # together; regenerating one takes seconds.
    [ "${BENCH_KEEP_DUMPS:-0}" = 1 ] || rm -rf "$dir"
  done
done

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%d)-$name.json"
python3 "$tools/report.py" "$records" "$out" --budget-mib "$budget_mib" \
  --name "$name" --dataset "$dataset" --format "$format" --seed "$seed" | tee "$run/table.txt"
if [ "${#index_mode_list[@]}" -gt 1 ] && [ -f "$run/index-modes.tsv" ]; then
  echo
  printf '%-8s %-6s %-10s %-11s %10s %14s\n' size dups mode index-mode "total s" "peak RSS MiB" | tee -a "$run/table.txt"
  while IFS=$'\t' read -r sz dp md im secs rss; do
    printf '%-8s %-6s %-10s %-11s %10s %14s\n' "$sz" "$dp" "$md" "$im" "$secs" "$rss"
  done <"$run/index-modes.tsv" | tee -a "$run/table.txt"
fi
echo "bench: figures in $out, work files in $run"
