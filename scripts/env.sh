# Sourced by the other scripts: one persistent target dir outside the checkout,
# so a fresh clone (CI) rebuilds incrementally. A fresh clone's files are all
# newer than the cached builds, so its own crates are always rebuilt; a
# checkout whose files are older than another checkout's last build must be
# touched (`find . -name '*.rs' | xargs touch`) or cargo reuses that build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/squall-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
