# nats-server for machines with no registry (scripts/compose-images.sh):
# Debian's nats-server binary (context: its directory) over the local base.
# With a registry, docker-compose.yml uses the official nats image instead.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10002 nats \
 && useradd --system --uid 10002 --gid 10002 --home-dir /data --shell /usr/sbin/nologin nats \
 && mkdir -p /data && chown nats:nats /data
COPY nats-server /usr/local/bin/nats-server
COPY healthcheck.sh /usr/local/bin/squall-healthcheck
USER nats
EXPOSE 4222 8222
# No entrypoint, as in the official image: the compose file names the binary.
CMD ["nats-server", "--jetstream", "--store_dir", "/data", "--http_port", "8222"]
