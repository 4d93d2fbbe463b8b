#!/usr/bin/env bash
# A local Squall cluster: nats-server (JetStream), etcd, tikv-sim (`squall
# sim`), one `squall coordinator` and N `squall worker` processes, each on a
# free loopback port. Logs, data and pids live under one directory.
#
#   scripts/cluster.sh up [--workers N]   start everything (default 2 workers)
#   scripts/cluster.sh add-worker         start one more worker
#   scripts/cluster.sh kill-worker ID     stop worker ID (SIGTERM: it hands its tasks back)
#   scripts/cluster.sh status             what runs, and where
#   scripts/cluster.sh down               stop everything (by pid); logs and data are kept
#                                         until the next `up`
#
#   SQUALL_CLUSTER_DIR=DIR   where it all lives (default /tmp/squall-cluster)
#   SQUALL_BIN=PATH          the squall binary (default: release build, else debug, else build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

dir="${SQUALL_CLUSTER_DIR:-/tmp/squall-cluster}"
env_file="$dir/cluster.env"
say() { echo "cluster: $*"; }
die() { echo "cluster: $*" >&2; exit 1; }

squall_bin() {
  if [ -n "${SQUALL_BIN:-}" ]; then echo "$SQUALL_BIN"; return; fi
  for p in "$CARGO_TARGET_DIR/release/squall" "$CARGO_TARGET_DIR/debug/squall"; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  say "building squall (release)" >&2
  cargo build --release --locked --bin squall >&2
  echo "$CARGO_TARGET_DIR/release/squall"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
alive() { [ -f "$dir/pids/$1.pid" ] && kill -0 "$(cat "$dir/pids/$1.pid")" 2>/dev/null; }

# start NAME CMD...: in the background, output to logs/NAME.log, pid to pids/NAME.pid.
start() {
  local name="$1"; shift
  "$@" >"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/pids/$name.pid"
}

# wait_until NAME SECONDS CHECK...: polls CHECK every 0.1 s; fails when NAME
# dies or the deadline passes, showing the end of its log.
wait_until() {
  local name="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then
      echo "cluster: $name exited; end of $dir/logs/$name.log:" >&2; tail -n 30 "$dir/logs/$name.log" >&2; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "cluster: $name not ready after ${secs}s; end of its log:" >&2; tail -n 30 "$dir/logs/$name.log" >&2; exit 1
    fi
    sleep 0.1
  done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
healthy() { curl -fsS --max-time 2 "http://$1/healthz"; }

# stop NAME: SIGTERM, up to 30 s, then SIGKILL.
stop() {
  local name="$1" pid
  [ -f "$dir/pids/$name.pid" ] || return 0
  pid="$(cat "$dir/pids/$name.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) ignored SIGTERM for 30 s; killing it"; kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $name (pid $pid)"
  fi
  rm -f "$dir/pids/$name.pid"
}

add_worker() {
  . "$env_file"
  local n=1
  while [ -e "$dir/logs/w$n.log" ]; do n=$((n + 1)); done
  local id="w$n"
  mkdir -p "$dir/data/$id"
  start "$id" "$SQUALL" worker --etcd "$ETCD" --nats "$NATS" --id "$id" --sorted-kv-dir "$dir/data/$id"
  wait_until "$id" 60 grep -q "worker ready" "$dir/logs/$id.log"
  say "worker $id up (pid $(cat "$dir/pids/$id.pid"), log $dir/logs/$id.log)"
}

cmd_up() {
  local workers=2
  while [ $# -gt 0 ]; do
    case "$1" in
      --workers) workers="${2:?--workers needs a number}"; shift 2 ;;
      *) die "unknown option $1 (up [--workers N])" ;;
    esac
  done
  alive coordinator && die "already up (see: $0 status); run $0 down first"
  command -v nats-server >/dev/null || die "nats-server is missing; run scripts/setup.sh"
  command -v etcd >/dev/null || die "etcd is missing; run scripts/setup.sh"
  local squall; squall="$(squall_bin)"
  # A fresh cluster each time: the ports are new, and jobs left in an old
  # etcd would name an old PD.
  rm -rf "$dir/data" "$dir/logs" "$dir/pids"
  mkdir -p "$dir/logs" "$dir/pids" "$dir/data"
  local nats_port etcd_port peer_port pd_port api_port
  nats_port=$(free_port); etcd_port=$(free_port); peer_port=$(free_port); pd_port=$(free_port); api_port=$(free_port)
  cat >"$env_file" <<VARS
SQUALL="$squall"
NATS="nats://127.0.0.1:$nats_port"
ETCD="http://127.0.0.1:$etcd_port"
PD="127.0.0.1:$pd_port"
API="127.0.0.1:$api_port"
VARS
  . "$env_file"

  say "starting nats-server (JetStream) on $NATS"
  start nats nats-server -js -sd "$dir/data/nats" -a 127.0.0.1 -p "$nats_port"
  wait_until nats 30 port_open "$nats_port"
  say "starting etcd on $ETCD"
  start etcd etcd --name squall --data-dir "$dir/data/etcd" \
    --listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "squall=http://127.0.0.1:$peer_port" --initial-cluster-state new
  wait_until etcd 30 curl -fsS --max-time 2 "$ETCD/health"
  say "starting tikv-sim (PD $PD)"
  start sim "$SQUALL" sim --pd-addr "$PD" --data-dir "$dir/data/sim"
  wait_until sim 60 port_open "$pd_port"
  say "starting the coordinator on http://$API"
  start coordinator "$SQUALL" coordinator --etcd "$ETCD" --nats "$NATS" --listen "$API"
  wait_until coordinator 60 healthy "$API"
  for _ in $(seq 1 "$workers"); do add_worker; done
  cmd_status
  cat <<TXT

Import into it (source and output must be paths every node sees; here, local):
  $SQUALL gen-dump --dataset shop --size 100MiB --out $dir/dump
  $SQUALL import --coordinator http://$API --pd $PD --source $dir/dump --output $dir/out
TXT
}

cmd_status() {
  [ -f "$env_file" ] || die "no cluster in $dir (run: $0 up)"
  . "$env_file"
  echo "cluster in $dir"
  echo "  nats        $NATS"
  echo "  etcd        $ETCD"
  echo "  PD          $PD"
  echo "  coordinator http://$API"
  local f name state
  for f in "$dir"/pids/*.pid; do
    [ -e "$f" ] || continue
    name="$(basename "$f" .pid)"
    if alive "$name"; then state="running"; else state="DEAD"; fi
    printf '  %-12s pid %-8s %-8s log %s\n' "$name" "$(cat "$f")" "$state" "$dir/logs/$name.log"
  done
}

cmd_down() {
  [ -d "$dir/pids" ] || { say "nothing to stop in $dir"; return 0; }
  local f
  for f in "$dir"/pids/w*.pid; do [ -e "$f" ] && stop "$(basename "$f" .pid)"; done
  for name in coordinator sim etcd nats; do stop "$name"; done
  say "down; logs and data kept in $dir"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  add-worker) [ -f "$env_file" ] && alive coordinator || die "no cluster up in $dir"; add_worker ;;
  kill-worker) id="${2:?kill-worker needs a worker id (see: $0 status)}"
    [ -f "$dir/pids/$id.pid" ] || die "no worker $id (see: $0 status)"; stop "$id" ;;
  status) cmd_status ;;
  down) cmd_down ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
