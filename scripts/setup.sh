#!/usr/bin/env bash
# Installs what building and testing Squall needs, only when it is missing.
# Idempotent: a second run changes nothing and takes a second.
set -euo pipefail
#
#   scripts/setup.sh           what building and testing needs
#   scripts/setup.sh compose   what the docker compose scripts need, only that
#                              (scripts/compose-images.sh, scripts/compose-e2e.sh)

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }

# Debian's docker engine (20.10; the scripts start their own dockerd), its
# docker-compose (1.29), debootstrap for the base image, and the servers the
# images carry (nats-server, etcd). Nothing here starts a daemon.
setup_compose() {
  local need=()
  [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] || need+=(docker.io)
  have docker-compose || need+=(docker-compose)
  have debootstrap || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
  have nats-server || need+=(nats-server)
  have etcd || need+=(etcd-server)
  have strip || need+=(binutils)
  have python3 || need+=(python3)
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${need[@]}" >/dev/null
  fi
  echo "setup: compose prerequisites ok"
}

if [ "${1:-}" = compose ]; then
  setup_compose
  exit 0
fi
have clang || need_apt+=(clang)
[ -e /usr/lib/llvm-14/lib/libclang.so ] || ls /usr/lib/llvm-*/lib/libclang*.so >/dev/null 2>&1 || need_apt+=(libclang-dev)
have nats-server || need_apt+=(nats-server)
have etcd || need_apt+=(etcd-server)
# etcd-client generates its gRPC code from .proto files at build time with protoc.
have protoc || need_apt+=(protobuf-compiler)
have curl || need_apt+=(curl)
# The web page test drives headless Chromium through WebDriver (chromedriver).
have chromium || need_apt+=(chromium)
have chromedriver || need_apt+=(chromium-driver)
# The SQL-step tests ([tidb] host) run a MariaDB server of their own
# (tests/src/mariadb.rs): Debian's, for what is plain MySQL protocol.
{ [ -x /usr/sbin/mariadbd ] || have mariadbd; } && have mariadb-install-db || need_apt+=(mariadb-server)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! have cargo; then
  echo "setup: cargo is missing; install Rust (https://rustup.rs) and rerun" >&2
  exit 1
fi

# The kvproto conformance test compares our .proto subset with upstream's, as
# shipped in the tikv-client 0.4.0 crate; `cargo info` fetches and unpacks it.
registry_src="${CARGO_HOME:-$HOME/.cargo}/registry/src"
if ! ls -d "$registry_src"/*/tikv-client-0.4.0/proto >/dev/null 2>&1; then
  echo "setup: fetching tikv-client 0.4.0 (upstream kvproto files)"
  (cd /tmp && cargo info tikv-client@0.4.0 >/dev/null)
fi
# The s3:// source tests run against moto_server, an S3-compatible server on
# loopback (PyPI `moto[server]`).
if ! have moto_server; then
  echo "setup: installing moto[server] (S3-compatible test server)"
  pip3 install --quiet 'moto[server]'
fi
echo "setup: ok"
