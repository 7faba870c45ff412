#!/usr/bin/env bash
# The herd on the wire: 200 clients at once on a cold 64 MiB file through
# `ferry cache`, captured with tcpdump on loopback and read with tshark.
# For each client: when its first body byte left the cache, after the
# later of its request's arrival and the first client's first body byte
# (so a joiner is not charged for the origin's answer, nor for its own
# client thread sending late). The goal is every joiner within 10 ms.
#
# Each run is made twice: free (every process on every core), and with the
# cache on CPU 0 and everything else (origin, clients, tcpdump) on CPU 1,
# which shows the cache's own order of work without its 200 client threads
# competing with it for the CPU (the cache then runs one thread: it starts
# one per core it may use). Runs whose capture dropped packets are marked:
# their figures may leave clients out. Not a test: nothing here passes or
# fails.
#
#   scripts/bench-herd.sh [FERRY_BINARY]   (default target/release/ferry)
#   HERD_RUNS=N (5)   CLIENTS=N (200)
#
# Needs root (tcpdump) and tshark: scripts/setup.sh installs both.
set -euo pipefail
cd "$(dirname "$0")/.."

FERRY=${1:-target/release/ferry}
RUNS=${HERD_RUNS:-5}
CLIENTS=${CLIENTS:-200}
LOAD=target/release/examples/ferry-load
for tool in tcpdump tshark; do
    command -v "$tool" >/dev/null || { echo "bench-herd: $tool is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench-herd: tcpdump needs root" >&2; exit 2; }
[ -x "$FERRY" ] || cargo build --release --locked -p ferry --bin ferry >&2
[ -x "$LOAD" ] || cargo build --release --locked -p ferry --example ferry-load >&2

WORK=$(mktemp -d /tmp/ferry-herd.XXXXXX)
. scripts/lib/stop.sh

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }

mkdir -p "$WORK/origin/public"
head -c $((64 << 20)) /dev/urandom > "$WORK/origin/public/cold.bin"

# Reads a capture of the cache's port $2: one line of figures.
wire() {
    tshark -r "$1" -T fields -e tcp.stream -e frame.time_epoch -e tcp.srcport -e tcp.len \
        -Y 'tcp.len > 0' 2>/dev/null | python3 -c '
import sys
port = sys.argv[1]
request, first, body = {}, {}, {}
for line in sys.stdin:
    stream, at, source, length = line.split("\t")
    at, length = float(at), int(length)
    if source != port:
        request.setdefault(stream, at)
    else:
        # The first body byte: past the 5-byte header.
        if stream not in first and body.get(stream, 0) + length > 5:
            first[stream] = at
        body[stream] = body.get(stream, 0) + length
streams = [s for s in first if s in request]
if not streams:
    sys.exit("no answers in the capture")
f0 = min(first[s] for s in streams)
t0 = min(request[s] for s in streams)
late = sorted((first[s] - max(request[s], f0)) * 1000 for s in streams)
q = lambda p: late[min(len(late) - 1, int(p * len(late)))]
spread = (max(request[s] for s in streams) - t0) * 1000
print(f"{len(streams):7d}  {spread:9.1f}  {q(0.5):6.1f}  {q(0.9):6.1f}  {late[-1]:8.1f}  {sum(x > 10 for x in late):7d}")
' "$2"
}

# One run: $1 "free" or "own core".
herd() {
    local origin cache tcpdump load dropped cache_cpu="" other_cpu=""
    if [ "$1" = "own core" ]; then cache_cpu="taskset -c 0"; other_cpu="taskset -c 1"; fi
    rm -rf "$WORK/cache"
    origin=$(free_port)
    RUST_LOG=warn $other_cpu "$FERRY" serve "$origin" --root "$WORK/origin" --bind 127.0.0.1 \
        --max-connections 4096 > /dev/null 2>&1 &
    PIDS+=("$!")
    cache=$(free_port)
    RUST_LOG=warn $cache_cpu "$FERRY" cache "$cache" --origin "127.0.0.1:$origin" --dir "$WORK/cache" \
        --max-size 4GiB --max-connections 4096 --bind 127.0.0.1 > /dev/null 2>&1 &
    PIDS+=("$!")
    wait_port "$origin"; wait_port "$cache"
    # Headers only (80 bytes a packet), of segments that carry data: the
    # times are what matters. For the first second only: every first byte
    # leaves well within it, and capturing the whole 12.8 GB drops packets.
    $other_cpu tcpdump -i lo -s 80 -B 262144 -w "$WORK/herd.pcap" \
        "tcp port $cache and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) != 0" \
        2> "$WORK/tcpdump.err" &
    tcpdump=$!
    PIDS+=("$tcpdump")
    for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.05; done
    running "$tcpdump" || { echo "bench-herd: tcpdump did not start: $(cat "$WORK/tcpdump.err")" >&2; exit 1; }
    $other_cpu "$LOAD" cold "127.0.0.1:$cache" cold.bin -c "$CLIENTS" > "$WORK/cold.out" &
    load=$!
    PIDS+=("$load")
    sleep 1
    kill "$tcpdump"; wait "$tcpdump" 2>/dev/null || true
    wait "$load"
    # Every client got the whole file (64 MiB and the 5-byte header).
    grep -q "failures=0 .*answer_sizes={$(((64 << 20) + 5))}" "$WORK/cold.out" \
        || { echo "bench-herd: clients failed: $(cat "$WORK/cold.out")" >&2; exit 1; }
    printf '  %-9s' "$1"
    wire "$WORK/herd.pcap" "$cache" | tr -d '\n' || printf '  (no figures)'
    dropped=$(grep -o '[0-9]* packets dropped by kernel' "$WORK/tcpdump.err" | cut -d' ' -f1 || true)
    if [ "${dropped:-0}" != 0 ]; then echo "   ($dropped packets dropped)"; else echo; fi
    stop_started
}

echo "$CLIENTS clients at once on a cold 64 MiB file through ferry cache, on the wire ($RUNS runs each)"
echo "  each client's first body byte after the later of its request and the first client's first byte (ms)"
echo "             clients  requests   p50     p90     longest   over 10 ms"
echo "                      spread"
for _ in $(seq "$RUNS"); do
    herd free
    herd "own core"
done
