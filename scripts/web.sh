#!/usr/bin/env bash
# Builds the teaching page into web/dist/index.html: ferry's core compiled
# to WebAssembly (wasm-bridge/, crate ferry-wasm), its wasm-bindgen
# bindings, the page (web/src/) and the example captures, all in one file
# that works opened straight from disk. Installs what it needs: the wasm32
# target and wasm-bindgen-cli at exactly the version of the wasm-bindgen
# crate in Cargo.lock.
#
#   scripts/web.sh               build web/dist/index.html
#   scripts/web.sh --serve [P]   build, then serve web/dist on 127.0.0.1:P (default 8000)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'web: %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding rustup target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi
# The CLI must match the crate exactly, or the bindings it writes do not fit.
WANT=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
HAVE=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$HAVE" != "$WANT" ]; then
    log "installing wasm-bindgen-cli $WANT (found: ${HAVE:-none}): compiled once, from source;"
    log "this takes about 5 minutes on 2 idle cores (nearly 20 on a busy machine)"
    # Not --locked: its lock file pins a webpki-roots release some registry
    # mirrors lack; cargo picks versions that satisfy its manifest instead.
    cargo install wasm-bindgen-cli --version "$WANT"
fi

cargo build -p ferry-wasm --target wasm32-unknown-unknown --release --locked
PKG=target/web/pkg
rm -rf "$PKG"
wasm-bindgen --target web --no-typescript --out-dir "$PKG" \
    target/wasm32-unknown-unknown/release/ferry_wasm.wasm
# No wasm-opt: Debian's binaryen (108) breaks the externref table these
# bindings initialize, and saved only 6% of the gzipped size when it did run.
node web/build.mjs "$PKG" web/dist/index.html

if [ "${1:-}" = "--serve" ]; then
    PORT=${2:-8000}
    log "serving web/dist on http://127.0.0.1:$PORT/ (Ctrl-C stops)"
    exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory web/dist
fi
