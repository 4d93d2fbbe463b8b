#!/usr/bin/env bash
# Installs what building and testing Squall needs, only when it is missing.
# Idempotent: a second run changes nothing and takes a second.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
have clang || need_apt+=(clang)
[ -e /usr/lib/llvm-14/lib/libclang.so ] || ls /usr/lib/llvm-*/lib/libclang*.so >/dev/null 2>&1 || need_apt+=(libclang-dev)
have nats-server || need_apt+=(nats-server)
have etcd || need_apt+=(etcd-server)
# etcd-client generates its gRPC code from .proto files at build time with protoc.
have protoc || need_apt+=(protobuf-compiler)
have curl || need_apt+=(curl)

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
