# Sourced by the other scripts: one persistent target dir outside the checkout,
# so a fresh clone (CI) rebuilds incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/squall-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
