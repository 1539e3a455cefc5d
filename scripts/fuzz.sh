#!/usr/bin/env bash
# Runs every fuzz target for a given time each (seconds, default 600), one after the other.
#
#   scripts/fuzz.sh            # 10 minutes per target
#   scripts/fuzz.sh 60         # a minute per target
#   scripts/fuzz.sh 600 api_key phi_sealed   # only these targets
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); its nightly-only flags are enabled
# on the stable toolchain with RUSTC_BOOTSTRAP=1.
# A crash stops the run and leaves its input under fuzz/artifacts/<target>/; turn it into
# a regression test (see fuzz/regressions/README.md) before fixing it.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list)
fi

for target in "${targets[@]}"; do
    echo "== fuzzing ${target} for ${seconds}s"
    mkdir -p "fuzz/corpus/${target}"
    # Seed inputs committed under fuzz/regressions/<target>/ are replayed first.
    seeds=()
    if [ -d "fuzz/regressions/${target}" ]; then
        seeds=("fuzz/regressions/${target}")
    fi
    RUSTC_BOOTSTRAP=1 cargo fuzz run "${target}" "fuzz/corpus/${target}" "${seeds[@]}" -- \
        -max_total_time="${seconds}" -max_len=4096 -timeout=10 -rss_limit_mb=2048
done
echo "== every target ran ${seconds}s without a crash"
