#!/usr/bin/env bash
# Fuzzes ferry's parsers and sessions with cargo-fuzz (libFuzzer, with the
# sanitizers that ship with it) on the stable toolchain.
#
#   scripts/fuzz.sh                 every target for 10 s (the smoke run of scripts/test.sh)
#   scripts/fuzz.sh 3600            every target for an hour
#   scripts/fuzz.sh 600 capture     one target for 10 minutes
#   RUNS=10000000 scripts/fuzz.sh 3600   every target until 10 M runs (or an hour)
#
# Seeds are read from fuzz/corpus/TARGET (committed: protocol vectors, the
# example captures, a gzip-compressed one, bytes far ahead in sequence
# space, a paced download with zero windows cut by a snap length); what the fuzzer learns goes to target/fuzz/corpus/TARGET,
# crashes to fuzz/artifacts/TARGET. Installs cargo-fuzz if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-10}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(messages server_session client_session names_and_masks capture exchange tls keylog)
fi

if ! command -v cargo-fuzz >/dev/null; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
# cargo-fuzz needs nightly flags (sanitizers); the stable compiler has them.
export RUSTC_BOOTSTRAP=1

mkdir -p target/fuzz
for target in "${TARGETS[@]}"; do
    mkdir -p "target/fuzz/corpus/$target"
    echo "fuzz: $target for ${SECONDS_EACH}s" >&2
    log="target/fuzz/$target.log"
    if ! cargo fuzz run --fuzz-dir fuzz --target-dir target/fuzz "$target" \
        "target/fuzz/corpus/$target" "fuzz/corpus/$target" \
        -- -max_total_time="$SECONDS_EACH" ${RUNS:+-runs="$RUNS"} -print_final_stats=1 > "$log" 2>&1; then
        tail -40 "$log" >&2
        echo "fuzz: $target failed (a crash is kept in fuzz/artifacts/$target)" >&2
        exit 1
    fi
    grep -aE "stat::number_of_executed_units" "$log" | sed "s/^/fuzz: $target /" >&2 || true
done
