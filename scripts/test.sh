#!/usr/bin/env bash
# Runs every check of the project, installing what is missing first:
# formatting, clippy (warnings are errors), every test, the wasm build of
# the core, the teaching page linted, built and tested in Chromium, and a short
# fuzzing run. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing what is missing"
scripts/setup.sh

step "formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "no function over 80 lines outside tests (clippy::too_many_lines, clippy.toml)"
cargo clippy --workspace --lib --bins --locked -- -D warnings -W clippy::too_many_lines

step "no source file over 700 lines outside tests (scripts/file-sizes.sh)"
scripts/file-sizes.sh

step "core builds for wasm32-unknown-unknown"
cargo build -p ferry-core --target wasm32-unknown-unknown --locked

step "documentation builds without warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "tests"
cargo test --workspace --locked

step "the page's sources lint clean (ESLint, web/eslint.config.js)"
(cd web && npx --no-install eslint .)

step "the teaching page: scripts/web.sh bundles web/dist/index.html (esbuild)"
scripts/web.sh

step "the page's tests: its pure functions, text tables, wasm against native, and the page in Chromium at four widths"
(cd web && FERRY="$PWD/../target/debug/ferry" node --test tests/*.test.mjs)

step "the server suite again, through a cache (clients must not tell them apart)"
FERRY_TEST_VIA=cache cargo test -p ferry --test server --locked

step "the server suite again, from a bucket of SeaweedFS (--store s3://...)"
FERRY_TEST_STORE=s3 cargo test -p ferry --test server --locked

step "fuzzing smoke run (scripts/fuzz.sh: every target for 10 s; long runs: scripts/fuzz.sh 3600)"
scripts/fuzz.sh 10
