# etcd for machines with no registry (scripts/compose-images.sh): Debian's
# etcd binary (context: its directory) over the local base. With a registry,
# docker-compose.yml uses the official etcd image instead.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10003 etcd \
 && useradd --system --uid 10003 --gid 10003 --home-dir /data --shell /usr/sbin/nologin etcd \
 && mkdir -p /data && chown etcd:etcd /data && chmod 0700 /data
COPY etcd /usr/local/bin/etcd
COPY healthcheck.sh /usr/local/bin/squall-healthcheck
USER etcd
EXPOSE 2379 2380
# No entrypoint, as in the official image: the compose file names the binary.
CMD ["etcd", "--data-dir", "/data"]
