#!/usr/bin/env bash
# Installs what the project's checks need on a fresh machine: the Rust
# components and targets. Safe to run again: each step checks first.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }

# Rust pieces: formatting, lints, and the WebAssembly target the core and the
# browser bridge build for.
for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^${component}"; then
        log "adding rustup component ${component}"
        rustup component add "${component}"
    fi
done
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding rustup target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

# Debian packages the tests use: tcpdump records real captures for the
# capture decoder's end-to-end test.
missing=()
command -v tcpdump >/dev/null || missing+=(tcpdump)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
