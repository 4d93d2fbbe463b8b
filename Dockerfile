# Squall's image: the `squall` binary (coordinator, worker, import client and
# tikv-sim in one) on a slim Debian.
#
#   docker build -t squall .                         # build stage compiles it (needs a registry for rust:, debian:)
#   docker build --target prebuilt -t squall .       # or take a binary built on the host:
#        --build-arg SQUALL_BINARY=target/release/squall   (a path inside the build context)
#
# scripts/compose-images.sh builds the `prebuilt` target on machines with no
# registry, over a Debian base it makes itself (BASE_IMAGE).
#
# The stages are ordered so that `--target prebuilt` never touches the Rust
# stage: the classic builder (no BuildKit) builds every stage up to its
# target.

ARG BASE_IMAGE=debian:bookworm-slim
ARG RUST_IMAGE=rust:1.95-bookworm

# What every Squall image has: an unprivileged user, its state directory,
# the health-check helper. No package installs, so this stage needs no
# network and works over any Debian-like base.
FROM ${BASE_IMAGE} AS base
RUN groupadd --system --gid 10001 squall \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/squall --shell /usr/sbin/nologin squall \
 && mkdir -p /var/lib/squall /data/source /data/output \
 && chown squall:squall /var/lib/squall /data/output
COPY docker/healthcheck.sh /usr/local/bin/squall-healthcheck
WORKDIR /var/lib/squall
# Coordinator API, web page and metrics (squall coordinator --listen).
EXPOSE 8287

# The runtime from a binary built outside (glibc: built on Debian bookworm or
# older; strip it first, the image needs no debug info).
FROM base AS prebuilt
ARG SQUALL_BINARY=target/release/squall
COPY ${SQUALL_BINARY} /usr/local/bin/squall
USER squall
ENTRYPOINT ["squall"]
CMD ["--help"]

# Build stage: clang/libclang for RocksDB's bindings, protoc for the etcd
# client's gRPC code (as scripts/setup.sh installs on a developer machine).
FROM ${RUST_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang libclang-dev protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin squall \
 && strip --strip-debug target/release/squall \
 && cp target/release/squall /usr/local/bin/squall

# The default target: the runtime with the binary the build stage made.
FROM base AS runtime
COPY --from=build /usr/local/bin/squall /usr/local/bin/squall
USER squall
ENTRYPOINT ["squall"]
CMD ["--help"]
