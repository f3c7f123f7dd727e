#!/usr/bin/env bash
# The whole test suite: formatting and lints, then unit, golden, property and fixture tests of
# every crate, then the end-to-end tests that drive the real binaries and the agent's image (which
# need them built first), the dashboard's browser tests among them.
set -euo pipefail
cd "$(dirname "$0")/.."
# The habits first: formatting and lints, with warnings as errors.
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
# The dashboard's built assets are committed (so cargo needs no Node): rebuild them from the
# sources and refuse to go on when they differ from what is committed.
(cd ui && npm run --silent build >/dev/null)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [ -n "$(git status --porcelain -- ui/dist)" ]; then
  git status --short -- ui/dist >&2
  echo "ui/dist differs from a build of ui/src: commit the rebuilt assets (cd ui && npm run build)" >&2
  exit 1
fi
cargo build --workspace --bins
# The agent image the container tests run (the release agent on a cached Debian base).
bash capture-agent/image.sh
cargo test --workspace --no-fail-fast
