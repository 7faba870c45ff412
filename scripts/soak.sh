#!/usr/bin/env bash
# A bounded soak run: a ferry server under mixed load (every op, logins,
# uploads checked byte for byte by downloading them again) for MINUTES,
# printing every 10 s the server's RSS, its open descriptors, the p99
# latency and any checksum mismatch. Exits non-zero on a failure or a
# mismatch. Not a test: run it by hand (30 minutes for a release).
#
#   scripts/soak.sh            2 minutes, 16 clients
#   scripts/soak.sh 30 32      30 minutes, 32 clients
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${1:-2}
CLIENTS=${2:-16}
cargo build --release --locked -p ferry --bin ferry --example ferry-soak >&2
FERRY=target/release/ferry
WORK=$(mktemp -d /tmp/ferry-soak.XXXXXX)
cleanup() { kill "${SERVER:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

mkdir -p "$WORK/root/public"
FERRY_PASSWORD=soak "$FERRY" user add soaker --root "$WORK/root" 2> /dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Every client uploads from 127.0.0.1 without a login and replaces its own
# files: quotas out of the way, and --public-overwrite.
RUST_LOG=warn "$FERRY" serve "$PORT" --root "$WORK/root" --max-connections 1024 --public-overwrite \
    --quota-files 100000000 --quota-size 100TiB \
    --quota-total-files 100000000 --quota-total-size 100TiB \
    > /dev/null 2> "$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.05; done
echo "soak: $CLIENTS clients for $MINUTES min against pid $SERVER" >&2
target/release/examples/ferry-soak "127.0.0.1:$PORT" $((MINUTES * 60)) "$SERVER" soaker soak -c "$CLIENTS"
