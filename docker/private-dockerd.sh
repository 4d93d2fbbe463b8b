# shellcheck shell=bash
# Sourced by scripts/compose-e2e.sh (and usable by hand): a dockerd of our
# own, with its own socket, data root and exec root under one directory, so
# it shares nothing with any other docker on the machine and is stopped by
# its pid.
#
#   private_dockerd_start DIR    start it (DIR/docker.sock, DIR/data, DIR/exec,
#                                DIR/dockerd.log); sets DOCKER_HOST, DOCKERD_PID
#   private_dockerd_stop         SIGTERM to that pid, up to 60 s, then SIGKILL
#
# The daemon has no default bridge, touches no iptables rules and leaves IP
# forwarding alone: containers reach each other on the networks compose
# creates (one Linux bridge each) and reach nothing outside; published ports
# go through docker-proxy on the host's loopback. Its networks come from
# 10.213.0.0/16 (override: SQUALL_DOCKER_POOL), apart from a host docker's
# 172.17+.

DOCKERD_PID=""
DOCKERD_DIR=""

# Debian's client speaks the engine's API (20.10, API 1.41); a newer client
# on PATH is told to speak 1.41.
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"

private_dockerd_start() {
  DOCKERD_DIR="$1"
  mkdir -p "$DOCKERD_DIR/data" "$DOCKERD_DIR/exec"
  local sock="$DOCKERD_DIR/docker.sock"
  # Unix socket paths are limited to 107 bytes (containerd's lives under exec/).
  if [ "${#DOCKERD_DIR}" -gt 60 ]; then
    echo "private-dockerd: $DOCKERD_DIR is too long a path for the daemon's sockets; use a shorter one" >&2
    return 1
  fi
  if ! command -v dockerd >/dev/null 2>&1 && [ ! -x /usr/sbin/dockerd ]; then
    echo "private-dockerd: dockerd is not installed (scripts/setup.sh compose installs Debian's docker.io)" >&2
    return 1
  fi
  PATH="$PATH:/usr/sbin" dockerd \
    --host "unix://$sock" \
    --data-root "$DOCKERD_DIR/data" \
    --exec-root "$DOCKERD_DIR/exec" \
    --pidfile "$DOCKERD_DIR/dockerd.pid" \
    --bridge none --iptables=false --ip-forward=false --ip-masq=false \
    --storage-driver overlay2 \
    --default-address-pool "base=${SQUALL_DOCKER_POOL:-10.213.0.0/16},size=24" \
    >"$DOCKERD_DIR/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST="unix://$sock"
  local deadline=$((SECONDS + 60))
  until "$DOCKER" version >/dev/null 2>&1; do
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      echo "private-dockerd: dockerd exited at start; end of $DOCKERD_DIR/dockerd.log:" >&2
      tail -n 20 "$DOCKERD_DIR/dockerd.log" >&2
      DOCKERD_PID=""
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "private-dockerd: dockerd (pid $DOCKERD_PID) did not answer on $sock within 60 s; end of its log:" >&2
      tail -n 20 "$DOCKERD_DIR/dockerd.log" >&2
      private_dockerd_stop
      return 1
    fi
    sleep 0.2
  done
}

private_dockerd_stop() {
  [ -n "$DOCKERD_PID" ] || return 0
  if kill -0 "$DOCKERD_PID" 2>/dev/null; then
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    local deadline=$((SECONDS + 60))
    while kill -0 "$DOCKERD_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "$DOCKERD_PID" 2>/dev/null; then
      echo "private-dockerd: dockerd (pid $DOCKERD_PID) ignored SIGTERM for 60 s; killing it" >&2
      kill -KILL "$DOCKERD_PID" 2>/dev/null || true
    fi
  fi
  DOCKERD_PID=""
}
