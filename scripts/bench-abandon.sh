#!/usr/bin/env bash
# What requests abandoned after the header cost a cache: CLIENTS clients
# (20) each ask `ferry cache --max-size 10MiB` for one of 8 distinct 100 MB
# files and hang up after the 5-byte header. Prints the bytes the cache
# pulled from its origin (by the origin's log) and the most its folder held on disk, in all and
# per request. Not a test: nothing here passes or fails.
#
#   scripts/bench-abandon.sh [FERRY_BINARY]   (default target/release/ferry)
#
# Run it with an older build to compare both in one sitting.
set -euo pipefail
cd "$(dirname "$0")/.."

FERRY=${1:-target/release/ferry}
CLIENTS=${CLIENTS:-20}
[ -x "$FERRY" ] || cargo build --release --locked -p ferry --bin ferry >&2

WORK=$(mktemp -d /tmp/ferry-abandon.XXXXXX)
. scripts/lib/stop.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }

mkdir -p "$WORK/origin/public"
for i in $(seq 0 7); do head -c 100000000 /dev/zero > "$WORK/origin/public/f$i.bin"; done
OPORT=$(free_port)
RUST_LOG=info "$FERRY" serve "$OPORT" --root "$WORK/origin" --bind 127.0.0.1 > /dev/null 2> "$WORK/origin.log" &
PIDS+=("$!")
wait_port "$OPORT"
CPORT=$(free_port)
RUST_LOG=info "$FERRY" cache "$CPORT" --origin "127.0.0.1:$OPORT" --dir "$WORK/cache" \
    --max-size 10MiB --bind 127.0.0.1 > /dev/null 2> "$WORK/cache.log" &
CACHE_PID=$!
PIDS+=("$CACHE_PID")
wait_port "$CPORT"

# The cache's folder, sampled while the requests play out.
(peak=0; for _ in $(seq 200); do
    now=$(du -sb "$WORK/cache" 2>/dev/null | cut -f1)
    [ "${now:-0}" -gt "$peak" ] && peak=$now
    echo "$peak" > "$WORK/peak"
    sleep 0.05
done) &
SAMPLER=$!

python3 - "$CPORT" "$CLIENTS" <<'PY'
import socket, struct, sys
port, clients = int(sys.argv[1]), int(sys.argv[2])
for i in range(clients):
    name = f"f{i % 8}.bin".encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(bytes([10]) + struct.pack(">I", len(name)) + name)
    got = b""
    while len(got) < 5:
        chunk = s.recv(5 - len(got))
        if not chunk:
            break
        got += chunk
    s.close()
PY
wait "$SAMPLER"
# What the origin sent, by its own log (one line per request, its bytes).
kill -KILL "$CACHE_PID"
wait "$CACHE_PID" 2>/dev/null || true
sleep 1
ORIGIN=$(grep -o '[0-9]* bytes [0-9.]* ms' "$WORK/origin.log" | awk '{s += $1} END {print s + 0}')
PEAK=$(cat "$WORK/peak")
python3 - "$CLIENTS" "$ORIGIN" "$PEAK" <<'PY'
import sys
clients, origin, peak = map(int, sys.argv[1:])
mb = lambda n: f"{n / 1e6:,.1f} MB"
print(f"{clients} requests abandoned after the header, cache --max-size 10MiB, 8 files of 100 MB")
print(f"  bytes from the origin   {mb(origin):>12} in all   {mb(origin / clients):>10} per request")
print(f"  peak disk of the cache  {mb(peak):>12} in all   {mb(peak / clients):>10} per request")
PY
