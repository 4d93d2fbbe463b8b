# Sourced by the other scripts: one persistent target dir outside the checkout,
# so a fresh clone (CI) rebuilds incrementally. One per checkout path: cargo
# keeps a crate's build when only its directory changed, and tests that find
# files through CARGO_MANIFEST_DIR would then read another checkout's tree.
squall_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/squall-targets/$(printf '%s' "$squall_root" | tr '/' '_')}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
