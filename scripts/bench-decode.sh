#!/usr/bin/env bash
# Measures the capture decoder on a large capture (about 100 MB of real
# downloads and listings, recorded by scripts/make-captures.sh --big if
# missing), in one run, and prints the ratios the teaching page issue set:
#   - native `ferry decode` against md5sum of the same file (throughput);
#   - the core in WebAssembly in Chromium against native;
#   - picking the file in the page to the first ladder on screen;
#   - the size of the .wasm (raw and gzip);
#   - captures crafted to cost what their headers claim (a byte 256 MiB
#     ahead, 16 such connections, 240,000 holes filled in reverse; written
#     by core/examples/hostile-captures.rs): time and peak memory, native
#     and in the page.
# Not a test: nothing here passes or fails on speed.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
BIG=${BIG:-target/captures/big.pcap}
scripts/setup.sh
cargo build --release --locked -p ferry --bin ferry >&2
[ -f "$BIG" ] || FERRY=target/release/ferry scripts/make-captures.sh --big "$BIG"
# The page as the sources are now (a stale one would measure old code).
scripts/web.sh >&2
# GNU time measures each decode's peak memory.
if [ ! -x /usr/bin/time ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

best() { sort -g | head -1; }
secs() { python3 -c 'import sys,time,subprocess; a=sys.argv[1:]; t=time.perf_counter(); subprocess.run(a, stdout=subprocess.DEVNULL, check=True); print(time.perf_counter()-t)' "$@"; }
cat "$BIG" > /dev/null
: > /tmp/bench-md5; : > /tmp/bench-native
for _ in $(seq "$RUNS"); do
    secs md5sum "$BIG" >> /tmp/bench-md5
    secs target/release/ferry decode "$BIG" >> /tmp/bench-native
done
MD5=$(best < /tmp/bench-md5); NATIVE=$(best < /tmp/bench-native)
NATIVE_JSON=$(secs target/release/ferry decode --json "$BIG")
PAGE=$(node web/bench/decode.mjs "$BIG" "$RUNS")
WASM_MB=$(tr ' ' '\n' <<< "$PAGE" | awk -F= '$1 == "wasm_mb" {print $2}')
WASM_MS=$(tr ' ' '\n' <<< "$PAGE" | awk -F= '$1 == "wasm_decode_ms" {print $2}')
LADDER_MS=$(tr ' ' '\n' <<< "$PAGE" | awk -F= '$1 == "first_ladder_ms" {print $2}')
RAW=$(stat -c %s target/web/pkg/ferry_wasm_bg.wasm)
GZ=$(gzip -9c target/web/pkg/ferry_wasm_bg.wasm | wc -c)
SIZE=$(stat -c %s "$BIG")
python3 - "$SIZE" "$MD5" "$NATIVE" "$NATIVE_JSON" "$WASM_MS" "$LADDER_MS" "$RAW" "$GZ" "$WASM_MB" <<'PY'
import sys
size, md5, native, native_json, wasm_ms, ladder_ms, raw, gz, wasm_mb = map(float, sys.argv[1:])
mb = size / 1e6
print(f"capture: {mb:.1f} MB ({sys.argv[1]} bytes), best of runs")
print(f"  md5sum                      {md5:.3f} s   {mb / md5:7.0f} MB/s")
print(f"  ferry decode (native)       {native:.3f} s   {mb / native:7.0f} MB/s   {md5 / native:.2f}x md5sum's throughput")
print(f"  ferry decode --json         {native_json:.3f} s")
print(f"  core in wasm, Chromium      {wasm_ms / 1000:.3f} s   {mb / (wasm_ms / 1000):7.0f} MB/s   {native / (wasm_ms / 1000):.2f}x native (decode only, median)")
print(f"  page: file picked to first ladder on screen   {ladder_ms / 1000:.3f} s (median)")
print(f"  core's wasm memory after decoding   {wasm_mb:.0f} MB")
print(f"  .wasm: {raw / 1024:.0f} KiB raw, {gz / 1024:.0f} KiB gzip")
PY

# Hostile captures: cost must follow the bytes captured.
HOSTILE=target/captures/hostile
cargo run --release --locked -q -p ferry-core --example hostile-captures -- "$HOSTILE" >&2
echo "hostile captures: native (time, peak RSS) and the page (wasm decode, core's wasm memory)"
for f in far far16 holes; do
    path="$HOSTILE/$f.pcap"
    NATIVE_RUN=$(/usr/bin/time -f '%e s, %M KiB peak RSS' target/release/ferry decode "$path" 2>&1 >/dev/null | tail -1)
    PAGE=$(node web/bench/decode.mjs "$path" 1)
    WASM_MS=$(tr ' ' '\n' <<< "$PAGE" | awk -F= '$1 == "wasm_decode_ms" {print $2}')
    WASM_MB=$(tr ' ' '\n' <<< "$PAGE" | awk -F= '$1 == "wasm_mb" {print $2}')
    printf '  %-11s %9s bytes   native %s   page %s ms, %s MB wasm memory\n' \
        "$f.pcap" "$(stat -c %s "$path")" "$NATIVE_RUN" "$WASM_MS" "$WASM_MB"
done
