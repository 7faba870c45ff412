#!/usr/bin/env bash
# Measures the capture decoder on a large capture (about 100 MB of real
# downloads and listings, recorded by scripts/make-captures.sh --big if
# missing), in one run, and prints the ratios the teaching page issue set:
#   - native `ferry decode` against md5sum of the same file (throughput);
#   - the core in WebAssembly in Chromium against native;
#   - picking the file in the page to the first ladder on screen;
#   - the size of the .wasm (raw and gzip).
# Not a test: nothing here passes or fails on speed.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
BIG=${BIG:-target/captures/big.pcap}
scripts/setup.sh
cargo build --release --locked -p ferry --bin ferry >&2
[ -f "$BIG" ] || FERRY=target/release/ferry scripts/make-captures.sh --big "$BIG"
[ -f web/dist/index.html ] || scripts/web.sh >&2

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
WASM_MS=$(tr ' ' '\n' <<< "$PAGE" | awk -F= '$1 == "wasm_decode_ms" {print $2}')
LADDER_MS=$(tr ' ' '\n' <<< "$PAGE" | awk -F= '$1 == "first_ladder_ms" {print $2}')
RAW=$(stat -c %s target/web/pkg/ferry_wasm_bg.wasm)
GZ=$(gzip -9c target/web/pkg/ferry_wasm_bg.wasm | wc -c)
SIZE=$(stat -c %s "$BIG")
python3 - "$SIZE" "$MD5" "$NATIVE" "$NATIVE_JSON" "$WASM_MS" "$LADDER_MS" "$RAW" "$GZ" <<'PY'
import sys
size, md5, native, native_json, wasm_ms, ladder_ms, raw, gz = map(float, sys.argv[1:])
mb = size / 1e6
print(f"capture: {mb:.1f} MB ({sys.argv[1]} bytes), best of runs")
print(f"  md5sum                      {md5:.3f} s   {mb / md5:7.0f} MB/s")
print(f"  ferry decode (native)       {native:.3f} s   {mb / native:7.0f} MB/s   {md5 / native:.2f}x md5sum's throughput")
print(f"  ferry decode --json         {native_json:.3f} s")
print(f"  core in wasm, Chromium      {wasm_ms / 1000:.3f} s   {mb / (wasm_ms / 1000):7.0f} MB/s   {native / (wasm_ms / 1000):.2f}x native (decode only, median)")
print(f"  page: file picked to first ladder on screen   {ladder_ms / 1000:.3f} s (median)")
print(f"  .wasm: {raw / 1024:.0f} KiB raw, {gz / 1024:.0f} KiB gzip")
PY
