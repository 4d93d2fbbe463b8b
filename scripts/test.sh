#!/usr/bin/env bash
# Runs every check CI runs: setup, formatting, clippy, and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast --failure-output final
  cargo test --workspace --doc --locked
else
  cargo test --workspace --locked --no-fail-fast
fi
echo "== fuzz targets compile (running them needs nightly cargo-fuzz)"
cargo check --manifest-path fuzz/Cargo.toml --bins --locked
echo "== all checks passed"
