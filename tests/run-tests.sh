#!/usr/bin/env bash
# The whole test suite: unit, golden, property and fixture tests of every crate, then the
# end-to-end tests that drive the real binaries (which need them built first).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --bins
cargo test --workspace --no-fail-fast
