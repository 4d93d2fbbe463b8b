#!/usr/bin/env bash
# Builds, with no container registry, every image the compose setup with
# tikv-sim needs (docker-compose.yml + docker/compose.sim.yml +
# docker/compose.local-images.yml):
#
#   squall-base:bookworm  Debian bookworm, debootstrap --variant=minbase, `docker import`ed
#   squall:latest         Dockerfile target `prebuilt`: a squall binary built on this host
#                         (the name docker-compose.yml gives the image it builds;
#                         SQUALL_IMAGE names another, as for docker-compose.yml)
#   squall-nats:local     Debian's nats-server over the base (docker/nats.Dockerfile)
#   squall-etcd:local     Debian's etcd over the base (docker/etcd.Dockerfile)
#
# A machine with a registry never needs this: `docker compose up --build`
# builds squall from the Dockerfile and pulls the rest.
#
#   scripts/compose-images.sh [--bin PATH] [--rebuild-base]
#
#   --bin PATH / SQUALL_BIN   the squall binary (default: release build, else
#                             debug, in $CARGO_TARGET_DIR); glibc, built on
#                             bookworm or older
#   --rebuild-base            debootstrap again even if a cached base exists
#   DOCKER_HOST               the daemon to build in (default: docker's own)
#   SQUALL_COMPOSE_CACHE      where the base root filesystem tarball is kept
#                             between runs (default /var/tmp/squall-compose-cache;
#                             refreshed after 7 days); debootstrap takes ~1 min
#   SQUALL_DEBIAN_MIRROR      default http://deb.debian.org/debian
#
# Builds run with --network none: nothing is fetched while building images.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

say() { echo "compose-images: $*"; }
die() { echo "compose-images: $*" >&2; exit 1; }

bin="${SQUALL_BIN:-}"
rebuild_base=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="${2:?--bin needs a path}"; shift 2 ;;
    --rebuild-base) rebuild_base=1; shift ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

scripts/setup.sh compose >/dev/null
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
"$DOCKER" version >/dev/null 2>&1 ||
  die "no docker daemon answers at ${DOCKER_HOST:-the default socket}; start one (scripts/compose-e2e.sh starts its own) or set DOCKER_HOST"

if [ -z "$bin" ]; then
  for p in "$CARGO_TARGET_DIR/release/squall" "$CARGO_TARGET_DIR/debug/squall"; do
    [ -x "$p" ] && { bin="$p"; break; }
  done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  die "no squall binary (build one: cargo build --release --bin squall, or pass --bin PATH)"
fi

BASE=squall-base:bookworm
LABEL="org.squall.built-by=compose-images"
cache="${SQUALL_COMPOSE_CACHE:-/var/tmp/squall-compose-cache}"
mirror="${SQUALL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="$(mktemp -d /var/tmp/squall-images.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The base: a minbase root filesystem (what debian:bookworm-slim is made
# of), docs and apt lists dropped. The tarball is cached: a week-old one is
# made again so security updates come in.
base_tarball() {
  local tar="$cache/bookworm-minbase.tar"
  if [ "$rebuild_base" -eq 0 ] && [ -s "$tar" ] && [ -n "$(find "$tar" -mtime -7)" ]; then
    say "base root filesystem from the cache ($tar)" >&2
    echo "$tar"; return
  fi
  local root="$work/rootfs" sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "debootstrap --variant=minbase bookworm from $mirror (about a minute)" >&2
  local t0=$SECONDS
  if ! $sudo debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    die "debootstrap failed (log above); is $mirror reachable? set SQUALL_DEBIAN_MIRROR"
  fi
  $sudo rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  mkdir -p "$cache"
  $sudo tar -C "$root" --numeric-owner -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  $sudo rm -rf "$root"
  say "base root filesystem made in $((SECONDS - t0)) s ($(du -h "$tar" | cut -f1))" >&2
  echo "$tar"
}

build_base() {
  if [ "$rebuild_base" -eq 0 ] && "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
    say "$BASE present"; return
  fi
  local tar; tar="$(base_tarball)"
  "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL $LABEL" \
    "$tar" "$BASE" >/dev/null
  say "$BASE imported"
}

# build NAME DOCKERFILE CONTEXT [ARGS...]
build() {
  local name="$1" file="$2" ctx="$3"; shift 3
  local t0=$SECONDS
  if ! "$DOCKER" build --network none --label "$LABEL" --build-arg "BASE_IMAGE=$BASE" \
    -f "$file" -t "$name" "$@" "$ctx" >"$work/build.log" 2>&1; then
    tail -n 30 "$work/build.log" >&2
    die "building $name failed (end of the build log above)"
  fi
  say "$name built in $((SECONDS - t0)) s"
}

build_base

# squall: the binary, stripped of debug info (the image stays ~40 MB), in a
# context of its own: the Dockerfile's `prebuilt` target takes it from there.
mkdir -p "$work/squall/docker"
cp "$bin" "$work/squall/squall"
strip --strip-debug "$work/squall/squall"
cp docker/healthcheck.sh "$work/squall/docker/healthcheck.sh"
say "squall binary: $bin ($("$bin" --version 2>/dev/null || echo 'version unknown'))"
build "${SQUALL_IMAGE:-squall:latest}" Dockerfile "$work/squall" --target prebuilt --build-arg SQUALL_BINARY=squall

for server in nats-server etcd; do
  path="$(command -v "$server")" || die "$server is not installed (scripts/setup.sh compose)"
  ctx="$work/$server"
  mkdir -p "$ctx"
  cp "$path" "$ctx/$server"
  cp docker/healthcheck.sh "$ctx/healthcheck.sh"
  case "$server" in
    nats-server) build squall-nats:local docker/nats.Dockerfile "$ctx" ;;
    etcd) build squall-etcd:local docker/etcd.Dockerfile "$ctx" ;;
  esac
done

"$DOCKER" images --filter "label=$LABEL" --format '  {{.Repository}}:{{.Tag}}  {{.Size}}'
