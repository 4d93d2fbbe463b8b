#!/usr/bin/env bash
# End to end on docker compose, from no images: starts a dockerd of its own
# (own socket and data root under /var/tmp), builds the images with no
# registry (scripts/compose-images.sh), brings up the tikv-sim setup
# (docker-compose.yml + docker/compose.sim.yml + docker/compose.local-images.yml)
# with 3 workers, imports a generated multi-table dump through the cluster
# with `squall import --coordinator`, and while engine tasks are in flight
# (docker/e2e/chaos.py):
#   kills a worker container (docker kill), scales workers 3 -> 5 (which
#   starts the killed one again), pauses a worker container past the ack wait
#   (docker pause), kills the leading coordinator's container and starts it
#   again once the standby leads.
# Then checks the job ended exact against a reference import of the same dump
# into a fresh tikv-sim in one process, without faults: per table the rows
# read (also against the generator's count), the conflicting rows, the rows
# and KVs TiKV holds and the SHA-256 of every KV (`squall export --format kv`),
# and the conflict reports. Prints the timeline of faults and what each cost,
# tears everything down (containers, networks, volumes, images, the dockerd
# it started, by pid) and exits non-zero on any mismatch.
#
#   scripts/compose-e2e.sh
#
#   SQUALL_BIN=PATH        the squall binary for the images and the reference
#                          (default: build E2E_PROFILE and use it)
#   E2E_PROFILE=debug      debug (what scripts/test.sh built) or release
#   E2E_SIZE=300MiB        the generated dump (shop: 3 tables, SQL and CSV)
#   E2E_FILE_SIZE=16MiB    largest data file, and E2E_BATCH=16MiB source bytes
#                          per engine: many engines, so faults find tasks in flight
#   E2E_DUPLICATES=0.002   fraction of rows reusing a key (conflicts, `replace`)
#   E2E_ACK_WAIT=8         seconds before a silent task is redelivered
#   E2E_DEADLINE=2700      seconds the whole run may take
#   E2E_KEEP=1             keep the work dir (dump, logs) even when it passes
#
# Exit codes: 0 exact, 1 a check failed, 3 docker cannot run on this machine.
# Traffic stays on the networks this script's dockerd creates (no default
# bridge, no iptables rules, no IP forwarding); images build with no network.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. docker/private-dockerd.sh

size="${E2E_SIZE:-300MiB}"
file_size="${E2E_FILE_SIZE:-16MiB}"
batch="${E2E_BATCH:-16MiB}"
dups="${E2E_DUPLICATES:-0.002}"
ack_wait="${E2E_ACK_WAIT:-8}"
deadline="${E2E_DEADLINE:-2700}"
profile="${E2E_PROFILE:-debug}"
project="sqe2e$$"
EXIT_NO_DOCKER=3

start=$SECONDS
say() { printf 'compose-e2e [%4ds] %s\n' $((SECONDS - start)) "$*"; }
passed=0
failed=0
check() { # check WHAT OK(0|1) DETAIL
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); say "ok: $1${3:+ ($3)}"
  else failed=$((failed + 1)); say "MISMATCH: $1${3:+ ($3)}"; fi
}
die() { say "FAILED: $*" >&2; exit 1; }
over_deadline() { [ $((SECONDS - start)) -ge "$deadline" ]; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
strip_ansi() { sed 's/\x1b\[[0-9;]*m//g'; }

scripts/setup.sh compose

# -- the binary -------------------------------------------------------------
if [ -n "${SQUALL_BIN:-}" ]; then
  bin="$SQUALL_BIN"
else
  case "$profile" in
    # Whole-workspace, as scripts/test.sh builds it (no rebuild after it).
    debug) cargo build --workspace --locked; bin="$CARGO_TARGET_DIR/debug/squall" ;;
    release) cargo build --release --locked --bin squall; bin="$CARGO_TARGET_DIR/release/squall" ;;
    *) die "E2E_PROFILE must be debug or release, not $profile" ;;
  esac
fi
[ -x "$bin" ] || die "no squall binary at $bin"

work="$(mktemp -d /var/tmp/sqe2e.XXXXXX)"
# The binary is copied: other builds may replace the one in the target dir
# while this runs.
cp "$bin" "$work/squall"
squall="$work/squall"
say "work dir $work, squall $("$squall" --version) from $bin"

ref_sim_pid=""
client_pid=""
torn_down=0
DC=(docker-compose -p "$project" -f docker-compose.yml -f docker/compose.sim.yml -f docker/compose.local-images.yml)

# -- teardown ---------------------------------------------------------------
# Everything this run made, and only that: its compose project, the client
# and export containers (by name), the images built into its own dockerd,
# that dockerd (by pid), its mounts, its work dir.
teardown() {
  [ "$torn_down" -eq 1 ] && return 0
  torn_down=1
  set +e
  [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null
  [ -n "$ref_sim_pid" ] && kill "$ref_sim_pid" 2>/dev/null && wait "$ref_sim_pid" 2>/dev/null
  local leftover=""
  if [ -n "$DOCKERD_PID" ]; then
    "${DC[@]}" logs --no-color --timestamps >"$work/compose.log" 2>&1
    # A paused container (a failure mid-fault) can be neither stopped nor removed.
    "$DOCKER" ps -q --filter status=paused | xargs -r "$DOCKER" unpause >/dev/null 2>&1
    "${DC[@]}" --profile client down --volumes --remove-orphans --timeout 5 >"$work/down.log" 2>&1 ||
      say "docker-compose down failed: $(tail -n 3 "$work/down.log")"
    "$DOCKER" ps -aq --filter "label=com.docker.compose.project=$project" | xargs -r "$DOCKER" rm -f >/dev/null 2>&1
    # Twice: the base goes only once the images built on it are gone.
    for _ in 1 2; do
      "$DOCKER" images -q --filter "label=org.squall.built-by=compose-images" | sort -u |
        xargs -r "$DOCKER" rmi -f >/dev/null 2>&1
    done
    "$DOCKER" image prune -f >/dev/null 2>&1
    leftover="$("$DOCKER" ps -aq)$("$DOCKER" volume ls -q)$("$DOCKER" images -q)"
    leftover+="$("$DOCKER" network ls -q --filter type=custom)"
    if [ -n "$leftover" ]; then
      say "left behind in docker: $("$DOCKER" ps -a --format '{{.Names}}' | tr '\n' ' ')$("$DOCKER" volume ls -q | tr '\n' ' ')$("$DOCKER" images --format '{{.Repository}}:{{.Tag}}' | tr '\n' ' ')"
    else
      say "docker is empty again: no containers, volumes, networks or images"
    fi
    private_dockerd_stop
    say "dockerd stopped"
  fi
  # Mounts of our data root only (overlay layers, volumes), deepest first.
  findmnt -rn -o TARGET | grep "^$work/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
  [ -f "$work/d/dockerd.log" ] && cp "$work/d/dockerd.log" "$work/dockerd.log"
  rm -rf "$work/d" "$work/src" "$work/ref/sim" "$work/squall"
  set -e
  [ -z "$leftover" ]
}
on_exit() {
  local rc=$?
  set +e
  teardown || { [ "$rc" -eq 0 ] && rc=1; }
  if [ "$rc" -eq 0 ] && [ -z "${E2E_KEEP:-}" ]; then
    rm -rf "$work"
  else
    say "logs kept in $work (compose.log: every container's output; dockerd.log, client.err, chaos.log, ref/)"
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# -- dockerd ------------------------------------------------------------------
say "starting a private dockerd in $work/d"
if ! private_dockerd_start "$work/d"; then
  say "docker cannot run on this machine (dockerd did not start; see above and $work/dockerd.log)" >&2
  exit "$EXIT_NO_DOCKER"
fi
say "dockerd pid $DOCKERD_PID, $DOCKER_HOST, $("$DOCKER" version --format 'engine {{.Server.Version}}'), $(docker-compose version --short)"

say "building the images (scripts/compose-images.sh)"
scripts/compose-images.sh --bin "$squall"
if ! out="$("$DOCKER" run --rm --network none squall:latest --version 2>&1)"; then
  say "docker cannot run containers on this machine: $out" >&2
  exit "$EXIT_NO_DOCKER"
fi

# -- the dump -------------------------------------------------------------------
say "generating a $size shop dump (duplicates $dups)"
"$squall" gen-dump --dataset shop --size "$size" --file-size "$file_size" --duplicates "$dups" \
  --out "$work/src/shop" >"$work/generated.json"
chmod -R a+rX "$work/src"
cat >"$work/task.toml" <<TOML
[mydumper]
batch-size = "$batch"

[conflict]
strategy = "replace"
TOML
chmod a+r "$work/task.toml"
tables=$(python3 -c 'import json,sys; print(" ".join(t for t, _ in json.load(sys.stdin)["tables"]))' <"$work/generated.json")
say "dump: $(python3 -c 'import json,sys; g=json.load(sys.stdin); print(", ".join(f"{t} {n} rows" for t, n in g["tables"]) + "; %.0f MB" % (g["bytes"] / 1e6))' <"$work/generated.json"), $(find "$work/src/shop" -type f | wc -l) files"

# -- the reference: the same dump, one process, a fresh sim, no faults ----------
mkdir -p "$work/ref"
ref_pd="127.0.0.1:$(free_port)"
"$squall" sim --pd-addr "$ref_pd" --data-dir "$work/ref/sim" >"$work/ref/sim.log" 2>&1 &
ref_sim_pid=$!
for _ in $(seq 1 300); do
  (exec 3<>"/dev/tcp/${ref_pd%:*}/${ref_pd#*:}") 2>/dev/null && break
  kill -0 "$ref_sim_pid" 2>/dev/null || die "the reference sim exited: $(tail -n 5 "$work/ref/sim.log")"
  sleep 0.1
done
say "reference import (embedded, sim at $ref_pd)"
t=$SECONDS
"$squall" --config "$work/task.toml" import --source "$work/src/shop" --pd "$ref_pd" --output "$work/ref/out" \
  --progress log --log-interval 30 >"$work/ref/summary.txt" 2>"$work/ref/import.log" ||
  die "the reference import failed: $(strip_ansi <"$work/ref/import.log" | tail -n 5)"
say "reference imported in $((SECONDS - t)) s: $(tail -n 1 "$work/ref/summary.txt" | cut -c1-200)"
t=$SECONDS
for table in $tables; do
  "$squall" export --pd "$ref_pd" --table "$table" --source "$work/src/shop" --format kv 2>>"$work/ref/export.log" |
    python3 docker/e2e/digest.py kv "$table" >>"$work/ref/kv.jsonl" ||
    die "exporting $table from the reference failed: $(strip_ansi <"$work/ref/export.log" | tail -n 3)"
done
python3 docker/e2e/digest.py conflicts "$work/ref/out/conflicts" >"$work/ref/conflicts.jsonl"
say "reference exported and digested in $((SECONDS - t)) s"
kill "$ref_sim_pid" && wait "$ref_sim_pid" 2>/dev/null
ref_sim_pid=""

# -- the cluster ------------------------------------------------------------------
mkdir -p "$work/out"
chown 10001:10001 "$work/out"   # the squall user of the image writes the reports
api1_port=$(free_port)
api2_port=$(free_port)
export SQUALL_SOURCE_DIR="$work/src" SQUALL_OUTPUT_DIR="$work/out" SQUALL_ACK_WAIT_SECS="$ack_wait"
export SQUALL_COORDINATOR_1_PORT="$api1_port" SQUALL_COORDINATOR_2_PORT="$api2_port" SQUALL_PUBLISH_HOST=127.0.0.1
api="http://127.0.0.1:$api1_port,http://127.0.0.1:$api2_port"
say "docker-compose up (project $project): nats, etcd, tikv-sim, 2 coordinators, 3 workers"
"${DC[@]}" up -d --no-build --scale worker=3 2>&1 | sed 's/^/  /'

# healthy SERVICE...: every container of each service reports healthy.
wait_healthy() {
  local svc id state deadline=$((SECONDS + 120))
  for svc in "$@"; do
    for id in $("${DC[@]}" ps -q "$svc"); do
      while :; do
        state=$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$id")
        [ "$state" = healthy ] && break
        [ "$SECONDS" -ge "$deadline" ] && die "$svc is $state after 120 s: $("$DOCKER" logs --tail 20 "$id" 2>&1 | strip_ansi)"
        sleep 0.5
      done
    done
  done
}
wait_healthy nats etcd tikv-sim coordinator-1 coordinator-2
deadline_w=$((SECONDS + 120))
until [ "$(curl -fsS --max-time 3 "http://127.0.0.1:$api1_port/metrics" 2>/dev/null | sed -n 's/^squall_workers //p')" = 3 ]; do
  [ "$SECONDS" -ge "$deadline_w" ] && die "3 workers did not register in etcd within 120 s"
  sleep 0.5
done
say "all healthy; 3 workers registered; coordinator API published on 127.0.0.1:$api1_port and :$api2_port"
# The containers reach each other and nothing outside (no NAT, no forwarding).
rc=1
"$DOCKER" exec "$("${DC[@]}" ps -q coordinator-1)" squall-healthcheck tcp://9.9.9.9:443 >/dev/null 2>&1 || rc=0
check "a container cannot open a connection outside the docker network" "$rc"

say "submitting the job: docker-compose run --rm squall import --coordinator ... (log: $work/client.err)"
"${DC[@]}" run --rm -T --no-deps --name "$project-client" \
  -v "$work/task.toml:/etc/squall/task.toml:ro" \
  squall --config /etc/squall/task.toml import \
  --coordinator http://coordinator-1:8287,http://coordinator-2:8287 \
  --pd pd:2379 --source /data/source/shop --output /data/output/shop --progress log --log-interval 5 \
  >"$work/client.out" 2>"$work/client.err" &
client_pid=$!

remaining=$((deadline - (SECONDS - start)))
set +e
python3 docker/e2e/chaos.py --api "$api" --project "$project" --docker "$DOCKER" \
  --compose "${DC[*]}" --ack-wait "$ack_wait" --timeline "$work/timeline.json" \
  --deadline "$remaining" | tee "$work/chaos.log"
chaos_rc=${PIPESTATUS[0]}
set -e

while kill -0 "$client_pid" 2>/dev/null; do
  over_deadline && die "the client did not finish within the deadline (${deadline}s)"
  sleep 0.5
done
client_rc=0
wait "$client_pid" || client_rc=$?
client_pid=""
say "client exited $client_rc: $(tail -n 1 "$work/client.out" | cut -c1-300)"
say "the client followed the job: $(strip_ansi <"$work/client.err" | grep -c 'import progress') progress lines; the others:"
strip_ansi <"$work/client.err" | grep -v 'import progress' | cut -c1-240 | sed 's/^/  /' || true

# -- the timeline -------------------------------------------------------------------
python3 - "$work/timeline.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
print("compose-e2e: timeline of faults (seconds from chaos start; in flight: engines running, done/total)")
for e in t["timeline"]:
    f = e.get("in_flight") or {}
    extra = {k: v for k, v in e.items() if k not in ("t", "fault", "target", "in_flight")}
    print(f"  {e['t']:7.1f}s  {e['fault']:<20} {e['target']:<28} "
          f"running {f.get('running', '-')}, done {f.get('done', '-')}/{f.get('total', '-')}  {json.dumps(extra)}")
print("compose-e2e: what each fault cost")
for c in t["costs"]:
    print(f"  {c['fault']} {c['target']}:")
    for line in c["engines"]:
        print(f"    {line}")
lead = [e for e in t["timeline"] if e["fault"] == "leader-elected"]
for e in lead:
    print(f"  kill-leader: the standby led {e['after_secs']} s after the kill")
PY

# -- the checks ---------------------------------------------------------------------
check "faults struck while engine tasks were in flight, the job was watched to its end" "$chaos_rc"
rc=1
[ "$client_rc" -eq 0 ] && grep -q "imported and verified" "$work/client.out" && rc=0
check "the client (squall import --coordinator) exited 0 with the job verified" "$rc"

job_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job_id"] or "")' "$work/timeline.json")
[ -n "$job_id" ] || die "no job id in the timeline"
# The job's status, from the coordinator that ran it to the end if it still
# holds the summary (a standby answers from etcd, without it).
python3 - "$job_id" "$work/status.json" "http://127.0.0.1:$api1_port" "http://127.0.0.1:$api2_port" <<'PY' ||
import json, sys, urllib.request
job, out, *apis = sys.argv[1:]
found = []
for api in apis:
    try:
        with urllib.request.urlopen(f"{api}/jobs/{job}", timeout=10) as r:
            found.append(json.load(r))
    except OSError as e:
        print(f"  {api}: {e}")
found.sort(key=lambda s: s.get("summary") is None)
if not found:
    sys.exit("no coordinator answered the job's status")
json.dump(found[0], open(out, "w"))
PY
  die "could not read job $job_id's status from either coordinator"
rc=0
python3 - "$work/status.json" <<'PY' || rc=$?
import json, sys
s = json.load(open(sys.argv[1]))
bad = [e for e in s["engines"] if e["state"] != "done"]
redone = [e for e in s["engines"] if e["attempt"] > 1]
print(f"compose-e2e: job {s['job_id']}: verified={s['verified']}, {len(s['engines'])} engines, "
      f"{len(redone)} redone (attempt > 1): " +
      ", ".join(f"{e['table_id']}/{e['engine_id']} x{e['attempt']} by {e['worker']}" for e in redone))
sys.exit(0 if s["verified"] and not bad else 1)
PY
check "the job status says verified, every engine done" "$rc"

# Per table: rows read vs generated; conflicting rows vs the reference; and,
# where the summary is at hand, TiKV's checksum of the table vs the local one.
rc=0
python3 - "$work/generated.json" "$work/ref/summary.txt" "$work/status.json" <<'PY' || rc=$?
import json, re, sys
gen = dict((t, n) for t, n in json.load(open(sys.argv[1]))["tables"])
ref = {}
for line in open(sys.argv[2]):
    m = re.match(r"\s+`(\w+)`\.`(\w+)`: (\d+) rows, .* (\d+) conflicting rows", line)
    if m:
        ref[f"{m[1]}.{m[2]}"] = (int(m[3]), int(m[4]))
status = json.load(open(sys.argv[3]))
got = {t["name"].replace("`", ""): (t["rows"], t["conflicts"]) for t in status["tables"]}
remote = {}
for t in (status.get("summary") or {}).get("tables", []):
    remote[t["name"].replace("`", "")] = t["local"] == t["remote"]
ok = True
for t, n in sorted(gen.items()):
    r, g = ref.get(t), got.get(t)
    good = g is not None and r is not None and g[0] == n and g == r and remote.get(t, True)
    ok &= good
    print(f"  {t}: generated {n} rows; cluster read {g and g[0]}, {g and g[1]} conflicting; "
          f"reference {r and r[0]}, {r and r[1]} conflicting; TiKV checksum "
          f"{ {True: 'equals the local one', False: 'DIFFERS'}.get(remote.get(t), 'not in this status') }: "
          f"{'ok' if good else 'MISMATCH'}")
sys.exit(0 if ok and len(got) == len(gen) else 1)
PY
check "rows read equal the generated rows, conflicting rows the reference's, per table" "$rc"

say "exporting every table from the cluster's TiKV (squall export --format kv, inside the network)"
: >"$work/kv.jsonl"
for table in $tables; do
  over_deadline && die "out of time (E2E_DEADLINE=${deadline}s) before exporting $table"
  timeout $((deadline - (SECONDS - start))) "${DC[@]}" run --rm -T --no-deps --name "$project-export" squall \
    export --pd pd:2379 --table "$table" --source /data/source/shop --format kv 2>>"$work/export.log" |
    python3 docker/e2e/digest.py kv "$table" >>"$work/kv.jsonl" ||
    die "exporting $table from the cluster failed: $(strip_ansi <"$work/export.log" | tail -n 3)"
done
rc=0
python3 - "$work/ref/kv.jsonl" "$work/kv.jsonl" <<'PY' || rc=$?
import json, sys
ref = {d["table"]: d for d in map(json.loads, open(sys.argv[1]))}
got = {d["table"]: d for d in map(json.loads, open(sys.argv[2]))}
ok = True
for t in sorted(ref):
    r, g = ref[t], got.get(t, {})
    good = r == g and r["kvs"] > 0
    ok &= good
    print(f"  {t}: cluster {g.get('rows')} rows, {g.get('kvs')} KVs, sha256 {g.get('sha256', '')[:16]}; "
          f"reference {r['rows']} rows, {r['kvs']} KVs, sha256 {r['sha256'][:16]}: {'ok' if good else 'MISMATCH'}")
sys.exit(0 if ok and len(got) == len(ref) else 1)
PY
check "TiKV holds the reference's rows and KVs, byte for byte (SHA-256 of every KV), per table" "$rc"

python3 docker/e2e/digest.py conflicts "$work/out/shop/conflicts" >"$work/conflicts.jsonl"
if diff "$work/ref/conflicts.jsonl" "$work/conflicts.jsonl" >"$work/conflicts.diff"; then
  check "conflict reports equal the reference's ($(python3 -c 'import json,sys; print(sum(json.loads(l)["rows"] for l in open(sys.argv[1])))' "$work/conflicts.jsonl") rows in $(wc -l <"$work/conflicts.jsonl") files)" 0
else
  check "conflict reports equal the reference's" 1 "$(head -c 600 "$work/conflicts.diff")"
fi

# -- down -----------------------------------------------------------------------------
say "tearing down"
rc=0
teardown || rc=$?
check "teardown left no container, volume, network or image, and stopped its dockerd" "$rc"

say "$((SECONDS - start)) s in all"
echo "compose-e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
