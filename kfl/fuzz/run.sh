#!/usr/bin/env bash
# Fuzzes KFL's parse + check for SECONDS (default 600) from the committed seed corpus.
# Usage: kfl/fuzz/run.sh [SECONDS]
# Needs cargo-fuzz (`cargo install cargo-fuzz`); nightly features come from RUSTC_BOOTSTRAP=1.
# New inputs go to a scratch corpus under fuzz/target so the committed seeds stay as they are;
# a crash is saved under fuzz/artifacts/parse_check/ and makes the script fail.
set -euo pipefail

seconds="${1:-600}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: run \`cargo install cargo-fuzz\`" >&2
    exit 2
fi

work="$here/target/corpus/parse_check"
mkdir -p "$work"
RUSTC_BOOTSTRAP=1 cargo fuzz run parse_check "$work" "$here/corpus/parse_check" -- \
    -max_total_time="$seconds" -max_len=512 -timeout=10 -print_final_stats=1
