#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600) from the committed seeds.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); nightly features come from RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
export RUSTC_BOOTSTRAP=1
for target in decode reassembly dissectors; do
    mkdir -p "corpus/$target"
    echo "== $target for ${seconds}s"
    # Findings go to artifacts/<target>/; the committed seeds in seeds/<target>/ are read, not written.
    cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048
done
