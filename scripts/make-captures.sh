#!/usr/bin/env bash
# Records real ferry conversations with tcpdump on the loopback interface:
#   OUTDIR/tour.pcap    every op: LIST, DOWNLOAD, UPLOAD, MGET, a missing
#                       file, AUTH (right and wrong password)
#   OUTDIR/resume.pcap  a download interrupted by Ctrl-C, then resumed with op 40
#   OUTDIR/errors.pcap  an unknown op and a hostile name sent by hand
#   OUTDIR/tls-tour.pcap, OUTDIR/tls-tour.keys  the tour's ops again over TLS,
#                       with the key log the client wrote (SSLKEYLOGFILE)
# Usage: scripts/make-captures.sh [OUTDIR]   (default docs/captures)
#        scripts/make-captures.sh --big [FILE] (default target/captures/big.pcap)
#   --big records about 100 MB of real downloads and listings, for measuring
#   the decoder (`scripts/bench-decode.sh`); it is not committed.
# Environment: FERRY (the binary; built if unset), PORT (default 20000),
# TLS_PORT (default 20443).
# Needs root (tcpdump) and writes OUTDIR/files.md5 with the sample files' MD5s.
set -euo pipefail
# A FERRY given relative to the caller's folder, resolved before moving.
if [ -n "${FERRY:-}" ] && [ "${FERRY#/}" = "$FERRY" ] && [ "${FERRY#*/}" != "$FERRY" ]; then
    FERRY=$(cd "$(dirname "$FERRY")" && pwd)/$(basename "$FERRY")
fi
cd "$(dirname "$0")/.."

BIG=""
if [ "${1:-}" = "--big" ]; then
    BIG=${2:-target/captures/big.pcap}
    mkdir -p "$(dirname "$BIG")"
    BIG=$(cd "$(dirname "$BIG")" && pwd)/$(basename "$BIG")
    set -- "$(dirname "$BIG")"
fi
OUT=$(mkdir -p "${1:-docs/captures}" && cd "${1:-docs/captures}" && pwd)
PORT=${PORT:-20000}
TLS_PORT=${TLS_PORT:-20443}
if [ -z "${FERRY:-}" ]; then
    cargo build -q -p ferry
    FERRY=$PWD/target/debug/ferry
fi
command -v tcpdump >/dev/null || { echo "make-captures: tcpdump is missing (scripts/setup.sh installs it)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/ferry-captures.XXXXXX)
SERVER=""
DUMP=""
cleanup() {
    [ -n "$DUMP" ] && kill "$DUMP" 2>/dev/null || true
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

# Deterministic sample files, small so the captures stay small.
ROOT=$WORK/root
mkdir -p "$ROOT/public/docs" "$WORK/client" "$WORK/tls-client"
printf 'Hello from ferry!\n' > "$ROOT/public/hello.txt"
seq 1 1500 > "$ROOT/public/docs/numbers.txt"
printf 'op 10 DOWNLOAD, 20 LIST, 30 UPLOAD, 40 RESUME, 50 MGET, 60 AUTH\n' > "$ROOT/public/docs/ops.txt"
seq 1 4000 | sed 's/$/ ferry sample line/' > "$ROOT/public/sample.txt"
FERRY_PASSWORD=secret "$FERRY" user add alice --root "$ROOT" 2>/dev/null
printf 'alice private notes\n' > "$ROOT/private/alice/notes.txt"
printf 'uploaded by the client\n' > "$WORK/client/upload.txt"
cp "$WORK/client/upload.txt" "$WORK/tls-client/"

RUST_LOG=warn "$FERRY" serve "$PORT" --root "$ROOT" --tls-port "$TLS_PORT" > "$WORK/server.out" 2>&1 &
SERVER=$!
for port in "$PORT" "$TLS_PORT"; do
    for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
done

start_dump() { # FILE [PORT]
    # Each capture has its own log: wait for this tcpdump, not the last one.
    local log="$WORK/tcpdump-$1.err"
    tcpdump -i lo -U --immediate-mode -B 262144 -Z root -s 0 -w "$OUT/$1" "tcp port ${2:-$PORT}" 2> "$log" &
    DUMP=$!
    for _ in $(seq 100); do grep -q "listening on" "$log" 2>/dev/null && break; sleep 0.05; done
    sleep 0.2
}
stop_dump() {
    sleep 0.3
    kill -INT "$DUMP"
    wait "$DUMP" 2>/dev/null || true
    DUMP=""
}
# A recorded command that fails stops the script, saying why: a capture of
# failed commands would measure nothing. `refused` records one that must fail.
CLIENT=$WORK/client
run() {
    (cd "$CLIENT" && "$FERRY" "$@" > "$WORK/last.out" 2>&1) || {
        echo "make-captures: ferry $* failed:" >&2
        cat "$WORK/last.out" >&2
        exit 1
    }
}
refused() {
    if (cd "$CLIENT" && "$FERRY" "$@" > "$WORK/last.out" 2>&1); then
        echo "make-captures: ferry $* succeeded, and was recorded to fail" >&2
        exit 1
    fi
}
A=127.0.0.1:$PORT

if [ -n "$BIG" ]; then
    # Three 30 MiB files, 200 small ones: downloads, listings and an MGET.
    mkdir -p "$ROOT/public/many"
    for i in 1 2 3; do head -c $((30 << 20)) /dev/urandom > "$ROOT/public/big-$i.bin"; done
    for i in $(seq 200); do seq "$i" 4000 > "$ROOT/public/many/file-$i.txt"; done
    start_dump "$(basename "$BIG")"
    for i in 1 2 3; do run get "$A" "big-$i.bin"; done
    for _ in $(seq 20); do run ls "$A"; done
    run mget "$A" 'many/*' --dir many
    stop_dump
    ls -l "$BIG" >&2
    exit 0
fi

start_dump tour.pcap
run ls "$A"
run get "$A" hello.txt
run get "$A" docs/numbers.txt
run put "$A" upload.txt
run mget "$A" 'docs/*.txt' --dir all-docs   # LIST, then one op 50 streams the matches into an empty folder
refused get "$A" missing.txt
FERRY_PASSWORD=secret run get "$A" notes.txt --user alice
FERRY_PASSWORD=wrong refused ls "$A" --user alice
stop_dump

# A download interrupted by Ctrl-C (paced so it is still under way), then
# resumed with op 40 from the part the client kept.
start_dump resume.pcap
(cd "$WORK/client" && timeout -s INT 1.5 "$FERRY" get "$A" sample.txt --limit-rate 20KiB > /dev/null 2>&1) || true
run get "$A" sample.txt
stop_dump

start_dump errors.pcap
printf '\x63' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; cat <&3 > /dev/null" || true
printf '\x0a\x00\x00\x00\x0d../etc/passwd' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; cat <&3 > /dev/null" || true
stop_dump

# The tour's ops again over TLS, from a fresh client folder (the upload
# stored again under its name), the client's secrets in a key log: the
# handshake reads in the clear, the rest only with `ferry decode --keylog`.
rm -f "$ROOT/public/upload.txt" "$OUT/tls-tour.keys"
CLIENT=$WORK/tls-client
T=tls://localhost:$TLS_PORT
CA=(--ca "$ROOT/tls-cert.pem")
export SSLKEYLOGFILE=$OUT/tls-tour.keys
start_dump tls-tour.pcap "$TLS_PORT"
run ls "$T" "${CA[@]}"
run get "$T" hello.txt "${CA[@]}"
run get "$T" docs/numbers.txt "${CA[@]}"
run put "$T" upload.txt "${CA[@]}"
run mget "$T" 'docs/*.txt' --dir all-docs "${CA[@]}"
refused get "$T" missing.txt "${CA[@]}"
FERRY_PASSWORD=secret run get "$T" notes.txt --user alice "${CA[@]}"
FERRY_PASSWORD=wrong refused ls "$T" --user alice "${CA[@]}"
stop_dump
unset SSLKEYLOGFILE
cmp "$WORK/client/notes.txt" "$WORK/tls-client/notes.txt"

( cd "$ROOT/public" && md5sum hello.txt docs/numbers.txt docs/ops.txt sample.txt ) > "$OUT/files.md5"
( cd "$ROOT/private/alice" && md5sum notes.txt ) >> "$OUT/files.md5"
( cd "$WORK/client" && md5sum upload.txt ) >> "$OUT/files.md5"
ls -l "$OUT" >&2
